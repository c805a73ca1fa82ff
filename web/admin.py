"""Data-changing API calls (import, re-index, delete), the same functions as the CLI.

They are POST only (never run on a GET) and need a role (web/auth.py): an editor imports, an
admin re-indexes and deletes; a token in `Authorization: Bearer ...` or `X-Viko-Token` (a
user's API token or VIKO_ADMIN_TOKEN), or a session cookie with its CSRF header. Who sends
the request is checked before anything in it is read (web/shared.py, TokenFirstRoute); each
change goes to the audit log.

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
from viko.corpus.accounts import Accounts
from viko.corpus.importer import import_jsonl
from viko.locking import LockBusy
from viko.runtime import open_catalogue
from viko.web.shared import TokenFirstRoute, Web

MAX_IMPORT_BYTES = 200 * 1024 * 1024


def admin_router(web: Web) -> APIRouter:
    settings = web.settings
    router = APIRouter(route_class=TokenFirstRoute, prefix="/api/admin", tags=["admin (signed in or token)"])
    editors, admins = web.needs("edit"), web.needs("admin")
    writing = threading.Lock()  # one data-changing action at a time

    @router.post("/import", summary="Import JSONL documents (editors; request body: one JSON object per line)",
                 dependencies=[Depends(editors)])
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
        return await run_in_threadpool(import_body, body, web.auth.viewer(request).name)

    def import_body(body: bytes, actor: str) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "upload.jsonl"
            path.write_bytes(body)
            with writing, open_catalogue(settings) as cat:
                report = import_jsonl(cat, path)
                Accounts(cat).audit(actor, "import documents", "", report.summary())
        return {"added": report.added, "updated": report.updated, "unchanged": report.unchanged,
                "errors": [{"line": n, "error": msg} for n, msg in report.errors], "summary": report.summary()}

    @router.post("/index", summary="Bring the index up to date, then align and mine as `viko index` does "
                                   "(admins; rebuild=true re-embeds everything)", dependencies=[Depends(admins)])
    def reindex(request: Request, rebuild: bool = False) -> dict[str, Any]:
        # A plain `def`: FastAPI runs it in a worker thread, never in the event loop.
        try:
            with writing:
                run = index_and_align(settings, rebuild=rebuild)
        except LockBusy as exc:  # a CLI `viko index` holds the data directory
            raise HTTPException(409, str(exc)) from exc
        with open_catalogue(settings) as cat:
            Accounts(cat).audit(web.auth.viewer(request).name, "index", "", "rebuild" if rebuild else "update")
        return run.to_json()

    @router.post("/delete/{doc_id:path}", summary="Delete one document from the catalogue (admins; re-index to "
                                                  "drop it from search)", dependencies=[Depends(admins)])
    def delete(request: Request, doc_id: str) -> dict[str, Any]:
        with writing, open_catalogue(settings) as cat:
            if not cat.delete(doc_id):
                raise HTTPException(404, f"no document with id {doc_id!r}")
            Accounts(cat).audit(web.auth.viewer(request).name, "delete", doc_id)
        return {"deleted": doc_id}

    return router
