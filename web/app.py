"""FastAPI app: HTML pages and the same data as JSON under /api/ (OpenAPI at /openapi.json).

The factory only assembles: shared pieces (web/shared.py, web/services.py), middleware
(request log and security headers, per-client limits, the body limit), error pages, and one
router per page family, each from the module named for its page (web/search.py serves `/`
and `/api/search`), with the error answers each family can give documented.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from viko.settings import Settings
from viko.web.account import account_router
from viko.web.admin import MAX_IMPORT_BYTES, admin_router
from viko.web.admin_page import admin_page_router
from viko.web.align import align_router
from viko.web.auth import sign_in_gate
from viko.web.concordance import concordance_router
from viko.web.document import document_router
from viko.web.feeds import feeds_router
from viko.web.glossary import glossary_router
from viko.web.limits import BodyLimit, ClientLimiter, RateLimit
from viko.web.matching import matching_router
from viko.web.matching_import import MAX_UPLOAD_BYTES, matching_import_router
from viko.web.observe import RequestLog, configure_logging, install_error_pages
from viko.web.operations import operations_router
from viko.web.planner import planner_router
from viko.web.search import search_router
from viko.web.services import Services
from viko.web.shared import Web, error_responses, plain_query, token_warning
from viko.web.sources import sources_router
from viko.web.status import status_router
from viko.web.upload import upload_limits, upload_router

HERE = Path(__file__).parent
log = logging.getLogger("viko.web")


def create_app(settings: Settings) -> FastAPI:
    # FastAPI's own /docs loads Swagger UI from a CDN: offline sites (and the CSP) forbid that,
    # so /docs is a server-rendered list of the endpoints and /openapi.json stays as is.
    app = FastAPI(title="viko", description="Bilingual Vietnamese–Korean document search",
                  version="0.1.0", docs_url=None, redoc_url=None,
                  # no control characters in any query string; VIKO_PUBLIC=0: nothing without a sign-in
                  dependencies=[Depends(plain_query), Depends(sign_in_gate)])
    configure_logging()
    if warning := token_warning(settings):
        log.warning(warning)
    app.state.settings = settings  # the pages' parameter parsers read their limits from it
    limiter = ClientLimiter(settings.web_rate_per_minute, settings.web_concurrent_per_client)
    web = Web(settings, limiter)  # the limiter also counts failed token attempts
    app.state.auth = web.auth
    services = Services(settings)
    app.router.add_event_handler("shutdown", services.close)
    app.router.add_event_handler("shutdown", web.auth.reader.close)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    # The routers: one per page family, each page one handler for its HTML and /api/ paths,
    # each with the error statuses it can answer (besides 400, 413, 422 and 500).
    app.include_router(account_router(web), responses=error_responses(401, 403, 429))  # /login, /logout, /audit
    app.include_router(search_router(web, services), responses=error_responses(429, 503))  # /
    app.include_router(document_router(web, services), responses=error_responses(404, 429, 503))  # /doc/ID, /text/ID
    app.include_router(status_router(web, app), responses=error_responses())  # /status, /docs
    app.include_router(admin_router(web), responses=error_responses(401, 403, 404, 409, 429))  # /api/admin/...
    app.include_router(align_router(web), responses=error_responses(401, 403, 404, 429, 503))  # /align, counterparts
    app.include_router(concordance_router(web), responses=error_responses(429))  # /concordance, TMX export
    app.include_router(glossary_router(web), responses=error_responses(401, 403, 404, 429))  # /glossary
    app.include_router(matching_router(web, services), responses=error_responses(404, 429, 503))  # /match/ID
    app.include_router(planner_router(web, services), responses=error_responses(401, 403, 404, 429, 503))  # /planner
    app.include_router(matching_import_router(web), responses=error_responses(401, 403, 429))  # /matching/import
    app.include_router(upload_router(web, app), responses=error_responses(401, 403, 404, 429))  # /upload, /jobs (and the job runner)
    app.include_router(sources_router(web, app), responses=error_responses(401, 403, 404, 429))  # /sources
    app.include_router(feeds_router(web, services), responses=error_responses(401, 403, 404, 429, 503))  # /saved, feeds
    app.include_router(admin_page_router(web, services), responses=error_responses(401, 403, 429))  # /admin
    app.include_router(operations_router(web, services, app))  # /healthz, /metrics (not in the API schema)

    install_error_pages(app, web)
    app.add_middleware(BodyLimit, limit=max(1, settings.web_max_body_kb) * 1024,
                       larger={"/api/admin/import": MAX_IMPORT_BYTES, "/matching/import": MAX_UPLOAD_BYTES,
                               "/api/matching/import": MAX_UPLOAD_BYTES, **upload_limits(settings.upload_max_mb)})
    app.add_middleware(RateLimit, limiter=limiter)
    app.add_middleware(RequestLog)  # outermost: its log line also covers refused requests
    return app
