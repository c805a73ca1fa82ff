"""What every page router shares: one renderer (templates, interface language, safe links),
the security headers, and one admin-token check.

Each router used to carry its own copy of these; the copies drifted (one forgot the
interface-language cookie), so there is now exactly one of each, built once per app.
"""

from __future__ import annotations

import hmac
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Header, HTTPException, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from viko.web.i18n import COOKIE, UI_LANGS, UI_NAMES, negotiate, translator
from viko.web.links import with_param

from viko.settings import Settings

HERE = Path(__file__).parent
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "same-origin"}
# A token short enough to guess (or only whitespace) is no protection: admin writes stay off.
MIN_TOKEN_CHARS = 16
UI_COOKIE_DAYS = 365
log = logging.getLogger("viko.web")


def safe_url(url: str) -> str:
    """url when it is an http(s) link, else '' (a `javascript:` or `data:` URL is never a link)."""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return ""
    return url.strip() if scheme in ("http", "https") else ""


def id_path(doc_id: str) -> str:
    """A document id as one URL path segment: `/` and `..` inside it cannot change the path."""
    return quote(doc_id, safe="")


def doc_href(doc_id: str) -> str:
    return "/doc/" + id_path(doc_id)


def admin_token(settings: Settings) -> str:
    """The configured token when it is long enough to protect anything, else ''."""
    token = settings.admin_token.strip()
    return token if len("".join(token.split())) >= MIN_TOKEN_CHARS else ""


def token_warning(settings: Settings) -> str:
    """What to tell the operator at startup about the token ('' when all is well)."""
    if settings.admin_token and not admin_token(settings):
        return (f"VIKO_ADMIN_TOKEN has fewer than {MIN_TOKEN_CHARS} non-space characters: "
                "data-changing actions are disabled until a longer token is set")
    return ""


class Gate:
    """The admin-token check, run before a request's input is validated."""

    def __init__(self, settings: Settings) -> None:
        self.token = admin_token(settings)

    @property
    def open(self) -> bool:
        return bool(self.token)

    def authorize(self, given: str) -> None:
        if not self.token:
            raise HTTPException(403, "changes are disabled: the operator has not set a VIKO_ADMIN_TOKEN "
                                     f"of at least {MIN_TOKEN_CHARS} characters")
        if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
            raise HTTPException(401, "a valid admin token is required (Authorization: Bearer TOKEN)",
                                headers={"WWW-Authenticate": "Bearer"})

    def header_check(self, authorization: str = Header(""), x_viko_token: str = Header("")) -> None:
        """A route dependency: FastAPI runs it before it parses the request body."""
        self.authorize(x_viko_token or authorization.removeprefix("Bearer ").strip())


class Pages:
    """Renders a template in the visitor's interface language, with the shared filters."""

    def __init__(self) -> None:
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.filters["safe_url"] = safe_url
        self.templates.env.filters["id_path"] = id_path

    def render(self, request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
        ui = negotiate(request.query_params, request.cookies, request.headers.get("accept-language", ""))
        params = list(request.query_params.multi_items())
        switch = [(code, UI_NAMES[code], with_param(request.url.path, params, "ui", code)) for code in UI_LANGS]
        context = {**context, "t": translator(ui), "ui": ui, "ui_switch": switch,
                   "request_id": getattr(request.state, "request_id", "")}
        response = self.templates.TemplateResponse(request, name, context, status_code=status_code)
        if request.query_params.get("ui") in UI_LANGS:
            response.set_cookie(COOKIE, ui, max_age=UI_COOKIE_DAYS * 86400, samesite="lax", httponly=True)
        return response


class Web:
    """The shared pieces, built once in create_app and handed to every router."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pages = Pages()
        self.gate = Gate(settings)

    def render(self, request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
        return self.pages.render(request, name, context, status_code)
