"""Data-changing API calls (import, re-index, delete), the same functions as the CLI.

They are POST only (never run on a GET) and need the operator's token
(VIKO_ADMIN_TOKEN, at least 16 characters) in `Authorization: Bearer ...` or `X-Viko-Token`;
a header, not a cookie, so another site cannot make a visitor's browser send it. Without a
usable token every one of them answers 403 and changes nothing. The token is checked before
anything in the request is read or validated (web/shared.py, TokenFirstRoute).

Nothing here blocks the event loop: the import only receives its body there (up to
MAX_IMPORT_BYTES, the one route allowed more than `web_max_body_kb`), then writes, waits for
the writing lock and imports in a worker thread, as the plain `def` routes do.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from viko.align_all import index_and_align
from viko.corpus.importer import import_jsonl
from viko.locking import LockBusy
from viko.runtime import open_catalogue
from viko.web.shared import TokenFirstRoute, Web

MAX_IMPORT_BYTES = 200 * 1024 * 1024


def admin_router(web: Web) -> APIRouter:
    settings = web.settings
    router = APIRouter(route_class=TokenFirstRoute, prefix="/api/admin", tags=["admin (token required)"],
                       dependencies=[Depends(web.gate.header_check)])
    writing = threading.Lock()  # one data-changing action at a time

    @router.post("/import", summary="Import JSONL documents (request body: one JSON object per line)")
    async def import_documents(request: Request) -> dict[str, Any]:
        pieces, size = [], 0
        async for piece in request.stream():  # BodyLimit cuts a body past MAX_IMPORT_BYTES
            size += len(piece)
            if size > MAX_IMPORT_BYTES:
                raise HTTPException(413, f"the body is larger than {MAX_IMPORT_BYTES // 2**20} MiB: use `viko import`")
            pieces.append(piece)
        body = b"".join(pieces)
        if not body.strip():
            raise HTTPException(400, "the request body is empty: send JSON lines")
        return await run_in_threadpool(import_body, body)

    def import_body(body: bytes) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "upload.jsonl"
            path.write_bytes(body)
            with writing, open_catalogue(settings) as cat:
                report = import_jsonl(cat, path)
        return {"added": report.added, "updated": report.updated, "unchanged": report.unchanged,
                "errors": [{"line": n, "error": msg} for n, msg in report.errors], "summary": report.summary()}

    @router.post("/index", summary="Bring the index up to date, then align and mine as `viko index` does "
                                   "(rebuild=true re-embeds everything)")
    def reindex(rebuild: bool = False) -> dict[str, Any]:
        # A plain `def`: FastAPI runs it in a worker thread, never in the event loop.
        try:
            with writing:
                run = index_and_align(settings, rebuild=rebuild)
        except LockBusy as exc:  # a CLI `viko index` holds the data directory
            raise HTTPException(409, str(exc)) from exc
        return run.to_json()

    @router.post("/delete/{doc_id:path}", summary="Delete one document from the catalogue (re-index to drop it from search)")
    def delete(doc_id: str) -> dict[str, Any]:
        with writing, open_catalogue(settings) as cat:
            if not cat.delete(doc_id):
                raise HTTPException(404, f"no document with id {doc_id!r}")
        return {"deleted": doc_id}

    return router
