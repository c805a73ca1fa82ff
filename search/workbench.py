"""`viko align-all` (run by `viko index` after every index update): counterparts, sentence
alignment and parallel sentence mining, into the translation memory.

1. Detect counterparts over the indexed documents (content + features), store them.
2. Align every confirmed pair and every detected pair at or above `min_confidence`; a pair
   whose two documents have not changed since its last alignment is kept as it is.
   Pairs that are no longer counterparts (rejected, re-detected, deleted) lose their units.
3. Mine parallel sentences between documents that are not counterparts (replaces the
   previous mined units).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from corpus.catalogue import Catalogue, utcnow
from corpus.document import Document
from corpus.tm import TranslationMemory, Unit
from indexer.store import Index
from search.align import Alignment, AlignParams, align_documents, doc_sentences
from search.bitext import MineParams, Sentence, mine
from search.counterpart import all_links, detect_all
from search.sentvec import SentenceEmbedder


@dataclass(frozen=True)
class AlignAllStats:
    counterparts: int
    pairs: int
    aligned: int
    kept: int
    dropped: int
    units: int
    mined: int
    seconds: float

    def summary(self) -> str:
        return (f"translation memory: {self.pairs} document pairs ({self.aligned} aligned, {self.kept} "
                f"unchanged, {self.dropped} dropped), {self.units} aligned units, {self.mined} mined "
                f"sentence pairs in {self.seconds:.1f}s")


def alignment_units(vi_doc: str, ko_doc: str, alignment: Alignment) -> list[Unit]:
    return [Unit(vi=vi, ko=ko, origin="aligned", score=link.score, vi_doc=vi_doc, ko_doc=ko_doc,
                 vi_sents=link.a, ko_sents=link.b) for link, vi, ko in alignment.pairs()]


def align_pair(cat: Catalogue, vi: Document, ko: Document, embedder: SentenceEmbedder,
               params: AlignParams | None = None) -> int:
    """Align one pair now and store its units; returns how many."""
    alignment = align_documents(vi, ko, embedder.embed, params)
    units = alignment_units(vi.id, ko.id, alignment)
    TranslationMemory(cat).replace_pair(vi.id, ko.id, units)
    score = sum(u.score for u in units) / len(units) if units else 0.0
    with cat.conn:
        cat.conn.execute("INSERT OR REPLACE INTO aligned_pairs (vi_doc, ko_doc, vi_hash, ko_hash, links,"
                         " score, aligned_at) VALUES (?,?,?,?,?,?,?)",
                         (vi.id, ko.id, vi.content_hash, ko.content_hash, len(units), score, utcnow()))
    return len(units)


def align_all(cat: Catalogue, index: Index, embedder: SentenceEmbedder, *, min_confidence: float = 0.5,
              params: AlignParams | None = None, mining: MineParams | None = None,
              do_mine: bool = True) -> AlignAllStats:
    started = time.perf_counter()
    found = detect_all(index, cat)
    pairs = all_links(index, cat, min_confidence)
    docs = cat.get_many([d for vi, ko, _ in pairs for d in (vi, ko)])
    done = {(r[0], r[1]): (r[2], r[3]) for r in cat.conn.execute(
        "SELECT vi_doc, ko_doc, vi_hash, ko_hash FROM aligned_pairs")}
    aligned = kept = units = 0
    for vi_id, ko_id, _ in pairs:
        vi, ko = docs.get(vi_id), docs.get(ko_id)
        if vi is None or ko is None:
            continue
        if done.get((vi_id, ko_id)) == (vi.content_hash, ko.content_hash):
            kept += 1
            continue
        units += align_pair(cat, vi, ko, embedder, params)
        aligned += 1
    wanted = {(vi, ko) for vi, ko, _ in pairs}
    stale = [p for p in done if p not in wanted]
    with cat.conn:
        for vi_id, ko_id in stale:
            cat.conn.execute("DELETE FROM tm_units WHERE origin='aligned' AND vi_doc=? AND ko_doc=?", (vi_id, ko_id))
            cat.conn.execute("DELETE FROM aligned_pairs WHERE vi_doc=? AND ko_doc=?", (vi_id, ko_id))
    mined = mine_corpus(cat, embedder, wanted, mining) if do_mine else 0
    embedder.save()
    return AlignAllStats(len(found) // 2, len(pairs), aligned, kept, len(stale), units, mined,
                         time.perf_counter() - started)


def mine_corpus(cat: Catalogue, embedder: SentenceEmbedder, exclude: set[tuple[str, str]],
                params: MineParams | None = None) -> int:
    """Replace the mined units with a fresh mining run over all documents."""
    sents: dict[str, list[Sentence]] = {"vi": [], "ko": []}
    for lang in sents:
        for doc in cat.iter_documents(lang):
            sents[lang] += [Sentence(doc.id, i, s) for i, s in enumerate(doc_sentences(doc))]
    found = mine(sents["vi"], sents["ko"], embedder.embed, params, exclude)
    units = [Unit(vi=p.vi.text, ko=p.ko.text, origin="mined", score=p.margin, vi_doc=p.vi.doc_id,
                  ko_doc=p.ko.doc_id, vi_sents=(p.vi.index,), ko_sents=(p.ko.index,)) for p in found]
    tm = TranslationMemory(cat)
    with cat.conn:
        cat.conn.execute("DELETE FROM tm_units WHERE origin='mined'")
        return tm.add_many(units)
