"""`viko align-all` (run by `viko index` after every index update): counterparts, sentence
alignment and parallel sentence mining, into the translation memory.

1. Detect counterparts for the documents new or changed since the last run (workbench.pairing).
   The sentences of each document's best candidates are compared here (a claim needs it).
2. Align every confirmed pair and every claimed pair at or above `min_confidence` (a possible
   translation is not aligned: the memory holds translations); a pair
   whose two documents have not changed since its last alignment is kept as it is. Only the
   sentences of these pairs are embedded. Pairs that are no longer counterparts (rejected,
   re-detected, deleted) lose their units.
3. Mine parallel sentences between documents that are not counterparts: each run compares
   at most `mine_max_docs` documents not mined yet (new or changed) with every document mined
   before, so a large corpus is mined over several runs and an interrupted run resumes.

Long runs report each pair's cost (sentences, how many had to be embedded, seconds) and an
estimate of the time left through `progress`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from viko.corpus.catalogue import Catalogue
from viko.corpus.document import Document
from viko.corpus.tm import TranslationMemory, Unit
from viko.indexer.store import Index
from viko.workbench.align import Alignment, AlignParams, align_documents, doc_sentences
from viko.workbench.mining import MineParams, Sentence, mine
from viko.workbench.pairing import all_links, detect_all
from viko.workbench.sentvec import SentenceEmbedder

Progress = Callable[[str], None]
# Default for VIKO_ALIGN_MINE_MAX_DOCS (the settings row): ~20 sentences a document, so about
# 40k sentence vectors (60 MB) per run; the rest waits for the next run.
MINE_MAX_DOCS = 2000


@dataclass(frozen=True)
class AlignAllStats:
    counterparts: int
    rematched: int
    pairs: int
    aligned: int
    kept: int
    dropped: int
    units: int
    mined: int
    mined_docs: int
    mine_pending: int
    seconds: float

    def summary(self) -> str:
        later = f", {self.mine_pending} documents left to mine next run" if self.mine_pending else ""
        return (f"translation memory: {self.pairs} document pairs ({self.aligned} aligned, {self.kept} "
                f"unchanged, {self.dropped} dropped), {self.units} aligned units, {self.mined} mined "
                f"sentence pairs from {self.mined_docs} documents{later}; {self.counterparts} counterpart "
                f"pairs ({self.rematched} documents re-matched) in {self.seconds:.1f}s")


def alignment_units(vi_doc: str, ko_doc: str, alignment: Alignment) -> list[Unit]:
    return [Unit(vi=vi, ko=ko, origin="aligned", score=link.score, vi_doc=vi_doc, ko_doc=ko_doc,
                 vi_sents=link.a, ko_sents=link.b) for link, vi, ko in alignment.pairs()]


def align_pair(cat: Catalogue, vi: Document, ko: Document, embedder: SentenceEmbedder,
               params: AlignParams | None = None) -> int:
    """Align one pair now and store its units; returns how many."""
    alignment = align_documents(vi, ko, embedder.embed, params)
    units = alignment_units(vi.id, ko.id, alignment)
    return TranslationMemory(cat).store_alignment(vi.id, ko.id, (vi.content_hash, ko.content_hash), units)


class _Eta:
    """Seconds left, from the mean cost of the items done so far."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.started = total, 0, time.perf_counter()

    def step(self) -> str:
        self.done += 1
        spent = time.perf_counter() - self.started
        left = spent / self.done * (self.total - self.done)
        return f"[{self.done}/{self.total}, ETA {left:.0f}s]"


def align_all(cat: Catalogue, index: Index, embedder: SentenceEmbedder, *, min_confidence: float = 0.5,
              params: AlignParams | None = None, mining: MineParams | None = None,
              do_mine: bool = True, mine_max_docs: int = MINE_MAX_DOCS,
              progress: Progress | None = None) -> AlignAllStats:
    started = time.perf_counter()
    say = progress or (lambda _line: None)
    # Counterparts compared sentence by sentence (claims need it): the embedder is here.
    detected = detect_all(index, cat, embed=embedder.embed)
    say(detected.summary())
    pairs = all_links(cat, min_confidence)
    docs = cat.get_many([d for vi, ko, _ in pairs for d in (vi, ko)])
    tm = TranslationMemory(cat)
    done = tm.aligned_pairs()
    todo = [(docs[vi], docs[ko]) for vi, ko, _ in pairs if vi in docs and ko in docs
            and done.get((vi, ko)) != (docs[vi].content_hash, docs[ko].content_hash)]
    kept = sum(1 for vi, ko, _ in pairs if vi in docs and ko in docs) - len(todo)
    units = 0
    eta = _Eta(len(todo))
    for vi, ko in todo:
        t0, before = time.perf_counter(), embedder.embedded
        n = align_pair(cat, vi, ko, embedder, params)
        units += n
        say(f"aligned {vi.id} <-> {ko.id}: {n} units, {embedder.embedded - before} sentences embedded, "
            f"{time.perf_counter() - t0:.2f}s {eta.step()}")
    wanted = {(vi, ko) for vi, ko, _ in pairs}
    stale = [p for p in done if p not in wanted]
    tm.drop_pairs(stale)
    mined = mined_docs = pending = 0
    if do_mine:
        mined, mined_docs, pending = mine_corpus(cat, embedder, wanted, mining, max_docs=mine_max_docs, progress=say)
    embedder.save()
    return AlignAllStats(detected.links, detected.rematched, len(pairs), len(todo), kept, len(stale), units,
                         mined, mined_docs, pending, time.perf_counter() - started)


def mine_corpus(cat: Catalogue, embedder: SentenceEmbedder, exclude: set[tuple[str, str]],
                params: MineParams | None = None, *, max_docs: int = MINE_MAX_DOCS,
                progress: Progress | None = None) -> tuple[int, int, int]:
    """Mine the documents not mined yet (at most max_docs) against all mined before them.
    Returns (units found, documents mined, documents left for the next run)."""
    tm = TranslationMemory(cat)
    before = tm.mined_docs()
    langs = cat.langs()
    hashes = {d: h for d, h in cat.hashes().items() if langs.get(d) in ("vi", "ko")}
    gone = [d for d in before if d not in hashes]
    waiting = sorted(d for d, h in hashes.items() if before.get(d) != h)
    batch = set(waiting[:max_docs])
    if not batch and not gone:
        return 0, 0, 0
    t0, embedded = time.perf_counter(), embedder.embedded
    compared = [d for d in hashes if d in batch or (d in before and before[d] == hashes[d])]
    sents: dict[str, list[Sentence]] = {"vi": [], "ko": []}
    for doc in cat.get_many(compared).values():
        if doc.lang in sents:
            sents[doc.lang] += [Sentence(doc.id, i, s) for i, s in enumerate(doc_sentences(doc))]
    found = mine(sents["vi"], sents["ko"], embedder.embed, params, exclude, only=batch) if batch else []
    units = [Unit(vi=p.vi.text, ko=p.ko.text, origin="mined", score=p.margin, vi_doc=p.vi.doc_id,
                  ko_doc=p.ko.doc_id, vi_sents=(p.vi.index,), ko_sents=(p.ko.index,)) for p in found]
    n = tm.store_mined({d: hashes[d] for d in batch}, units, forget=gone)
    if progress is not None:
        progress(f"mined {len(batch)} documents against {len(compared) - len(batch)} mined before: {n} sentence "
                 f"pairs, {embedder.embedded - embedded} sentences embedded, {time.perf_counter() - t0:.1f}s"
                 + (f"; {len(waiting) - len(batch)} documents left for the next run" if len(waiting) > len(batch) else ""))
    return n, len(batch), len(waiting) - len(batch)
