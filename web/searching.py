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

from corpus.textnorm import detect_language
from indexer.encoders import Encoder
from indexer.store import LANGS
from search.engine import DocMeta, QueryError, Scored, SearchEngine
from search.facets import SORTS, Filters, apply_filters, count_facets, sort_items
from search.relevance import above_floor
from search.snippets import make_snippet
from viko.settings import Settings
from web.counterparts import index_counterpart
from web.models import FacetValueModel, HitModel, SearchPage

MAX_OFFSET = 10_000
FACET_VALUES = {"lang": set(LANGS)}


class CachingEncoder:
    """Remembers the vectors of recent single queries: the engine and the relevance floor
    both need the query's vector, and facet clicks repeat the query."""

    def __init__(self, inner: Encoder, size: int = 512) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) != 1:
            return self.inner.encode_queries(texts)
        key = texts[0]
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key][None, :]
        vec = np.asarray(self.inner.encode_queries([key]))[0]
        with self._lock:
            self._cache[key] = vec
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return vec[None, :]

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.encode_passages(texts)


@dataclass(frozen=True)
class Ranked:
    query: str
    qlang: str
    terms: list[str]
    items: list[Scored]


@dataclass(frozen=True)
class SearchRequest:
    q: str
    filters: Filters = field(default_factory=Filters)
    sort: str = "relevance"
    limit: int = 10
    offset: int = 0


def hit_model(engine: SearchEngine, item: Scored, terms: Sequence[str], score: float | None = None) -> HitModel:
    chunk = engine.index.chunks[item.best_row]
    snippet, spans = make_snippet(chunk.text, terms)
    meta = engine.meta.get(item.doc_id, DocMeta())
    return HitModel(id=item.doc_id, lang=item.lang, title=meta.title, score=round(item.score if score is None else score, 4),
                    snippet=snippet, highlights=spans, url=meta.url, type=meta.type, date=meta.date,
                    source=meta.source, counterpart_id=index_counterpart(engine.index, item.doc_id) or "")


class Searcher:
    def __init__(self, settings: Settings, cache_size: int = 256) -> None:
        self.settings = settings
        self._cache_size = cache_size
        self._caches: weakref.WeakKeyDictionary[SearchEngine, OrderedDict[str, Ranked]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def ranked(self, engine: SearchEngine, query: str) -> Ranked:
        """Every candidate above the relevance floor, best first (query already validated)."""
        if not isinstance(engine.encoder, CachingEncoder):
            engine.encoder = CachingEncoder(engine.encoder)
        with self._lock:
            cache = self._caches.setdefault(engine, OrderedDict())
            if query in cache:
                cache.move_to_end(query)
                return cache[query]
        qlang = detect_language(query)
        items, terms = engine.rank(query, qlang, LANGS)
        qvec = engine.encoder.encode_queries([query])[0]
        kept = above_floor(engine.index, items, terms, qvec, qlang, lambda d: index_counterpart(engine.index, d),
                           self.settings.min_dense_evidence, self.settings.min_lexical_evidence)
        ranked = Ranked(query, qlang, terms, kept)
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
