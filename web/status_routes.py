"""The status page, its JSON twin, and the API description."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from viko.web.models import StatusPage
from viko.web.shared import Web
from viko.web.statuspage import status_page


def status_router(web: Web, app: FastAPI) -> APIRouter:
    router = APIRouter()
    settings = web.settings

    @router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def api_docs(request: Request) -> Response:
        return web.render(request, "api.html", {"spec": app.openapi()})

    @router.get("/status", response_class=HTMLResponse, include_in_schema=False)
    def status_html(request: Request) -> Response:
        return web.render(request, "status.html", {"page": status_page(settings)})

    @router.get("/api/status", response_model=StatusPage,
                summary="What is indexed, when, with which model; recent crawls")
    def api_status() -> Any:
        return status_page(settings)

    return router
