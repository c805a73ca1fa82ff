"""Wiring of the translators' workbench: settings -> sentence embedder, align-all run.
Shared by the CLI (`viko align-all`, `viko index`), the web app and the benchmarks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from viko.settings import Settings
from viko.workbench.runner import AlignAllStats
from viko.workbench.sentvec import SentenceEmbedder

ALIGN_LOCK = "align.lock"


def sentence_embedder(settings: Settings) -> SentenceEmbedder:
    from viko.runtime import cached_encoder

    return SentenceEmbedder(cached_encoder(settings.encoder), cache_dir=Path(settings.data_dir) / "sentences")


def run_align_all(settings: Settings, *, do_mine: bool | None = None,
                  progress: Callable[[str], None] | None = None) -> AlignAllStats:
    """Counterparts, alignment and mining over the live index (what `viko index` runs after).
    One run at a time per data directory, under a lock of its own (indexing may go on): two
    `viko index` started close together each ran align-all, and both mined all 577 documents
    of a test collection because neither saw the other's work yet. A second run waits
    `index_lock_wait` seconds, then raises LockBusy."""
    from viko.indexer.store import Index
    from viko.locking import data_lock
    from viko.runtime import cached_encoder, open_catalogue
    from viko.workbench.runner import align_all

    encoder = cached_encoder(settings.encoder)
    with data_lock(settings.data_dir, wait=settings.index_lock_wait, name=ALIGN_LOCK, what="`viko align-all`"), \
            open_catalogue(settings) as cat:
        index = Index.load(settings.index_root, expect_model=encoder.name)
        return align_all(cat, index, sentence_embedder(settings), min_confidence=settings.align_min_confidence,
                         do_mine=bool(settings.align_mine) if do_mine is None else do_mine,
                         mine_max_docs=settings.align_mine_max_docs, progress=progress)
