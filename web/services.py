"""The read side the pages share: the live engine, the ranking cache, the one long-lived
catalogue reader and the matcher that follows the engine.

People refine a query by clicking facets, sorting and paging, which repeats the same query;
the ranked candidates (after the relevance floor) are cached per engine, so those clicks
cost a dictionary lookup and a slice, and the document page marks passages with the same
ranking. A new index generation is a new engine, so its cache starts empty.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from fastapi import HTTPException

from viko.corpus.access import Viewer
from viko.indexer.store import UnusableIndex
from viko.matching.match import Matcher
from viko.matching.service import load_matcher
from viko.runtime import LiveEngine
from viko.search.engine import Ranking, Scored, SearchEngine
from viko.settings import Settings
from viko.web.reader import CatalogueReader


@dataclass(frozen=True)
class Ranked:
    query: str
    qlang: str
    terms: list[str]
    items: list[Scored]
    vector: np.ndarray  # the encoded query: the document page marks passages with it
    ranking: Ranking | None = None  # how the query was parsed and searched (search.engine.Ranking)


class Services:
    def __init__(self, settings: Settings, cache_size: int = 256) -> None:
        self.settings = settings
        self.live = LiveEngine(settings)
        self.reader = CatalogueReader(settings)
        self._cache_size = cache_size
        self._caches: weakref.WeakKeyDictionary[SearchEngine, OrderedDict[str, Ranked]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._matchers: dict[str, tuple[SearchEngine, Matcher]] = {}
        self._matcher_lock = threading.Lock()

    def engine(self, viewer: Viewer) -> SearchEngine:
        """The current engine as the viewer sees it (search.visibility); 503 when there is no
        usable index yet. Any other failure is a bug: it reaches the error handler, which logs
        it with its traceback."""
        try:
            eng = self.live.get()
        except UnusableIndex as exc:
            raise HTTPException(503, f"search is not available: {exc}") from exc
        with self.reader.read():  # opened with the engine, kept open: see web/reader.py
            pass
        return eng.scoped(viewer)

    def ranked(self, engine: SearchEngine, query: str, exact: bool = False) -> Ranked:
        """Every candidate above the relevance floor, best first (query already validated;
        its operators parsed by the engine, search.syntax); `exact`: searched as typed."""
        key = f"{int(exact)}{query}"
        with self._lock:
            cache = self._caches.setdefault(engine, OrderedDict())
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
        ranking = engine.ranking(query, exact=exact)
        vector = engine.query_vector(ranking.searched or query, exact=True)
        ranked = Ranked(query, ranking.qlang, ranking.terms, ranking.items, vector, ranking)
        with self._lock:
            cache[key] = ranked
            while len(cache) > self._cache_size:
                cache.popitem(last=False)
        return ranked

    def matcher(self, viewer: Viewer) -> Matcher:
        """The matchmaking matcher of the current engine, over the records the viewer may see
        (rebuilt with a new index or catalogue; one per audience)."""
        engine = self.engine(viewer)  # 503 while there is no usable index
        with self._matcher_lock:
            held = self._matchers.get(viewer.audience)
            if held is None or held[0] is not engine:
                held = self._matchers[viewer.audience] = (engine, load_matcher(self.settings.catalogue_path,
                                                                               engine, viewer))
            return held[1]

    def close(self) -> None:
        self.reader.close()
