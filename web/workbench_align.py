"""The side-by-side alignment view: which pair, its links, and glossary terms per sentence.

Alignment runs on request through the sentence-embedding cache that `viko align-all` fills,
so a pair aligned before costs only the dynamic programme. A request aligns at most
`web_align_max_sentences` sentences per side: the cost grows with the product of the two
lengths (4,000 x 4,000 sentences took about 1 GB), so longer documents show their opening
and say so; `viko align-all` aligns whole documents offline.
"""

from __future__ import annotations

import threading
from pathlib import Path

from viko.corpus.document import Document
from viko.corpus.glossary import Glossary, open_glossary
from viko.web.workbench_models import AlignmentPage, AlignRow, DocRef, LinkModel, SentenceModel, TermModel
from viko.workbench.align import Alignment, align_sentences, doc_sentences
from viko.workbench.counterparts import get_counterpart
from viko.workbench.sentvec import SentenceEmbedder

from viko.runtime import cached_encoder, open_catalogue
from viko.settings import Settings


class AlignmentService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._embedder: SentenceEmbedder | None = None

    def _align(self, sa: list[str], sb: list[str]) -> Alignment:
        with self._lock:  # the embedder and its cache are not thread-safe
            if self._embedder is None:
                self._embedder = SentenceEmbedder(cached_encoder(self.settings.encoder),
                                                  cache_dir=Path(self.settings.data_dir) / "sentences")
            return Alignment(align_sentences(sa, sb, self._embedder.embed), sa, sb)

    def page(self, a_id: str, b_id: str = "") -> AlignmentPage:
        with open_catalogue(self.settings) as cat:
            a = cat.get(a_id)
            if a is None:
                return AlignmentPage(error=f"no document with id {a_id!r}")
            status, confidence = "given", 1.0
            if not b_id:
                link = get_counterpart(cat, a_id)
                if link is None:
                    return AlignmentPage(a=_ref(a), error=f"{a_id!r} has no counterpart: choose the other document")
                b_id, status, confidence = link.other_id, link.status, link.confidence
            b = cat.get(b_id)
            if b is None:
                return AlignmentPage(a=_ref(a), error=f"no document with id {b_id!r}")
            glossary = Glossary(open_glossary(cat, self.settings.glossary).entries())
        limit = max(1, self.settings.web_align_max_sentences)
        all_a, all_b = doc_sentences(a), doc_sentences(b)
        alignment = self._align(all_a[:limit], all_b[:limit])
        totals = len(all_a), len(all_b)
        cut = ""
        if max(totals) > limit:
            cut = (f"only the first {self.settings.web_align_max_sentences} sentences of each side are aligned here "
                   f"({totals[0]} and {totals[1]} in all): `viko align-all` aligns whole documents")
        return AlignmentPage(a=_ref(a), b=_ref(b), status=status, confidence=confidence, cut=cut,
                             a_total=totals[0], b_total=totals[1],
                             links=[LinkModel(**link.to_json()) for link in alignment.links],  # type: ignore[arg-type]
                             a_sentences=alignment.a_sentences, b_sentences=alignment.b_sentences,
                             rows=_rows(alignment, glossary, a.lang, b.lang))


def _ref(doc: Document) -> DocRef:
    return DocRef(id=doc.id, lang=doc.lang, title=doc.title)


def _sentence(i: int, text: str, lang: str, glossary: Glossary) -> SentenceModel:
    other = "ko" if lang == "vi" else "vi"
    terms = [TermModel(start=m.start, end=m.end, other=m.entry.side(other), note=m.entry.note)
             for m in glossary.lookup(text, lang)]
    return SentenceModel(index=i, text=text, terms=terms)


def _rows(al: Alignment, glossary: Glossary, lang_a: str, lang_b: str) -> list[AlignRow]:
    rows = []
    for link in al.links:
        rows.append(AlignRow(a=[_sentence(i, al.a_sentences[i], lang_a, glossary) for i in link.a],
                             b=[_sentence(j, al.b_sentences[j], lang_b, glossary) for j in link.b],
                             score=round(link.score, 4), kind=f"{len(link.a)}-{len(link.b)}"))
    return rows
