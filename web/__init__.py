"""Web stage: FastAPI app and Jinja2 templates over the search facade.

One module per page family, named for its page (search.py serves `/` and `/api/search`):
its parameter record and parser, response model, builder and router, where one handler
serves both formats. Other modules are named for the shared piece they hold."""

from __future__ import annotations

from typing import TYPE_CHECKING

from viko import lazy_api

if TYPE_CHECKING:
    from viko.web.app import create_app
    from viko.web.localserver import local_server

# The public API, by the module of this stage that defines it (loaded on first use).
_API = {"app": ("create_app",), "localserver": ("local_server",)}
__all__ = ["create_app", "local_server"]

__getattr__ = lazy_api(__name__, _API)
