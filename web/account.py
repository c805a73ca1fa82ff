"""Signing in and out, who is signed in (`/api/me`), and the audit log (`/audit`, admins).

`POST /login` takes the form fields `username` and `password` (and the form's CSRF token,
bound to a pre-session cookie, so another site cannot sign a visitor in as someone else),
sets the signed session cookie (HttpOnly, SameSite=Lax, Secure behind https, expiring after
`session_hours`) and sends the visitor where they were going. Failed attempts count against
the address as failed tokens do (web/limits.py). `POST /logout` ends the session.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from viko.corpus.accounts import Accounts
from viko.web.auth import SESSION_COOKIE
from viko.web.limits import client_address
from viko.web.shared import Web, page_routes

log = logging.getLogger("viko.web")
AUDIT_PAGE = 200


class MeModel(BaseModel):
    name: str = Field(default="", description="Empty for an anonymous visitor")
    role: str = ""
    groups: list[str] = []
    may: list[str] = Field(default=[], description="What the role allows: read, edit, organise, admin")


class AuditEntryModel(BaseModel):
    at: str
    actor: str
    action: str
    target: str = ""
    detail: str = ""


class AuditPage(BaseModel):
    entries: list[AuditEntryModel] = []
    offset: int = 0
    limit: int = AUDIT_PAGE


def safe_next(target: str) -> str:
    """Where to go after signing in: a path on this site, never another site ('//evil')."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def account_router(web: Web) -> APIRouter:
    router = APIRouter(tags=["accounts"])
    auth = web.auth

    @router.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, next: str = Query("/", max_length=2000)) -> Response:
        return web.render(request, "login.html", {"next": safe_next(next), "failed": False})

    @router.post("/login", response_class=HTMLResponse, summary="Sign in (form fields username, password)")
    def login(request: Request, username: str = Form("", max_length=200), password: str = Form("", max_length=1024),
              csrf_token: str = Form(""), next: str = Form("/", max_length=2000)) -> Response:
        client = client_address(request.scope)
        if wait := auth.limiter.token_wait(client):
            seconds = math.ceil(wait)
            raise HTTPException(429, f"too many failed sign-ins from your address: try again in {seconds} s",
                                headers={"Retry-After": str(seconds)})
        auth.check_csrf(request, csrf_token)
        with auth.accounts() as cat:
            user = Accounts(cat).verify(username.strip(), password)
        if user is None:
            auth.limiter.token_failed(client)
            log.warning("failed sign-in for %r from %s", username[:64], client)
            return web.render(request, "login.html", {"next": safe_next(next), "failed": True}, 401)
        response = RedirectResponse(safe_next(next), status_code=303)
        response.set_cookie(SESSION_COOKIE, auth.session_value(user), max_age=auth.max_age, httponly=True,
                            samesite="lax", secure=request.url.scheme == "https")
        return response

    @router.get("/logout", response_class=HTMLResponse, include_in_schema=False)
    def logout_form(request: Request) -> Response:
        return web.render(request, "login.html", {"next": "/", "failed": False, "leaving": True})

    @router.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf_token: str = Form("")) -> Response:
        if auth.viewer(request).signed_in:
            auth.check_csrf(request, csrf_token)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=request.url.scheme == "https")
        return response

    @router.get("/api/me", response_model=MeModel, summary="Who the request is signed in as, and what they may do")
    def me(request: Request) -> Any:
        viewer = auth.viewer(request)
        return MeModel(name=viewer.name, role=viewer.role, groups=sorted(viewer.groups),
                       may=[a for a in ("read", "edit", "organise", "admin") if viewer.may(a)])

    def audit(request: Request, offset: int = Query(0, ge=0, le=10_000_000)) -> Any:
        auth.require(request, ("admin",))
        with auth.accounts() as cat:
            entries = Accounts(cat).audit_log(AUDIT_PAGE, offset)
        page = AuditPage(entries=[AuditEntryModel(**vars(e)) for e in entries], offset=offset)
        return web.respond(request, "audit.html", page)

    page_routes(router, "/audit", "/api/audit", audit, AuditPage, "Who changed what, newest first (admins)")
    return router
