"""Wiring shared by the CLI, the web app and the benchmarks: settings -> live objects."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from viko.corpus.catalogue import Catalogue
from viko.corpus.counterparts import Counterparts
from viko.indexer.analyze import Analyzer, default_analyzer
from viko.indexer.build import IndexStats, Progress, update_index
from viko.indexer.encoders import Encoder, load_encoder
from viko.indexer.store import Index, current_generation
from viko.locking import data_lock
from viko.search.engine import DocMeta, SearchEngine
from viko.settings import Settings


@lru_cache(maxsize=4)
def cached_encoder(spec: str) -> Encoder:
    """Models load once per process (they take seconds and hundreds of MB).

    The device and thread count are the process's (VIKO_DEVICE, VIKO_ENCODE_THREADS): every
    caller shares one model whatever Settings object it holds."""
    env = Settings.from_env()
    return load_encoder(spec, device=env.device, threads=env.encode_threads)


def open_catalogue(settings: Settings, readonly: bool = False) -> Catalogue:
    return Catalogue.open(settings.catalogue_path, readonly=readonly)


def run_index(settings: Settings, *, rebuild: bool = False, progress: Progress | None = None) -> IndexStats:
    """The one way to update the index (CLI and admin API): under the data directory's lock,
    so a second run waits `index_lock_wait` seconds, then raises LockBusy."""
    encoder = cached_encoder(settings.encoder)
    with data_lock(settings.data_dir, wait=settings.index_lock_wait), open_catalogue(settings) as cat:
        # Duplicates of another document (syndicated copies) are stored but not indexed.
        from viko.corpus.dedup import indexable_documents
        from viko.corpus.glossary import open_glossary

        # Search reads the catalogue's glossary once it has one: a newer bundled file (or the
        # VIKO_GLOSSARY file) is merged here, not only by the glossary commands and pages.
        open_glossary(cat, settings.glossary)
        docs = indexable_documents(cat)
        stats = update_index(docs, settings.index_root, encoder, default_analyzer(),
                             chunk_chars=settings.chunk_chars, overlap=settings.chunk_overlap,
                             batch_size=settings.batch_size, rebuild=rebuild, progress=progress,
                             max_chunks=settings.max_chunks_per_doc, ann_threshold=settings.ann_threshold,
                             max_segments=settings.max_segments)
        if stats.changed:
            cat.set_meta("indexed_at", current_generation(settings.index_root).name)
            # Counterparts are found here, once per change, never when an index is opened.
            from viko.workbench.counterparts import detect_all

            detect_all(Index.load(settings.index_root, expect_model=encoder.name), cat)
    return stats


def load_meta(cat: Catalogue) -> dict[str, DocMeta]:
    return {doc_id: DocMeta(*fields) for doc_id, fields in cat.listing_fields()}


def build_engine(settings: Settings, index: Index | None = None, analyzer: Analyzer | None = None) -> SearchEngine:
    encoder = cached_encoder(settings.encoder)
    index = index or Index.load(settings.index_root, expect_model=encoder.name, ef_search=settings.ann_ef_search)
    with open_catalogue(settings, readonly=True) as cat:
        meta = load_meta(cat)
        counterparts = Counterparts.load(cat)
        from viko.search.expansion import product_glossary  # glossary query expansion

        glossary = product_glossary(cat, settings.glossary)
    analyzer = analyzer or default_analyzer()
    analyzer.warm_up()
    return SearchEngine(index, encoder, analyzer, meta,
                        candidates=settings.candidates, dense_weight=settings.dense_weight,
                        lexical_weight=settings.lexical_weight, bridge_weight=settings.bridge_weight,
                        max_query_chars=settings.max_query_chars, glossary=glossary,
                        min_dense_evidence=settings.min_dense_evidence,
                        min_lexical_evidence=settings.min_lexical_evidence, counterparts=counterparts)


class LiveIndex:
    """The one index a process holds, shared by search, the document pages and the alignment
    view: reopened once per new generation that `viko index` publishes (a read of CURRENT per
    call), so the web process never keeps two copies."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._loaded: tuple[str, Index | None] = ("", None)

    def generation(self) -> str:
        pointer = Path(self.settings.index_root) / "CURRENT"
        try:
            return pointer.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def get(self) -> Index:
        """The live index; raises UnusableIndex when there is none or it cannot be opened."""
        gen = self.generation()
        with self._lock:
            if self._loaded[1] is None or gen != self._loaded[0]:
                encoder = cached_encoder(self.settings.encoder)
                index = Index.load(self.settings.index_root, expect_model=encoder.name,
                                   ef_search=self.settings.ann_ef_search)
                self._loaded = (gen, index)
            assert self._loaded[1] is not None
            return self._loaded[1]


_LIVE: dict[tuple[str, str], LiveIndex] = {}
_LIVE_LOCK = threading.Lock()


def live_index(settings: Settings) -> LiveIndex:
    """The process-wide LiveIndex of a data directory."""
    key = (str(Path(settings.index_root).resolve()), settings.encoder)
    with _LIVE_LOCK:
        if key not in _LIVE:
            _LIVE[key] = LiveIndex(settings)
        return _LIVE[key]


class LiveEngine:
    """An engine that follows the data directory: when `viko index` publishes a new
    generation (or the catalogue changes), the next request sees it. A stat per call."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._engine: SearchEngine | None = None
        self._stamp: tuple[int, str] | None = None

    def _catalogue_stamp(self) -> str:
        cat = self.settings.catalogue_path
        wal = cat.with_name(cat.name + "-wal")
        mtimes = []
        for path in (cat, wal):
            try:
                mtimes.append(path.stat().st_mtime_ns)
            except OSError:  # SQLite removes the WAL file at checkpoints, between any two calls
                continue
        return str(max(mtimes, default=0))

    def get(self) -> SearchEngine:
        index = live_index(self.settings).get()
        stamp = (id(index), self._catalogue_stamp())
        with self._lock:
            if self._engine is None or stamp != self._stamp:
                self._engine = build_engine(self.settings, index=index)
                self._stamp = stamp
            return self._engine
