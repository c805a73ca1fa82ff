"""Wiring shared by the CLI, the web app and the benchmarks: settings -> live objects."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from corpus.catalogue import Catalogue
from corpus.counterparts import Counterparts
from indexer.analyze import Analyzer, default_analyzer
from indexer.build import IndexStats, Progress, update_index
from indexer.encoders import Encoder, load_encoder
from indexer.store import Index, current_generation
from search.engine import DocMeta, SearchEngine
from viko.settings import Settings


@lru_cache(maxsize=4)
def cached_encoder(spec: str) -> Encoder:
    """Models load once per process (they take seconds and hundreds of MB)."""
    return load_encoder(spec)


def open_catalogue(settings: Settings, readonly: bool = False) -> Catalogue:
    return Catalogue.open(settings.catalogue_path, readonly=readonly)


def run_index(settings: Settings, *, rebuild: bool = False, progress: Progress | None = None) -> IndexStats:
    encoder = cached_encoder(settings.encoder)
    with open_catalogue(settings) as cat:
        # Duplicates of another document (syndicated copies) are stored but not indexed.
        from corpus.dedup import indexable_documents

        docs = indexable_documents(cat)
        stats = update_index(docs, settings.index_root, encoder, default_analyzer(),
                             chunk_chars=settings.chunk_chars, overlap=settings.chunk_overlap,
                             batch_size=settings.batch_size, rebuild=rebuild, progress=progress,
                             max_chunks=settings.max_chunks_per_doc)
        if stats.changed:
            cat.set_meta("indexed_at", current_generation(settings.index_root).name)
            # Counterparts are found here, once per change, never when an index is opened.
            from search.counterpart import detect_all

            detect_all(Index.load(settings.index_root, expect_model=encoder.name), cat)
    return stats


def load_meta(cat: Catalogue) -> dict[str, DocMeta]:
    rows = cat.conn.execute("SELECT id, title, url, type, date, source FROM documents")
    return {r["id"]: DocMeta(r["title"], r["url"], r["type"], r["date"], r["source"]) for r in rows}


def build_engine(settings: Settings, index: Index | None = None, analyzer: Analyzer | None = None) -> SearchEngine:
    encoder = cached_encoder(settings.encoder)
    index = index or Index.load(settings.index_root, expect_model=encoder.name)
    with open_catalogue(settings, readonly=True) as cat:
        meta = load_meta(cat)
        counterparts = Counterparts.load(cat)
        from search.expansion import product_glossary  # issue 3: glossary query expansion

        glossary = product_glossary(cat, settings.glossary)
    analyzer = analyzer or default_analyzer()
    analyzer.warm_up()
    return SearchEngine(index, encoder, analyzer, meta,
                        candidates=settings.candidates, dense_weight=settings.dense_weight,
                        lexical_weight=settings.lexical_weight, bridge_weight=settings.bridge_weight,
                        max_query_chars=settings.max_query_chars, glossary=glossary,
                        min_dense_evidence=settings.min_dense_evidence,
                        min_lexical_evidence=settings.min_lexical_evidence, counterparts=counterparts)


class LiveEngine:
    """An engine that follows the data directory: when `viko index` publishes a new
    generation (or the catalogue changes), the next request sees it. A stat per call."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._engine: SearchEngine | None = None
        self._stamp: tuple[str, str] | None = None

    def _current_stamp(self) -> tuple[str, str]:
        pointer = Path(self.settings.index_root) / "CURRENT"
        gen = pointer.read_text(encoding="utf-8").strip() if pointer.exists() else ""
        cat = self.settings.catalogue_path
        wal = cat.with_name(cat.name + "-wal")
        mtimes = []
        for path in (cat, wal):
            try:
                mtimes.append(path.stat().st_mtime_ns)
            except OSError:  # SQLite removes the WAL file at checkpoints, between any two calls
                continue
        return gen, str(max(mtimes, default=0))

    def get(self) -> SearchEngine:
        stamp = self._current_stamp()
        with self._lock:
            if self._engine is None or stamp != self._stamp:
                index = None
                if self._engine is not None and stamp[0] == (self._stamp or ("", ""))[0]:
                    index = self._engine.index  # only the catalogue changed
                self._engine = build_engine(self.settings, index=index)
                self._stamp = stamp
            return self._engine
