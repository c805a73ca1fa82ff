"""Who may see a document and who may change what: the `visibility` of a document and the
`Viewer` a request acts as. One rule, read by every path that shows a document or its words
(search, related lists, counterparts, concordance, exports, matching, status counts).

A document is `public` (anyone), `internal` (any signed-in user) or `group:NAME` (members of
that group). Roles grant actions: a reader reads, an editor also imports and decides
counterparts and glossary terms, an organiser also runs matchmaking and the planner, an admin
does everything and sees every document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

PUBLIC, INTERNAL, GROUP = "public", "internal", "group:"
ROLES = ("reader", "editor", "organiser", "admin")
ACTIONS: dict[str, frozenset[str]] = {
    "reader": frozenset({"read"}),
    "editor": frozenset({"read", "edit"}),
    "organiser": frozenset({"read", "organise"}),
    "admin": frozenset({"read", "edit", "organise", "admin"}),
}
_GROUP_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


class AccessError(ValueError):
    """A visibility, role or group that is not valid; the message says what is allowed."""


def group_name(text: str) -> str:
    name = text.strip().lower()
    if not _GROUP_NAME.fullmatch(name):
        raise AccessError(f"group {text!r}: use 1-64 lowercase letters, digits, '_', '.' or '-'")
    return name


def parse_visibility(value: object) -> str:
    """A visibility as stored ('' or None: public); raises AccessError on anything else."""
    if value is None:
        return PUBLIC
    if not isinstance(value, str):
        raise AccessError("'visibility' must be public, internal or group:NAME")
    text = value.strip().lower()
    if text in ("", PUBLIC):
        return PUBLIC
    if text == INTERNAL:
        return INTERNAL
    if text.startswith(GROUP):
        return GROUP + group_name(text[len(GROUP):])
    raise AccessError(f"visibility {value!r}: use public, internal or group:NAME")


def parse_role(value: str) -> str:
    role = value.strip().lower()
    if role not in ROLES:
        raise AccessError(f"role {value!r}: use one of {', '.join(ROLES)}")
    return role


@dataclass(frozen=True)
class Viewer:
    """Who a request acts as. The anonymous viewer has no name and no role."""

    name: str = ""
    role: str = ""
    groups: frozenset[str] = frozenset()

    @classmethod
    def of(cls, name: str, role: str, groups: Iterable[str] = ()) -> Viewer:
        return cls(name, parse_role(role), frozenset(group_name(g) for g in groups))

    @property
    def signed_in(self) -> bool:
        return bool(self.role)

    @property
    def sees_all(self) -> bool:
        return self.role == "admin"

    def may(self, action: str) -> bool:
        return action in ACTIONS.get(self.role, frozenset())

    def sees(self, visibility: str) -> bool:
        if visibility == PUBLIC or self.sees_all:
            return True
        if not self.signed_in:
            return False
        if visibility == INTERNAL:
            return True
        return visibility.startswith(GROUP) and visibility[len(GROUP):] in self.groups

    @property
    def visibilities(self) -> tuple[str, ...] | None:
        """The visibilities this viewer may see, for SQL filters (None: all of them)."""
        if self.sees_all:
            return None
        if not self.signed_in:
            return (PUBLIC,)
        return (PUBLIC, INTERNAL, *sorted(GROUP + g for g in self.groups))

    @property
    def audience(self) -> str:
        """What this viewer may see, as a key: two viewers with one audience see the same
        documents, so caches of what they see are shared (and never across audiences)."""
        if self.sees_all:
            return "all"
        if not self.signed_in:
            return PUBLIC
        return INTERNAL + "|" + ",".join(sorted(self.groups))


# What a record's contact details are labelled with (matching/records.py's FIELD_LABELS and
# the registration sheets' column names), and the kinds of document that carry them.
CONTACT_LABELS = frozenset(("liên hệ", "người liên hệ", "thông tin liên hệ", "điện thoại", "email", "e-mail",
                            "연락처", "담당자", "전화", "전화번호", "이메일", "contact", "contact person", "phone",
                            "person"))
RECORD_TYPES = ("offer", "demand")
_LABEL_LINE = re.compile(r"^\s*([^:\n]{2,40}?)\s*:\s*(.+?)\s*$", re.MULTILINE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\w)\+?\d[\d .()-]{6,}\d(?!\w)")


def mask_contacts(text: str) -> str:
    """The text with its contact details (a 'Contact: ...' line's value, e-mail addresses,
    phone numbers) replaced by bullets of the same length, so offsets into it (highlights,
    passages) still hold: what an anonymous visitor sees of an offer or a demand."""
    def line(match: re.Match[str]) -> str:
        if match.group(1).strip().lower() not in CONTACT_LABELS:
            return match.group(0)
        cut = match.start(2) - match.start()
        return match.group(0)[:cut] + _bullets(match.group(2)) + match.group(0)[cut + len(match.group(2)):]

    text = _LABEL_LINE.sub(line, text)
    return _PHONE.sub(lambda m: _bullets(m.group(0)), _EMAIL.sub(lambda m: _bullets(m.group(0)), text))


def _bullets(value: str) -> str:
    """A bullet for each character but spaces: same length, and a long line still wraps."""
    return re.sub(r"\S", "•", value)


def shown_text(text: str, doc_type: str, viewer: Viewer) -> str:
    """A document's text (or a passage of it) as the viewer may read it."""
    return text if viewer.signed_in or doc_type not in RECORD_TYPES else mask_contacts(text)


ANONYMOUS = Viewer()
OPERATOR = Viewer("operator", "admin")  # the CLI and jobs: whoever holds the data directory sees all
