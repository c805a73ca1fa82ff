"""Web stage: FastAPI app and Jinja2 templates over the search facade.

One module per page family, named for its page (search.py serves `/` and `/api/search`):
its parameter record and parser, response model, builder and router, where one handler
serves both formats. Other modules are named for the shared piece they hold."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from viko.web.app import create_app
    from viko.web.localserver import local_server

# Public name -> the module of this stage that defines it (loaded on first use).
_API = {"create_app": "app", "local_server": "localserver"}
__all__ = ["create_app", "local_server"]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
