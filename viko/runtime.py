"""Wiring shared by the CLI, the web app and the benchmarks: settings -> live objects."""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from viko.corpus.catalogue import Catalogue
from viko.corpus.counterparts import Counterparts
from viko.indexer.analyze import Analyzer, default_analyzer
from viko.indexer.build import IndexOptions, IndexStats, Progress, update_index
from viko.indexer.encoders import Encoder, load_encoder
from viko.indexer.store import Index, current_generation
from viko.locking import data_lock
from viko.search.engine import DocMeta, SearchEngine
from viko.settings import Settings

log = logging.getLogger("viko")


@lru_cache(maxsize=4)
def cached_encoder(choice: tuple[str, str, int]) -> Encoder:
    """Models load once per process (they take seconds and hundreds of MB), one per
    (spec, device, threads): the caller's `Settings.encoder_choice`, so a Settings object's
    device and thread count are the ones its model runs with."""
    spec, device, threads = choice
    return load_encoder(spec, device=device, threads=threads)


def cached_sentence_encoder(choice: tuple[str, str, int], engine: str) -> Encoder:
    """What align-all embeds sentences with (indexer.encoders.sentence_encoder), loaded once
    per process like the encoder it wraps."""
    return _sentence_encoder(cached_encoder(choice), engine)  # type: ignore[arg-type]


@lru_cache(maxsize=4)
def _sentence_encoder(encoder: Encoder, engine: str) -> Encoder:
    from viko.indexer.encoders import sentence_encoder

    return sentence_encoder(encoder, engine)


def open_catalogue(settings: Settings, readonly: bool = False) -> Catalogue:
    return Catalogue.open(settings.catalogue_path, readonly=readonly)


def run_index(settings: Settings, *, rebuild: bool = False, progress: Progress | None = None) -> IndexStats:
    """The one way to update the index (CLI and admin API): under the data directory's lock,
    so a second run waits `index_lock_wait` seconds, then raises LockBusy."""
    encoder = cached_encoder(settings.encoder_choice)
    with data_lock(settings.data_dir, wait=settings.index_lock_wait), open_catalogue(settings) as cat:
        # Duplicates of another document (syndicated copies) are stored but not indexed.
        from viko.corpus.dedup import indexable_documents
        from viko.corpus.glossary import open_glossary

        # Search reads the catalogue's glossary once it has one: a newer bundled file (or the
        # VIKO_GLOSSARY file) is merged here, not only by the glossary commands and pages.
        open_glossary(cat, settings.glossary)
        docs = indexable_documents(cat)
        options = IndexOptions(chunk_chars=settings.chunk_chars, overlap=settings.chunk_overlap,
                               batch_size=settings.batch_size, max_chunks=settings.max_chunks_per_doc,
                               ann_threshold=settings.ann_threshold, max_segments=settings.max_segments)
        precomputed, preanalysed, on_ray = None, None, 0.0
        if settings.ray_address:  # `viko index --ray`: what this update embeds and analyses is done on Ray first
            from viko.indexer.ray_embed import RayJob, embed_update

            on_ray = time.perf_counter()
            job = RayJob(settings.ray_address, *settings.encoder_choice, batch_size=settings.batch_size)
            precomputed, preanalysed = embed_update(docs, settings.index_root, encoder, options, job,
                                                    Path(settings.data_dir) / "ray", rebuild=rebuild, progress=progress)
            on_ray = time.perf_counter() - on_ray
        stats = update_index(docs, settings.index_root, encoder, default_analyzer(), options,
                             rebuild=rebuild, progress=progress, precomputed=precomputed, preanalysed=preanalysed)
        stats = dataclasses.replace(stats, seconds=stats.seconds + on_ray)  # the summary tells the whole time
        if stats.changed:
            cat.set_meta("indexed_at", current_generation(settings.index_root).name)
            # Counterparts are found here, once per change, never when an index is opened.
            from viko.workbench.pairing import detect_all

            with Index.load(settings.index_root, expect_model=encoder.name) as index:
                detect_all(index, cat)
        remember_glossary_terms(settings)
    return stats


def glossary_terms_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "cache" / "glossary-terms.json"


def remember_glossary_terms(settings: Settings) -> None:
    """The analyses of the glossary's terms, as a query's expansion asks for them
    (search.expansion: each side analysed as the language it is written in), kept in the data
    directory (indexer.analyze.TermsMemo) for one-shot searches, which then load no segmenter
    for them. Only missing ones are computed; a cache, so a failure is only logged. Run by every
    index update, whoever asks for it (CLI, admin API)."""
    from viko.corpus.textnorm import detect_language
    from viko.indexer.analyze import TermsMemo
    from viko.search.expansion import product_glossary

    try:
        with open_catalogue(settings, readonly=True) as cat:
            glossary = product_glossary(cat, settings.glossary)
        memo = TermsMemo(glossary_terms_path(settings))
        for entry in getattr(glossary, "entries", []):
            for text in (entry.vi, entry.ko):
                lang = detect_language(text)
                memo.add(default_analyzer(), text, lang if lang in ("vi", "ko") else "other")
        if not memo.save():
            log.warning("cannot write %s (one-shot searches analyse the glossary terms)", memo.path)
    except Exception as exc:  # the index itself is fine
        log.warning("glossary terms not remembered for one-shot searches: %s", exc)


def load_meta(cat: Catalogue) -> dict[str, DocMeta]:
    return {doc_id: DocMeta(*fields) for doc_id, fields in cat.listing_fields()}


def build_engine(settings: Settings, index: Index | None = None, analyzer: Analyzer | None = None,
                 warm_up: bool = True) -> SearchEngine:
    """`warm_up=False` (a one-shot `viko search`): each analyser loads when a query needs it."""
    encoder = cached_encoder(settings.encoder_choice)
    index = index or Index.load(settings.index_root, expect_model=encoder.name, ef_search=settings.ann_ef_search)
    with open_catalogue(settings, readonly=True) as cat:
        meta = load_meta(cat)
        counterparts = Counterparts.load(cat)
        from viko.search.expansion import product_glossary  # glossary query expansion

        glossary = product_glossary(cat, settings.glossary)
    analyzer = analyzer or default_analyzer()
    if warm_up:
        analyzer.warm_up()
    return SearchEngine(index, encoder, analyzer, meta, params=settings.ranking, glossary=glossary,
                        counterparts=counterparts, max_query_chars=settings.max_query_chars)


class LiveIndex:
    """The one index a process holds, shared by search, the document pages and the alignment
    view: reopened once per new generation that `viko index` publishes (a read of CURRENT per
    call), so the web process never keeps two copies.

    A replaced generation is closed (Index.close: its memory maps and FAISS files let go) as
    soon as nothing uses it any more: no lease is open on it and nobody else holds it (a
    request keeps its engine, and so its index, until it ends; the check counts references,
    which an index free of reference cycles gives exactly). It is made at every get and at the
    end of every lease, so a server that sees a new generation every minute keeps one or two
    open, never hundreds, whether Python's cycle collector runs or not."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._generation = ""
        self._index: Index | None = None
        self._retired: list[Index] = []  # replaced, still in use by someone
        self._leases: dict[int, int] = {}  # id(index) -> open leases

    def generation(self) -> str:
        pointer = Path(self.settings.index_root) / "CURRENT"
        try:
            return pointer.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def get(self) -> Index:
        """The live index; raises UnusableIndex when there is none or it cannot be opened. The
        caller's reference keeps it open: hold it for the request, not across requests."""
        with self._lock:
            index = self._current()
        self.close_unused()
        return index

    @contextmanager
    def lease(self) -> Iterator[Index]:
        """The live index, kept open for the block even if a new generation replaces it meanwhile."""
        with self._lock:
            index = self._current()
            self._leases[id(index)] = self._leases.get(id(index), 0) + 1
        try:
            yield index
        finally:
            with self._lock:
                left = self._leases.pop(id(index)) - 1
                if left:
                    self._leases[id(index)] = left
            del index
            self.close_unused()

    def _current(self) -> Index:
        """Under the lock: the live generation, opened when CURRENT names a new one."""
        gen = self.generation()
        if self._index is None or gen != self._generation:
            encoder = cached_encoder(self.settings.encoder_choice)
            index = Index.load(self.settings.index_root, expect_model=encoder.name,
                               ef_search=self.settings.ann_ef_search)
            if self._index is not None:
                self._retired.append(self._index)
            self._generation, self._index = gen, index
        return self._index

    def close_unused(self) -> int:
        """Close the replaced generations that nothing uses any more; how many stay open."""
        with self._lock:
            for i in range(len(self._retired) - 1, -1, -1):
                if self._leases.get(id(self._retired[i])) or _references(self._retired, i) > _UNUSED:
                    continue
                self._retired.pop(i).close()
            return len(self._retired)

    def close(self) -> None:
        """Close every generation this object opened (the process is done with the index)."""
        with self._lock:
            for index in [*self._retired, *([self._index] if self._index is not None else [])]:
                index.close()
            self._retired.clear()
            self._index, self._generation = None, ""


def _references(items: list[Index], i: int) -> int:
    return sys.getrefcount(items[i])


# What _references counts for an object held by nothing but its list: the interpreter's own
# count, measured the same way, so the test does not depend on how a call passes arguments.
_UNUSED = _references([object()], 0)  # type: ignore[list-item]


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
        self._stamp: str | None = None

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
        live = live_index(self.settings)
        index = live.get()
        stamp = self._catalogue_stamp()
        with self._lock:
            replaced = self._engine is not None and self._engine.index is not index
            if self._engine is None or replaced or stamp != self._stamp:
                self._engine = None  # the replaced engine (and its index) is let go of first
                self._engine = build_engine(self.settings, index=index)
                self._stamp = stamp
            engine = self._engine
        if replaced:  # the replaced generation is closed now unless a request still uses it
            live.close_unused()
        return engine
