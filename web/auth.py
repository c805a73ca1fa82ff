"""Who a request acts as, and whether it may do what it asks.

A request is read as one `Viewer` (viko.corpus.access), found once and kept in its scope:
1. a token in `Authorization: Bearer` or `X-Viko-Token` (or a form's `token` field): the
   operator's VIKO_ADMIN_TOKEN (an admin), or a user's API token (`viko user token`); a token
   that is neither is a 401, counted as a failed attempt;
2. else the signed session cookie `POST /login` set (itsdangerous, with its expiry; the
   user's epoch must still match, so a password change or removal ends their sessions);
3. else the anonymous visitor.
A change made through a session cookie also needs the form's or header's CSRF token: an
HMAC of the session's nonce (or, for the sign-in form, of a pre-session cookie's), which
another site cannot read. A token header needs none: a browser never adds one by itself.
Failed sign-ins and tokens are throttled per address (web/limits.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import math
import os
import secrets
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import Header, HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import HTTPConnection

from viko.corpus.access import ANONYMOUS, Viewer
from viko.corpus.accounts import Accounts, User
from viko.corpus.catalogue import CatalogueError
from viko.settings import Settings
from viko.web.limits import ClientLimiter, client_address
from viko.web.reader import CatalogueReader

SESSION_COOKIE = "viko_session"
PRE_SESSION_COOKIE = "viko_presession"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MIN_TOKEN_CHARS = 16  # a shorter admin token is no protection: it is ignored (and reported)
ADMIN_TOKEN_VIEWER = Viewer("admin-token", "admin")
ACTION_WORDS = {"edit": "editor", "organise": "organiser", "admin": "admin", "read": "reader"}


def admin_token(settings: Settings) -> str:
    """The configured token when it is long enough to protect anything, else ''."""
    token = settings.admin_token.strip()
    return token if len("".join(token.split())) >= MIN_TOKEN_CHARS else ""


def bearer(authorization: str) -> str:
    """The token of an `Authorization: Bearer TOKEN` header (the scheme in any case); a header
    without a scheme is taken whole."""
    scheme, _, rest = authorization.strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" else authorization.strip()


def secret_key(settings: Settings) -> bytes:
    """The key that signs sessions: VIKO_SECRET_KEY, else one made once per data directory,
    owner-only. Written whole to a private file and linked into place, so the workers of
    `viko serve --workers N` starting together all read the one key that won."""
    if settings.secret_key:
        return settings.secret_key.encode("utf-8")
    path = Path(settings.data_dir) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".secret-", dir=path.parent)  # 0600
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
                f.flush()
                os.fsync(f.fileno())
            with contextlib.suppress(FileExistsError):  # another process's key came first
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    return path.read_text(encoding="ascii").strip().encode("ascii")


class Auth:
    """Resolves viewers, signs sessions, checks CSRF tokens and permissions."""

    def __init__(self, settings: Settings, limiter: ClientLimiter | None = None) -> None:
        self.settings = settings
        self.token = admin_token(settings)
        self.limiter = limiter or ClientLimiter(0, 0)
        self.reader = CatalogueReader(settings)
        self.key = secret_key(settings)
        self.sessions = URLSafeTimedSerializer(self.key, salt="viko.session")
        self.max_age = max(60, int(settings.session_hours * 3600))

    # -- who ---------------------------------------------------------------------------------
    def accounts(self) -> Any:
        """The reader's catalogue (a context manager); raises CatalogueError without one."""
        return self.reader.read()

    def user(self, name: str) -> User | None:
        try:
            with self.accounts() as cat:
                return Accounts(cat).get(name)
        except CatalogueError:
            return None

    def has_users(self) -> bool:
        try:
            with self.accounts() as cat:
                return Accounts(cat).count() > 0
        except CatalogueError:
            return False

    @property
    def open(self) -> bool:
        """Whether anyone can change anything (an admin token or at least one account)."""
        return bool(self.token) or self.has_users()

    def viewer(self, conn: HTTPConnection, token: str = "") -> Viewer:
        """Who the request acts as (found once per request; `token`: a form's token field)."""
        state = conn.scope.setdefault("state", {})
        if "viewer" in state and not token:
            found: Viewer = state["viewer"]
            return found
        given = token or conn.headers.get("x-viko-token", "") or bearer(conn.headers.get("authorization", ""))
        session: dict[str, Any] | None = None
        if given:
            viewer = self._from_token(given, conn)
        else:
            session = self._session(conn)
            user = self.user(session["u"]) if session else None
            valid = user is not None and session is not None and user.epoch == session.get("e")
            viewer = user.viewer if valid and user is not None else ANONYMOUS
            session = session if valid else None
        state.update(viewer=viewer, session=session, user=viewer.name)
        return viewer

    def _from_token(self, given: str, conn: HTTPConnection) -> Viewer:
        client = client_address(conn.scope)
        if wait := self.limiter.token_wait(client):
            seconds = math.ceil(wait)
            raise HTTPException(429, f"too many failed sign-in or token attempts from your address: "
                                     f"try again in {seconds} s", headers={"Retry-After": str(seconds)})
        if self.token and hmac.compare_digest(given.encode(), self.token.encode()):
            return ADMIN_TOKEN_VIEWER
        try:
            with self.accounts() as cat:
                user = Accounts(cat).token_user(given)
        except CatalogueError:
            user = None
        if user is None:
            self.limiter.token_failed(client)
            raise HTTPException(401, "the token is not valid (revoked, mistyped, or not this server's)",
                                headers={"WWW-Authenticate": "Bearer"})
        return user.viewer

    def _session(self, conn: HTTPConnection) -> dict[str, Any] | None:
        raw = conn.cookies.get(SESSION_COOKIE, "")
        if not raw:
            return None
        try:
            data = self.sessions.loads(raw, max_age=self.max_age)
        except BadSignature:  # tampered, expired, or signed with another key
            return None
        return data if isinstance(data, dict) and isinstance(data.get("u"), str) else None

    # -- sessions ------------------------------------------------------------------------------
    def session_value(self, user: User) -> str:
        return self.sessions.dumps({"u": user.name, "e": user.epoch, "n": secrets.token_hex(16)})

    def csrf_token(self, conn: HTTPConnection) -> str:
        """What this visitor's forms carry: bound to their session, or before sign-in to the
        pre-session cookie (Pages.render sets it when it is missing)."""
        self.viewer(conn)
        session = conn.scope["state"].get("session")
        nonce = ("s:" + session["n"]) if session else ("a:" + self.pre_session(conn))
        return hmac.new(self.key, nonce.encode(), hashlib.sha256).hexdigest()

    def pre_session(self, conn: HTTPConnection) -> str:
        state = conn.scope.setdefault("state", {})
        if "pre_session" not in state:
            found = conn.cookies.get(PRE_SESSION_COOKIE, "")
            state["pre_session"] = found if len(found) == 32 else secrets.token_hex(16)
        return str(state["pre_session"])

    def check_csrf(self, conn: HTTPConnection, given: str | None) -> None:
        token = given or conn.headers.get(CSRF_HEADER, "")
        # as bytes: compare_digest refuses a str with non-ASCII characters (a 500, not a 403)
        if not token or not hmac.compare_digest(token.encode(), self.csrf_token(conn).encode()):
            raise HTTPException(403, "this form has expired or did not come from this site (CSRF token "
                                     "missing or wrong): reload the page and try again")

    # -- permission ----------------------------------------------------------------------------
    def require(self, conn: HTTPConnection, actions: Iterable[str], *, token: str = "",
                csrf: str | None = None, check_csrf: bool = True) -> Viewer:
        """The viewer when they may do one of `actions`; 403 when nobody can change anything
        here, 401 for the anonymous, 403 for a role without the permission, and 403 for a
        session request without its CSRF token (`check_csrf=False`: the caller checks it
        once the body is read)."""
        wanted = tuple(actions)
        if not self.open:
            raise HTTPException(403, "changes are disabled: create an account (`viko user add`) or set a "
                                     f"VIKO_ADMIN_TOKEN of at least {MIN_TOKEN_CHARS} characters")
        viewer = self.viewer(conn, token)
        if not viewer.signed_in:
            raise HTTPException(401, "sign in (/login) or send a token (Authorization: Bearer TOKEN)",
                                headers={"WWW-Authenticate": "Bearer"})
        if not any(viewer.may(a) for a in wanted):
            roles = " or ".join(ACTION_WORDS.get(a, a) for a in wanted)
            article = "an" if viewer.role[:1] in ("a", "e", "o") else "a"
            raise HTTPException(403, f"{viewer.name} is {article} {viewer.role}: this needs the {roles} role")
        via_session = conn.scope["state"].get("session") is not None and not token
        if via_session and check_csrf and conn.scope.get("method", "GET") not in SAFE_METHODS:
            self.check_csrf(conn, csrf)
        return viewer


OPEN_PATHS = ("/login", "/logout", "/healthz", "/metrics", "/api/me")


def sign_in_gate(request: Request) -> None:
    """An app-wide dependency: with VIKO_PUBLIC=0, every page but signing in needs it."""
    auth: Auth = request.app.state.auth
    if auth.settings.public or request.url.path in OPEN_PATHS:
        return
    if request.url.path.startswith("/saved/") and request.url.path.endswith("/feed.atom"):
        return  # a private feed is opened by its own token (web/feeds.py): feed readers do not sign in
    if not auth.viewer(request).signed_in:
        raise HTTPException(401, "this server needs a sign-in for every page: /login",
                            headers={"WWW-Authenticate": "Bearer"})


class Needs:
    """A route dependency: the request must come from someone who may do one of `actions`.
    `TokenFirstRoute` (web/shared.py) runs it from the headers before the body is read."""

    def __init__(self, auth: Auth, *actions: str) -> None:
        self.auth = auth
        self.actions = actions

    def __call__(self, request: Request, authorization: str = Header(""), x_viko_token: str = Header(""),
                 x_csrf_token: str = Header("")) -> None:
        self.auth.require(request, self.actions)

    def before_body(self, conn: HTTPConnection) -> None:
        self.auth.require(conn, self.actions, check_csrf=False)


def may_see(cat: Any, doc_id: str, viewer: Viewer) -> bool:
    """Whether the document exists and the viewer may see it (else the pages say "no such
    document", the same words as for one that does not exist)."""
    row = cat.conn.execute("SELECT visibility FROM documents WHERE id=?", (doc_id,)).fetchone()
    return row is not None and viewer.sees(row[0])
