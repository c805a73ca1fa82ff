"""FastAPI app: HTML pages and the same data as JSON under /api/ (OpenAPI at /openapi.json).

The factory only assembles: shared pieces (web/shared.py), middleware (request log and
security headers, per-client limits), error pages, and one router per group of pages.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from viko.web.admin import admin_router
from viko.web.document_routes import document_router
from viko.web.limits import ClientLimiter, RateLimit
from viko.web.matching import matching_router
from viko.web.observe import RequestLog, configure_logging, install_error_pages
from viko.web.search_routes import search_router
from viko.web.services import Services
from viko.web.shared import Web, token_warning
from viko.web.status_routes import status_router
from viko.web.workbench_routes import workbench_router

from viko.settings import Settings

HERE = Path(__file__).parent
log = logging.getLogger("viko.web")


def create_app(settings: Settings) -> FastAPI:
    # FastAPI's own /docs loads Swagger UI from a CDN: offline sites (and the CSP) forbid that,
    # so /docs is a server-rendered list of the endpoints and /openapi.json stays as is.
    app = FastAPI(title="viko", description="Bilingual Vietnamese–Korean document search",
                  version="0.1.0", docs_url=None, redoc_url=None)
    configure_logging()
    if warning := token_warning(settings):
        log.warning(warning)
    web = Web(settings)
    services = Services(settings)
    app.router.add_event_handler("shutdown", services.close)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    # The routers: one per group of pages, each with its JSON twin under /api/.
    app.include_router(search_router(web, services))
    app.include_router(document_router(web, services))
    app.include_router(status_router(web, app))
    app.include_router(admin_router(web))
    app.include_router(workbench_router(web))  # /align, /concordance, /glossary, TMX export
    app.include_router(matching_router(web, services))  # /match, /matching, /planner, agenda and briefs

    install_error_pages(app, web)
    limiter = ClientLimiter(settings.web_rate_per_minute, settings.web_concurrent_per_client)
    app.add_middleware(RateLimit, limiter=limiter)
    app.add_middleware(RequestLog)  # outermost: its log line also covers refused requests
    return app
