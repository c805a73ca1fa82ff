"""The search page's data: rank once per query, then filter, count, sort and page.

People refine a query by clicking facets, sorting and paging, which repeats the same query;
the ranked candidates (after the relevance floor) are cached per engine, so those clicks
cost a dictionary lookup and a slice. A new index generation is a new engine, so its cache
starts empty.
"""

from __future__ import annotations

import difflib
import math
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from viko.corpus.textnorm import query_language
from viko.indexer.store import LANGS
from viko.search.engine import QueryError, Scored, SearchEngine
from viko.search.facets import SORTS, Filters, apply_filters, count_facets, sort_items
from viko.web.counterparts import counterpart_id
from viko.web.models import FacetValueModel, HitModel, SearchPage

from viko.settings import Settings

MAX_OFFSET = 10_000
FACET_VALUES = {"lang": set(LANGS)}


@dataclass(frozen=True)
class Ranked:
    query: str
    qlang: str
    terms: list[str]
    items: list[Scored]
    vector: np.ndarray  # the encoded query: the document page marks passages with it


@dataclass(frozen=True)
class SearchRequest:
    q: str
    filters: Filters = field(default_factory=Filters)
    sort: str = "relevance"
    limit: int = 10
    offset: int = 0


def hit_model(engine: SearchEngine, item: Scored, terms: Sequence[str]) -> HitModel:
    hit = engine.hit(item, terms)
    return HitModel(id=hit.id, lang=hit.lang, title=hit.title, score=round(hit.score, 4), snippet=hit.snippet,
                    highlights=list(hit.highlights), url=hit.url, type=hit.type, date=hit.date,
                    source=hit.source, counterpart_id=counterpart_id(engine, hit.id))


class Searcher:
    def __init__(self, settings: Settings, cache_size: int = 256) -> None:
        self.settings = settings
        self._cache_size = cache_size
        self._caches: weakref.WeakKeyDictionary[SearchEngine, OrderedDict[str, Ranked]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def ranked(self, engine: SearchEngine, query: str) -> Ranked:
        """Every candidate above the relevance floor, best first (query already validated)."""
        with self._lock:
            cache = self._caches.setdefault(engine, OrderedDict())
            if query in cache:
                cache.move_to_end(query)
                return cache[query]
        qlang = query_language(query)
        items, terms = engine.rank(query, qlang, LANGS)
        kept = engine.matching(items, terms, query, qlang)
        ranked = Ranked(query, qlang, terms, kept, engine.query_vector(query))
        with self._lock:
            cache[query] = ranked
            while len(cache) > self._cache_size:
                cache.popitem(last=False)
        return ranked

    def check(self, engine: SearchEngine, req: SearchRequest) -> str:
        """The request's problem in words, or '' when it can run."""
        if req.limit < 1 or req.limit > self.settings.max_limit:
            return f"the page size must be between 1 and {self.settings.max_limit}"
        if req.offset < 0 or req.offset > MAX_OFFSET:
            return f"the result offset must be between 0 and {MAX_OFFSET}"
        if req.sort not in SORTS:
            return f"unknown sort {req.sort!r}: use {' or '.join(SORTS)}"
        bad = [v for v in req.filters.lang if v not in FACET_VALUES["lang"]]
        if bad:
            return f"unknown language {bad[0]!r}: use vi, ko or other"
        return ""

    def search(self, engine: SearchEngine, req: SearchRequest) -> SearchPage:
        started = time.perf_counter()
        page = SearchPage(query=req.q, filters={k: list(v) for k, v in vars(req.filters).items() if v},
                          sort=req.sort, limit=req.limit, offset=req.offset, page=req.offset // max(req.limit, 1) + 1)
        try:
            query = engine.validate(req.q)
        except QueryError as exc:
            page.error = str(exc)
            return page
        page.error = self.check(engine, req)
        if page.error:
            return page
        ranked = self.ranked(engine, query)
        chosen = sort_items(apply_filters(ranked.items, engine.meta, req.filters), engine.meta, req.sort)
        page.query_lang, page.total = ranked.qlang, len(chosen)
        page.pages = math.ceil(len(chosen) / req.limit)
        page.facets = {f: [FacetValueModel(value=v.value, count=v.count, selected=v.selected) for v in values]
                       for f, values in count_facets(ranked.items, engine.meta, req.filters).items()}
        page.hits = [hit_model(engine, s, ranked.terms) for s in chosen[req.offset : req.offset + req.limit]]
        if not chosen:
            page.unfiltered_total = len(ranked.items) if req.filters.active else 0
            page.suggestions = closest_terms(engine, ranked.terms) if not ranked.items else []
        page.took_ms = round((time.perf_counter() - started) * 1000, 2)
        return page


def closest_terms(engine: SearchEngine, terms: Sequence[str], limit: int = 5) -> list[str]:
    """Indexed words spelled like the query's words: "nang luong" -> "năng", "lượng"..."""
    vocab = engine.index.lexical.vocab
    out: list[str] = []
    for term in terms:
        if "_" in term or len(term) < 2:
            continue
        pool = [w for w in vocab if "_" not in w and abs(len(w) - len(term)) <= 2 and w != term]
        for match in difflib.get_close_matches(term, pool, n=2, cutoff=0.7):
            if match not in out:
                out.append(match)
    return out[:limit]
