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

Embedding the sentences is nearly all of the cost, so it is done ahead, in long batches of
similar lengths (SentenceEmbedder.prefetch): in step 1, the sentences of the candidate pairs
detection reads (workbench.evidence.verify), then the sentences joined with the next of those
whose 1-1 alignment makes them worth it, and of those only where a sentence does not settle
1-1 (workbench.align.joins_needed: joined sentences are most of the tokens, and a
translation's sentences mostly settle); before step 2, the same for the pairs to align;
before step 3, the sentences mining takes. The texts embedded are those the steps would
embed pair by pair, so are the results, up to the rounding by which a bf16 vector depends on
the batch it ran in (bench `endtoend`).

Long runs report the embedding's progress, each pair's cost (sentences, how many had to be
embedded, seconds) and an estimate of the time left through `progress`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

from viko.corpus.catalogue import Catalogue
from viko.corpus.document import Document
from viko.corpus.tm import TranslationMemory, Unit
from viko.indexer.store import Index
from viko.workbench.align import Alignment, AlignParams, align_documents, doc_sentences, joined_texts
from viko.workbench.mining import MinedPair, MineParams, Sentence, minable, mine
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
    plan = _MinePlan.of(cat, mine_max_docs) if do_mine else None
    # Counterparts compared sentence by sentence (claims need it): the embedder is here.
    detected = detect_all(index, cat, embed=embedder.embed,
                          ahead=_ahead(embedder, say, "sentences of the candidate pairs worth reading"))
    embedder.save()  # an interrupted run keeps what cost most
    say(detected.summary())
    pairs = all_links(cat, min_confidence)
    docs = cat.get_many([d for vi, ko, _ in pairs for d in (vi, ko)])
    tm = TranslationMemory(cat)
    done = tm.aligned_pairs()
    todo = [(docs[vi], docs[ko]) for vi, ko, _ in pairs if vi in docs and ko in docs
            and done.get((vi, ko)) != (docs[vi].content_hash, docs[ko].content_hash)]
    kept = sum(1 for vi, ko, _ in pairs if vi in docs and ko in docs) - len(todo)
    sides = [(doc_sentences(vi), doc_sentences(ko)) for vi, ko in todo]
    _ahead(embedder, say, f"sentences of {len(todo)} document pairs to align")([t for a, b in sides for t in a + b])
    _ahead(embedder, say, f"joined sentences of {len(todo)} document pairs to align")(
        [t for a, b in sides for t in joined_texts(a, b, embedder.embed, params)])
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
    if plan is not None:
        mined, mined_docs, pending = mine_corpus(cat, embedder, wanted, mining, max_docs=mine_max_docs,
                                                 progress=say, plan=plan)
    embedder.save()
    return AlignAllStats(detected.links, detected.rematched, len(pairs), len(todo), kept, len(stale), units,
                         mined, mined_docs, pending, time.perf_counter() - started)


def _ahead(embedder: SentenceEmbedder, say: Progress, what: str) -> Callable[[Sequence[str]], int]:
    """Embeds a step's texts ahead (SentenceEmbedder.prefetch) and says what it cost."""
    def embed_ahead(texts: Sequence[str]) -> int:
        started = time.perf_counter()
        done = embedder.prefetch(texts, _prefetch_progress(say, what))
        if done:
            say(f"embedded {done} {what} ahead in {time.perf_counter() - started:.1f}s")
        return done
    return embed_ahead


def _prefetch_progress(say: Progress, group: str) -> Callable[[int, int, float], None]:
    started = time.perf_counter()

    def heard(done: int, todo: int, share: float) -> None:
        spent = time.perf_counter() - started
        say(f"embedding sentences ahead ({group}): {done}/{todo}, {spent:.0f}s "
            f"[ETA {spent * (1 - share) / max(share, 1e-9):.0f}s]")
    return heard


@dataclass(frozen=True)
class _MinePlan:
    """Which documents a mining run takes: `batch` (not mined yet, at most max_docs) against
    every document mined before whose text has not changed since."""

    hashes: dict[str, str]
    before: dict[str, str]
    waiting: list[str]
    batch: frozenset[str]

    @classmethod
    def of(cls, cat: Catalogue, max_docs: int) -> _MinePlan:
        before = TranslationMemory(cat).mined_docs()
        langs = cat.langs()
        hashes = {d: h for d, h in cat.hashes().items() if langs.get(d) in ("vi", "ko")}
        waiting = sorted(d for d, h in hashes.items() if before.get(d) != h)
        return cls(hashes, before, waiting, frozenset(waiting[:max_docs]))

    def gone(self) -> list[str]:
        return [d for d in self.before if d not in self.hashes]

    def compared(self) -> list[str]:
        return [d for d in self.hashes if d in self.batch or self.before.get(d) == self.hashes[d]]


def mine_corpus(cat: Catalogue, embedder: SentenceEmbedder, exclude: set[tuple[str, str]],
                params: MineParams | None = None, *, max_docs: int = MINE_MAX_DOCS,
                progress: Progress | None = None, plan: _MinePlan | None = None) -> tuple[int, int, int]:
    """Mine the documents not mined yet (at most max_docs) against all mined before them.
    Returns (units found, documents mined, documents left for the next run)."""
    tm = TranslationMemory(cat)
    plan = plan or _MinePlan.of(cat, max_docs)
    batch, gone, waiting = plan.batch, plan.gone(), plan.waiting
    if not batch and not gone:
        return 0, 0, 0
    t0, embedded = time.perf_counter(), embedder.embedded
    compared = plan.compared()
    ahead = _ahead(embedder, progress or (lambda _line: None), f"sentences of {len(compared)} documents to mine")
    found = _mine_docs(cat, compared, embedder, params, exclude, batch, ahead) if batch else []
    units = [Unit(vi=p.vi.text, ko=p.ko.text, origin="mined", score=p.margin, vi_doc=p.vi.doc_id,
                  ko_doc=p.ko.doc_id, vi_sents=(p.vi.index,), ko_sents=(p.ko.index,)) for p in found]
    n = tm.store_mined({d: plan.hashes[d] for d in batch}, units, forget=gone)
    if progress is not None:
        progress(f"mined {len(batch)} documents against {len(compared) - len(batch)} mined before: {n} sentence "
                 f"pairs, {embedder.embedded - embedded} sentences embedded, {time.perf_counter() - t0:.1f}s"
                 + (f"; {len(waiting) - len(batch)} documents left for the next run" if len(waiting) > len(batch) else ""))
    return n, len(batch), len(waiting) - len(batch)


def _mine_docs(cat: Catalogue, compared: Iterable[str], embedder: SentenceEmbedder, params: MineParams | None,
               exclude: set[tuple[str, str]], batch: Collection[str],
               ahead: Callable[[Sequence[str]], int]) -> list[MinedPair]:
    sents: dict[str, list[Sentence]] = {"vi": [], "ko": []}
    kinds: dict[str, str] = {}
    for doc in cat.get_many(list(compared)).values():
        if doc.lang in sents:
            sents[doc.lang] += [Sentence(doc.id, i, s) for i, s in enumerate(doc_sentences(doc))]
            kinds[doc.id] = doc.type
    vi, ko = minable(sents["vi"], sents["ko"], params)  # mine() keeps these as they are
    ahead([s.text for s in vi + ko])
    return mine(vi, ko, embedder.embed, params, exclude, only=batch, kinds=kinds)
