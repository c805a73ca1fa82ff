"""The read side every search and document route uses: the live engine, the ranking cache
and the one long-lived catalogue reader."""

from __future__ import annotations

from fastapi import HTTPException
from viko.indexer.store import UnusableIndex
from viko.search.engine import SearchEngine
from viko.web.reader import CatalogueReader
from viko.web.searching import Searcher

from viko.runtime import LiveEngine
from viko.settings import Settings


class Services:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.live = LiveEngine(settings)
        self.searcher = Searcher(settings)
        self.reader = CatalogueReader(settings)

    def engine(self) -> SearchEngine:
        """The current engine; 503 when there is no usable index yet. Any other failure is
        a bug: it reaches the error handler, which logs it with its traceback."""
        try:
            eng = self.live.get()
        except UnusableIndex as exc:
            raise HTTPException(503, f"search is not available: {exc}") from exc
        with self.reader.read():  # opened with the engine, kept open: see web/reader.py
            pass
        return eng

    def close(self) -> None:
        self.reader.close()
