"""`viko serve`: the web app in one process, or in several over one data directory.

With `workers > 1`, uvicorn binds the socket in a parent process and starts that many worker
processes (fresh interpreters, started by spawning), which share the listening socket; each
imports this module and calls `app()`. A fresh interpreter knows only its environment, so the
settings travel there: `serve` sets every setting as the VIKO_* variable that gives it back
(`settings_environment`, checked to round-trip) before the workers start, and `app()` rebuilds
them with `Settings.from_env()`.

Each worker holds its own model and analysers (their memory once per worker; the index files
are memory-mapped, so the page cache holds them once), reads CURRENT on every request (a new
generation from `viko index` reaches every worker on its next request, runtime.LiveIndex), and
closes its index when it shuts down. SIGTERM (or Ctrl-C) to the parent stops accepting, lets
every worker finish the requests it is running, then exits. The per-client limits are counted
by each worker on its own (web/limits.py); /metrics sums the request counts of every worker,
which each keeps in a file under the data directory's `run/metrics/<serve pid>/`
(web/operations.py), removed when the server stops.
"""

from __future__ import annotations

import os
import threading

import uvicorn
from fastapi import FastAPI

from viko.indexer.analyze import default_analyzer
from viko.runtime import cached_encoder, live_index
from viko.settings import RANKING_FIELDS, Settings
from viko.web.app import create_app
from viko.web.operations import clear_counts

# Seconds a worker may take to answer the parent's health check before it is killed and
# replaced; loading the models holds the interpreter for a few seconds on a busy machine.
HEALTHCHECK_SECONDS = 60


def prepare(settings: Settings) -> FastAPI:
    """The app of one serving process, its models loaded, its index closed when it stops."""
    app = create_app(settings)
    app.router.add_event_handler("shutdown", live_index(settings).close)
    warm = getattr(cached_encoder(settings.encoder_choice), "warm_up", None)
    if warm is not None:  # every query then goes to the fused ONNX Runtime graph (indexer/e5_onnx.py)
        warm()
    # The word segmenters (~3 s) too: the concordance needs them before any search has run.
    threading.Thread(target=default_analyzer().warm_up, name="viko-analyzer-warm-up", daemon=True).start()
    return app


def app() -> FastAPI:
    """The factory each worker process calls (uvicorn's `viko.web.serving:app`, factory=True):
    the settings `serve` put in the environment."""
    return prepare(Settings.from_env())


def settings_environment(settings: Settings) -> dict[str, str]:
    """Every setting as the VIKO_* variable that gives it back (`""` for an unset path, which
    `Settings.from_env` reads as the default). ValueError when one would not come back equal."""
    env = {}
    for name, _, _ in settings.describe():
        value = getattr(settings.ranking if name in RANKING_FIELDS else settings, name)
        env[f"VIKO_{name.upper()}"] = "" if value is None else str(value)
    back = Settings.from_env({**os.environ, **env})
    if back != settings:
        mine = {name: value for name, value, _ in settings.describe()}
        changed = [name for name, value, _ in back.describe() if value != mine[name]]
        raise ValueError(f"cannot hand these settings to the worker processes: {', '.join(changed) or 'ranking'}")
    return env


def serve(settings: Settings, workers: int = 1) -> None:
    """Serve until SIGTERM or Ctrl-C. One worker: the app runs in this process, as it always
    has. More: this process supervises `workers` processes, each running `app()`."""
    # X-Forwarded-For is believed only from the proxies the operator listed (none by default).
    proxies = [a.strip() for a in settings.trusted_proxies.split(",") if a.strip()]
    # One JSON log line per request comes from the app (web/observe.py): uvicorn's access log is off.
    common = {"host": settings.host, "port": settings.port, "log_level": "warning", "access_log": False,
              "proxy_headers": bool(proxies), "forwarded_allow_ips": proxies or []}
    if workers <= 1:
        uvicorn.run(prepare(settings), **common)  # type: ignore[arg-type]
        return
    os.environ.update(settings_environment(settings))  # inherited by the workers uvicorn spawns
    clear_counts(settings, os.getpid())
    try:
        uvicorn.run(f"{__name__}:app", factory=True, workers=workers,
                    timeout_worker_healthcheck=HEALTHCHECK_SECONDS, **common)  # type: ignore[arg-type]
    finally:
        clear_counts(settings, os.getpid())
