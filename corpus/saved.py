"""Saved searches and their private feed tokens, stored in the catalogue (migration 0014).

A signed-in user names a search (the search page's query string: the words, facet filters,
dates and sort) and keeps it; only its owner lists, opens or deletes it. Opening it moves
`last_seen_at`, and the documents the search returns that were added or changed after it are
"new since your last visit". A saved search has at most one feed token at a time: random,
shown once, stored as its SHA-256 digest (256 bits of entropy: a slow hash adds nothing), and
revoked by clearing the digest, after which its feed URL answers "no such feed".
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from viko.corpus.catalogue import Catalogue, utcnow

MAX_NAME_CHARS = 100
MAX_SEARCH_CHARS = 8000  # a query of 5,000 characters, percent-encoded in part, and its filters
MAX_PER_USER = 100  # each is searched when the list shows its "new" count
FEED_TOKEN_PREFIX = "vikofeed_"
_COLUMNS = "id, owner, name, search, created_at, last_seen_at, feed_digest <> '', feed_created_at"


class SavedError(ValueError):
    """A saved search that cannot be stored as given; the message says what to change."""


@dataclass(frozen=True)
class SavedSearch:
    id: int
    owner: str
    name: str
    search: str  # the search page's query string
    created_at: str
    last_seen_at: str
    has_feed: bool = False
    feed_created_at: str = ""


def catalogue_time(text: str) -> str:
    """An ISO 8601 UTC time ('...Z' or '+00:00') in the catalogue's form (`utcnow()`), so that
    times compare as strings; '' when it is not a time."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return ""
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.replace(microsecond=0).isoformat()


def check_name(name: str) -> str:
    clean = " ".join(name.split())
    if not 1 <= len(clean) <= MAX_NAME_CHARS:
        raise SavedError(f"a saved search needs a name of 1 to {MAX_NAME_CHARS} characters")
    return clean


def add(cat: Catalogue, owner: str, name: str, search: str, seen_at: str = "") -> tuple[SavedSearch, str]:
    """Stores a search for its owner with a new feed token; (the saved search, the token),
    the token returned this once. `seen_at`: what the owner has seen of it (default: now)."""
    name = check_name(name)
    if not search or len(search) > MAX_SEARCH_CHARS:
        raise SavedError(f"the search must be 1 to {MAX_SEARCH_CHARS} characters of query string")
    if find(cat, owner, name) is not None:
        raise SavedError(f"you have a saved search named {name!r}: choose another name, or delete that one")
    if count(cat, owner) >= MAX_PER_USER:
        raise SavedError(f"you have {MAX_PER_USER} saved searches, the most one person keeps: delete one first")
    token, now = _new_token(), utcnow()
    try:
        with cat.conn:
            cur = cat.conn.execute("INSERT INTO saved_searches (owner, name, search, created_at, last_seen_at,"
                                   " feed_digest, feed_created_at) VALUES (?,?,?,?,?,?,?)",
                                   (owner, name, search, now, min(seen_at or now, now), _digest(token), now))
    except sqlite3.IntegrityError as exc:  # saved twice at once, or the owner removed meanwhile
        raise SavedError(f"the search {name!r} could not be saved ({exc}): reload the page and try again") from exc
    saved = get(cat, owner, int(cur.lastrowid or 0))
    assert saved is not None
    return saved, token


def get(cat: Catalogue, owner: str, saved_id: int) -> SavedSearch | None:
    """The owner's saved search; None when there is none of that id, or it is someone else's."""
    row = cat.conn.execute(f"SELECT {_COLUMNS} FROM saved_searches WHERE id=? AND owner=?",
                           (saved_id, owner)).fetchone()
    return _saved(row) if row else None


def find(cat: Catalogue, owner: str, name: str) -> SavedSearch | None:
    row = cat.conn.execute(f"SELECT {_COLUMNS} FROM saved_searches WHERE owner=? AND name=?",
                           (owner, name)).fetchone()
    return _saved(row) if row else None


def of_owner(cat: Catalogue, owner: str) -> list[SavedSearch]:
    rows = cat.conn.execute(f"SELECT {_COLUMNS} FROM saved_searches WHERE owner=? ORDER BY id", (owner,))
    return [_saved(r) for r in rows]


def count(cat: Catalogue, owner: str) -> int:
    return int(cat.conn.execute("SELECT COUNT(*) FROM saved_searches WHERE owner=?", (owner,)).fetchone()[0])


def remove(cat: Catalogue, owner: str, saved_id: int) -> bool:
    with cat.conn:
        cur = cat.conn.execute("DELETE FROM saved_searches WHERE id=? AND owner=?", (saved_id, owner))
    return cur.rowcount > 0


def mark_seen(cat: Catalogue, owner: str, saved_id: int, seen_at: str) -> bool:
    """The owner has seen the search's results as of `seen_at` (never later than now)."""
    with cat.conn:
        cur = cat.conn.execute("UPDATE saved_searches SET last_seen_at=? WHERE id=? AND owner=?",
                               (min(seen_at, utcnow()), saved_id, owner))
    return cur.rowcount > 0


def new_feed_token(cat: Catalogue, owner: str, saved_id: int) -> str | None:
    """A new feed token for the saved search (the old one stops working); None when the owner
    has no such search. Returned this once: only its digest is kept."""
    token, now = _new_token(), utcnow()
    with cat.conn:
        cur = cat.conn.execute("UPDATE saved_searches SET feed_digest=?, feed_created_at=? WHERE id=? AND owner=?",
                               (_digest(token), now, saved_id, owner))
    return token if cur.rowcount else None


def revoke_feed(cat: Catalogue, owner: str, saved_id: int) -> bool:
    """Ends the search's feed link; False when the owner has no such search."""
    with cat.conn:
        cur = cat.conn.execute("UPDATE saved_searches SET feed_digest='', feed_created_at='' WHERE id=? AND owner=?",
                               (saved_id, owner))
    return cur.rowcount > 0


def by_feed_token(cat: Catalogue, saved_id: int, token: str) -> SavedSearch | None:
    """The saved search whose feed this token opens; None for a wrong, revoked or missing one."""
    if not token.startswith(FEED_TOKEN_PREFIX):
        return None
    row = cat.conn.execute(f"SELECT {_COLUMNS}, feed_digest FROM saved_searches WHERE id=?", (saved_id,)).fetchone()
    values = tuple(row) if row is not None else ("",)
    if not values[-1] or not hmac.compare_digest(values[-1], _digest(token)):
        return None
    return _saved(values[:-1])


def changed(cat: Catalogue, ids: Iterable[str], since: str = "") -> dict[str, tuple[str, str]]:
    """{doc id: (added_at, updated_at)} of the documents among `ids` added or changed after
    `since` (every one of them when `since` is '')."""
    wanted = list(dict.fromkeys(ids))
    out: dict[str, tuple[str, str]] = {}
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        marks = ",".join("?" * len(part))
        rows = cat.conn.execute(f"SELECT id, added_at, updated_at FROM documents WHERE id IN ({marks})"
                                " AND updated_at > ?", (*part, since))
        out.update((r[0], (r[1], r[2])) for r in rows)
    return out


def _saved(row: Any) -> SavedSearch:
    saved_id, owner, name, search, created, seen, has_feed, feed_created = tuple(row)
    return SavedSearch(int(saved_id), str(owner), str(name), str(search), str(created), str(seen), bool(has_feed),
                       str(feed_created))


def _new_token() -> str:
    return FEED_TOKEN_PREFIX + secrets.token_urlsafe(32)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
