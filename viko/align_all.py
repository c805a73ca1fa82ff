"""Wiring of the translators' workbench: settings -> sentence embedder, align-all run, and
`index_and_align`, the one function that does what `viko index` does (index, then align-all).
Shared by the CLI (`viko align-all`, `viko index`), the web app and the benchmarks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from viko.indexer.build import IndexStats, Progress
from viko.settings import Settings
from viko.workbench.runner import AlignAllStats
from viko.workbench.sentvec import SentenceEmbedder

ALIGN_LOCK = "align.lock"


def sentence_embedder(settings: Settings) -> SentenceEmbedder:
    """Align-all's sentence vectors, from the engine `align_engine` names (encoder, int8 or auto)."""
    from viko.runtime import cached_sentence_encoder

    return SentenceEmbedder(cached_sentence_encoder(settings.encoder_choice, settings.align_engine),
                            cache_dir=Path(settings.data_dir) / "sentences")


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

    encoder = cached_encoder(settings.encoder_choice)
    with data_lock(settings.data_dir, wait=settings.index_lock_wait, name=ALIGN_LOCK, what="`viko align-all`"), \
            open_catalogue(settings) as cat, Index.load(settings.index_root, expect_model=encoder.name) as index:
        return align_all(cat, index, sentence_embedder(settings), min_confidence=settings.align_min_confidence,
                         do_mine=bool(settings.align_mine) if do_mine is None else do_mine,
                         mine_max_docs=settings.align_mine_max_docs, progress=progress)


@dataclass(frozen=True)
class IndexRun:
    """What `viko index` did: the index update, then align-all (None when it failed: `align_error`
    says why, and the new index stays live)."""

    index: IndexStats
    align: AlignAllStats | None
    align_error: str = ""

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {k: v for k, v in vars(self.index).items() if isinstance(v, int | float | str | bool)}
        out["summary"] = self.index.summary()
        out["alignment"] = self.align.summary() if self.align is not None else ""
        out["alignment_error"] = self.align_error
        return out


def index_and_align(settings: Settings, *, rebuild: bool = False, progress: Progress | None = None,
                    on_indexed: Callable[[IndexStats], None] | None = None,
                    align_progress: Callable[[str], None] | None = None) -> IndexRun:
    """Everything `viko index` does, for every caller (the CLI's `index`, `add --index` and
    `crawl --index`, and the admin API): bring the index up to date (viko.runtime.run_index:
    under the index lock, LockBusy when another run holds it; any failure is raised and the
    previous index stays live), then counterparts, alignment and mining with the settings'
    choices (run_align_all). An alignment failure is returned, never raised: the new index is
    live whatever happens after it. `on_indexed` hears of the index update before alignment
    starts (the CLI prints it)."""
    from viko.runtime import run_index

    stats = run_index(settings, rebuild=rebuild, progress=progress)
    if on_indexed is not None:
        on_indexed(stats)
    try:
        return IndexRun(stats, run_align_all(settings, progress=align_progress))
    except Exception as exc:  # the index itself succeeded: say so and go on
        return IndexRun(stats, None, str(exc) or type(exc).__name__)
