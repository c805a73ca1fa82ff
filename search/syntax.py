"""The search box's syntax, one parser for the CLI, the API and the page.

    "exact phrase"       documents holding the phrase on word boundaries (tone placement,
                         case and, for a phrase typed without diacritics, accents ignored)
    -word  -"phrase"     documents holding the word or phrase are left out
    type:offer           document type (also source:, lang:vi|ko|other)
    title:RAS            a word (or "phrase") of the title
    after:2023-06        dated on or after the start of that year, month or day
    before:2024          dated before the start of that year, month or day

In a pasted text (more than PASTE_WORDS words) quotes and dashes are text. Field names are
case-insensitive; a field's value may be quoted (`source:"Hai Phong DOST"`); a
field given twice accepts either value (`type:offer type:demand`). A `word:` that is not one of
these fields is plain text (`ISO:9001`, a URL). The free words and the phrases' words are what is
ranked; the rest only restricts which documents may be retrieved (search.constraints).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass

from viko.search.results import QueryError

FIELDS = ("type", "lang", "source", "title", "after", "before")
# A query of more words is a pasted text: its quotation marks and dashes are the text's own
# (a quoted remark is not a phrase to require), while fields (type:, after:...) still apply.
PASTE_WORDS = 32
QUERY_LANGS = ("vi", "ko", "other")
# one token: an optional '-', an optional known-looking 'field:', then a quoted string or a run of non-spaces
_TOKEN = re.compile(r'(?P<neg>-)?(?:(?P<field>[A-Za-z]+):)?(?:"(?P<quoted>[^"]*)"?|(?P<bare>\S+))?')
_SPACE = re.compile(r"\s")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


@dataclass(frozen=True)
class ParsedQuery:
    """A query split into what is ranked (`text`) and what restricts the documents."""

    text: str = ""
    phrases: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()  # words and phrases, as typed
    types: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    after: str = ""
    before: str = ""

    @property
    def restricts(self) -> bool:
        """Whether anything besides the ranked words limits the documents."""
        return bool(self.phrases or self.excluded or self.types or self.langs or self.sources
                    or self.titles or self.after or self.before)

    @property
    def metadata_filters(self) -> bool:
        return bool(self.types or self.sources or self.titles or self.after or self.before)

    @property
    def ranked_text(self) -> str:
        """What is encoded and scored: the free words, else the title words (`title:RAS` alone
        ranks on RAS); '' when only filters were given (then documents are listed by date)."""
        return self.text or " ".join(self.titles)


def parse(query: str) -> ParsedQuery:
    """The query's operators, in order of appearance; a malformed value of a known field (a
    date that is not YYYY[-MM[-DD]], an unknown language) is a QueryError in words."""
    words: list[str] = []
    phrases: list[str] = []
    excluded: list[str] = []
    fields: dict[str, list[str]] = {name: [] for name in FIELDS}
    paste = len(query.split()) > PASTE_WORDS
    pos = 0
    while pos < len(query):
        if query[pos].isspace():
            pos += 1
            continue
        m = _TOKEN.match(query, pos)
        assert m is not None  # every part of the pattern is optional
        if m.end() == pos or not _at_boundary(query, m.end()):
            end = _next_space(query, pos)
            words.append(query[pos:end])
            pos = end
            continue
        pos = m.end()
        neg, name, quoted, bare = m.group("neg"), (m.group("field") or "").lower(), m.group("quoted"), m.group("bare")
        value = (quoted if quoted is not None else bare or "").strip()
        value = " ".join(value.split())
        if (m.group("field") and name not in FIELDS) or (paste and not name):
            words.append(m.group(0))  # not a field, or a pasted text's quotes and dashes: text
            continue
        if name:
            if neg or not value:
                words.append(m.group(0))  # "-type:x" or "type:" alone: kept as typed
            else:
                fields[name].append(value)
        elif neg and value and (quoted is not None or value[0].isalpha()):
            excluded.append(value)
        elif quoted is not None:
            if value:
                phrases.append(value)
                words.append(value)
        elif value:
            words.append(value if not neg else "-" + value)
    return _checked(words, phrases, excluded, fields)


def _checked(words: list[str], phrases: list[str], excluded: list[str],
             fields: dict[str, list[str]]) -> ParsedQuery:
    langs = [v.lower() for v in fields["lang"]]
    for lang in langs:
        if lang not in QUERY_LANGS:
            raise QueryError(f"unknown language lang:{lang}: use lang:vi, lang:ko or lang:other")
    after = _date(fields["after"], "after")
    before = _date(fields["before"], "before")
    if after and before and not after < before:
        raise QueryError(f"after:{after} is not before before:{before}: no date can be both")
    return ParsedQuery(
        text=" ".join(words), phrases=_unique(phrases), excluded=_unique(excluded),
        types=_unique(v.lower() for v in fields["type"]), langs=_unique(langs),
        sources=_unique(fields["source"]), titles=_unique(fields["title"]), after=after, before=before)


def _date(values: list[str], name: str) -> str:
    """The last value given (a later bound replaces an earlier one), checked."""
    return check_date(values[-1], name) if values else ""


def check_date(value: str, name: str) -> str:
    """A date bound as YYYY, YYYY-MM or YYYY-MM-DD ('' stays ''), or a QueryError in words."""
    if not value:
        return ""
    m = _DATE.match(value)
    if not m or not _real(*(int(g or 1) for g in m.groups())):
        raise QueryError(f"{name}:{value} is not a date: use {name}:YYYY, {name}:YYYY-MM or {name}:YYYY-MM-DD")
    return value


def _real(year: int, month: int, day: int) -> bool:
    """Whether the day exists: before:2024-02-30 is no date."""
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def in_range(date: str, after: str, before: str) -> bool:
    """Whether an ISO date (YYYY, YYYY-MM or YYYY-MM-DD) is on or after `after`'s start and
    before `before`'s start; an undated document is in no range. Compared as strings: "2023-05"
    sorts after "2023" and before "2024", which is what the bounds mean."""
    if not (after or before):
        return True
    if not date:
        return False
    return (not after or date >= after) and (not before or date < before)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _at_boundary(query: str, end: int) -> bool:
    return end >= len(query) or query[end].isspace() or query[end - 1] == '"'


def _next_space(query: str, pos: int) -> int:
    m = _SPACE.search(query, pos)
    return m.start() if m else len(query)
