"""What every page module shares: one renderer (templates, interface language, safe links),
one way to answer a page in the format its path asks for, the security headers, and the
check of who sends a data-changing request before its body is read (web/auth.py).

Each page is one handler registered twice (`page_routes`): on its HTML path and on its
`/api/` path. The handler parses the request into the page's parameter record, builds the
page's model, and `Web.respond` picks the format by the path, so both formats share the
same defaults, limits and errors. Each router used to carry its own copy of these pieces;
the copies drifted (one forgot the interface-language cookie), so there is now one of each.

Who sends a change is checked before any input: `TokenFirstRoute` puts the check in front
of every route that depends on `Needs` (web/auth.py), so an anonymous body is refused (401
or 403) before a byte of it is read. Failed attempts are throttled per client address.
Every error answer of the API is an `ErrorBody`, and `error_responses` documents them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from viko.corpus.access import ANONYMOUS
from viko.settings import Settings
from viko.web.auth import MIN_TOKEN_CHARS, PRE_SESSION_COOKIE, Auth, Needs, admin_token
from viko.web.i18n import COOKIE, UI_LANGS, UI_NAMES, negotiate, translator
from viko.web.limits import CONTROL, ClientLimiter
from viko.web.links import with_param

HERE = Path(__file__).parent
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "same-origin"}
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


def token_warning(settings: Settings) -> str:
    """What to tell the operator at startup about the token ('' when all is well)."""
    if settings.admin_token and not admin_token(settings):
        return (f"VIKO_ADMIN_TOKEN has fewer than {MIN_TOKEN_CHARS} non-space characters: "
                "it is ignored (accounts still work: `viko user add`)")
    return ""


class TokenFirstRoute(APIRoute):
    """A route that, when it depends on `Needs` (web/auth.py), checks who sends it from the
    headers before anything else: FastAPI reads and validates a body before it runs
    dependencies, so an anonymous 150 MB body used to be read whole and answered 422. The
    routers with such routes are built with `route_class=TokenFirstRoute`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        needs = [d.dependency for d in self.dependencies if isinstance(d.dependency, Needs)]
        if not needs:
            return handler
        need = needs[0]

        async def checked(request: Request) -> Response:
            need.before_body(request)  # headers and cookies only: the body is not touched
            return await handler(request)

        return checked


async def plain_query(request: Request) -> None:
    """An app-wide dependency: a query string with a control character (NUL...) is a 400 in
    both formats, for every route, before any parameter reaches a parser or SQLite."""
    for name, value in request.query_params.multi_items():
        if found := CONTROL.search(name + value):
            raise HTTPException(400, f"the query string holds a control character (U+{ord(found.group()):04X}): "
                                     "remove it")


class ErrorBody(BaseModel):
    """What the API answers with any error status."""

    detail: str = Field(description="What went wrong, in words")
    request_id: str = Field(default="", description="The request's id, as in the server's log")
    errors: list[dict[str, Any]] = Field(default_factory=list, description="422: each invalid parameter")


ERROR_TEXT = {
    400: "Bad request: a parameter out of range, an empty query, a control character in the query string",
    401: "Sign in, or send a valid token (Authorization: Bearer TOKEN or X-Viko-Token)",
    403: "Your role may not do this, the form's CSRF token is missing, or changes are disabled (no accounts)",
    404: "No such document, record or entry",
    409: "Another run holds the data directory",
    413: "The request body is larger than the limit",
    422: "A parameter or the body is not valid",
    429: "Too many requests (or failed token attempts) from this address: see Retry-After",
    500: "Unexpected error (logged with the request id)",
    503: "Search is not available yet: no usable index",
}
COMMON_ERRORS = (400, 413, 422, 500)


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a router: the errors every route can answer plus `codes`."""
    return {code: {"model": ErrorBody, "description": ERROR_TEXT[code]} for code in sorted({*COMMON_ERRORS, *codes})}


class Pages:
    """Renders a template in the visitor's interface language, with the shared filters, who
    is signed in and what they may do, and the CSRF token its forms carry."""

    def __init__(self, auth: Auth) -> None:
        self.auth = auth
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.filters["safe_url"] = safe_url
        self.templates.env.filters["id_path"] = id_path

    def render(self, request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
        ui = negotiate(request.query_params, request.cookies, request.headers.get("accept-language", ""))
        params = list(request.query_params.multi_items())
        switch = [(code, UI_NAMES[code], with_param(request.url.path, params, "ui", code)) for code in UI_LANGS]
        try:
            viewer, csrf = self.auth.viewer(request), self.auth.csrf_token(request)
        except HTTPException:  # the error page of a refused token: shown as to the anonymous
            viewer, csrf = ANONYMOUS, ""
        context = {**context, "t": translator(ui), "ui": ui, "ui_switch": switch,
                   "request_id": getattr(request.state, "request_id", ""), "viewer": viewer,
                   "csrf_token": csrf}
        response = self.templates.TemplateResponse(request, name, context, status_code=status_code)
        secure = request.url.scheme == "https"
        if request.query_params.get("ui") in UI_LANGS:
            response.set_cookie(COOKIE, ui, max_age=UI_COOKIE_DAYS * 86400, samesite="lax", httponly=True,
                                secure=secure)
        if request.cookies.get(PRE_SESSION_COOKIE) != self.auth.pre_session(request):
            response.set_cookie(PRE_SESSION_COOKIE, self.auth.pre_session(request), samesite="lax",
                                httponly=True, secure=secure)
        return response


def wants_json(request: Request) -> bool:
    """The format is chosen by the path: `/api/...` answers JSON, every other path HTML."""
    return request.url.path.startswith("/api/")


def page_routes(router: APIRouter, html_path: str, api_path: str, endpoint: Callable[..., Any],
                model: type[BaseModel], summary: str) -> None:
    """One handler on both paths: the page (kept out of the API description) and its JSON."""
    router.add_api_route(html_path, endpoint, methods=["GET"], response_class=HTMLResponse, include_in_schema=False)
    router.add_api_route(api_path, endpoint, methods=["GET"], response_model=model, summary=summary)


class Web:
    """The shared pieces, built once in create_app and handed to every router."""

    def __init__(self, settings: Settings, limiter: ClientLimiter | None = None) -> None:
        self.settings = settings
        self.limiter = limiter or ClientLimiter(settings.web_rate_per_minute, settings.web_concurrent_per_client)
        self.auth = Auth(settings, self.limiter)
        self.pages = Pages(self.auth)
        self.writing = threading.Lock()  # glossary edits and counterpart decisions, one at a time

    def render(self, request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
        return self.pages.render(request, name, context, status_code)

    def needs(self, *actions: str) -> Needs:
        """A route dependency: who sends the request may do one of `actions`."""
        return Needs(self.auth, *actions)

    def respond(self, request: Request, template: str, page: BaseModel, context: dict[str, Any] | None = None, *,
                error: str = "", status: int = 400, blank: str = "") -> Any:
        """The page's model in the format its path asks for. With an `error` the API answers
        it with `status` and the page shows it with the same status. `blank` is what the API
        says when the request left its main parameter empty; the page shows its empty form."""
        if wants_json(request):
            if error:
                raise HTTPException(status, error)
            if blank:
                raise HTTPException(400, blank)
            return page
        return self.render(request, template, {"page": page, **(context or {})}, status if error else 200)
