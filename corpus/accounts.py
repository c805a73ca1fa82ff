"""Users, their API tokens and the audit log, stored in the catalogue (migration 0012).

Passwords are hashed with argon2id (argon2-cffi's defaults, rehashed when those change);
API tokens are random, shown once, and stored as their SHA-256 digest (a token has 256 bits
of entropy, so a slow hash adds nothing); a user's `epoch` grows with every password change,
so the sessions signed before it end.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from viko.corpus.access import AccessError, Viewer, group_name, parse_role
from viko.corpus.catalogue import Catalogue, utcnow

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
TOKEN_PREFIX = "viko_"
_HASHER = PasswordHasher()
# Verified against when the user does not exist, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


@dataclass(frozen=True)
class User:
    name: str
    role: str
    groups: tuple[str, ...] = ()
    epoch: int = 0
    created_at: str = ""

    @property
    def viewer(self) -> Viewer:
        return Viewer(self.name, self.role, frozenset(self.groups))


@dataclass(frozen=True)
class AuditEntry:
    at: str
    actor: str
    action: str
    target: str = ""
    detail: str = ""


def user_name(text: str) -> str:
    name = text.strip()
    if not (1 <= len(name) <= 64) or not all(c.isalnum() or c in "._-@" for c in name):
        raise AccessError(f"user name {text!r}: use 1-64 letters, digits, '.', '_', '-' or '@'")
    return name


def check_password(password: str) -> str:
    if not (MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS):
        raise AccessError(f"a password needs {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")
    return password


class Accounts:
    """Facade over the users, api_tokens and audit_log tables."""

    def __init__(self, cat: Catalogue) -> None:
        self.conn = cat.conn

    # -- users ---------------------------------------------------------------------------
    def add(self, name: str, role: str, password: str, groups: tuple[str, ...] = ()) -> User:
        name, role = user_name(name), parse_role(role)
        groups = tuple(sorted({group_name(g) for g in groups}))
        if self.get(name) is not None:
            raise AccessError(f"user {name!r} exists: `viko user passwd` changes a password")
        now = utcnow()
        with self.conn:
            self.conn.execute("INSERT INTO users (name, role, groups, password_hash, created_at, updated_at)"
                              " VALUES (?,?,?,?,?,?)",
                              (name, role, json.dumps(groups), _HASHER.hash(check_password(password)), now, now))
        return User(name, role, groups, 0, now)

    def get(self, name: str) -> User | None:
        row = self.conn.execute("SELECT name, role, groups, epoch, created_at FROM users WHERE name=?",
                                (name,)).fetchone()
        return _user(row) if row else None

    def users(self) -> list[User]:
        return [_user(r) for r in self.conn.execute(
            "SELECT name, role, groups, epoch, created_at FROM users ORDER BY name")]

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM users").fetchone()[0])

    def remove(self, name: str) -> bool:
        with self.conn:
            cur = self.conn.execute("DELETE FROM users WHERE name=?", (name,))
        return cur.rowcount > 0

    def set_password(self, name: str, password: str) -> bool:
        digest = _HASHER.hash(check_password(password))
        with self.conn:
            cur = self.conn.execute("UPDATE users SET password_hash=?, epoch=epoch+1, updated_at=? WHERE name=?",
                                    (digest, utcnow(), name))
        return cur.rowcount > 0

    def verify(self, name: str, password: str) -> User | None:
        """The user when the password is theirs, else None (in about the same time either way)."""
        row = self.conn.execute("SELECT password_hash FROM users WHERE name=?", (name,)).fetchone()
        stored = row[0] if row else _DUMMY_HASH
        try:
            _HASHER.verify(stored, password[:MAX_PASSWORD_CHARS])
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if _HASHER.check_needs_rehash(stored):
            with self.conn:
                self.conn.execute("UPDATE users SET password_hash=? WHERE name=?", (_HASHER.hash(password), name))
        return self.get(name)

    # -- API tokens ----------------------------------------------------------------------
    def new_token(self, name: str, label: str = "") -> str:
        """A new API token for the user, returned once; only its digest is kept."""
        if self.get(name) is None:
            raise AccessError(f"no user {name!r}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.conn:
            self.conn.execute("INSERT INTO api_tokens (user, digest, label, created_at) VALUES (?,?,?,?)",
                              (name, _digest(token), label, utcnow()))
        return token

    def token_user(self, token: str) -> User | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        row = self.conn.execute("SELECT user FROM api_tokens WHERE digest=? AND revoked_at=''",
                                (_digest(token),)).fetchone()
        return self.get(row[0]) if row else None

    def revoke_tokens(self, name: str) -> int:
        with self.conn:
            cur = self.conn.execute("UPDATE api_tokens SET revoked_at=? WHERE user=? AND revoked_at=''",
                                    (utcnow(), name))
        return cur.rowcount

    # -- audit ---------------------------------------------------------------------------
    def audit(self, actor: str, action: str, target: str = "", detail: str = "") -> None:
        with self.conn:
            self.conn.execute("INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?,?,?,?,?)",
                              (utcnow(), actor or "anonymous", action, target[:500], detail[:2000]))

    def audit_log(self, limit: int = 200, offset: int = 0) -> list[AuditEntry]:
        rows = self.conn.execute("SELECT at, actor, action, target, detail FROM audit_log"
                                 " ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset))
        return [AuditEntry(*r) for r in rows]


def _user(row: sqlite3.Row) -> User:
    return User(str(row[0]), str(row[1]), tuple(json.loads(row[2] or "[]")), int(row[3]), str(row[4]))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
