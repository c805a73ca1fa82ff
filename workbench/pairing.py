"""Pairing the indexed corpus: the detected counterpart links kept current, and the pairs to align.

`detect_all` is what `viko index` / `viko align-all` run: it matches the documents that are new
or changed since its last run (and the partners that lost their link because of them) with
the feature detector of workbench.detect, and stores the links in the catalogue
(corpus.counterparts, which also keeps the translators' decisions and answers every reader).
`all_links` lists the pairs the aligner takes. Opening an index computes nothing: readers get
`Counterparts.load(catalogue)`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from viko.corpus.catalogue import Catalogue
from viko.corpus.counterparts import Counterpart, Counterparts, CounterpartStore
from viko.corpus.document import Document
from viko.indexer.store import Index
from viko.workbench.align import doc_sentences
from viko.workbench.detect import DocInfo, FeatureWeights, assign, doc_info, score_candidates
from viko.workbench.evidence import Ahead, ClaimParams, Embed, verify

__all__ = ["DetectStats", "all_links", "detect_all", "detect_documents"]

RATIO_KEY = "counterparts_typical_ratio"
LANG_PAIR = ("vi", "ko")


@dataclass(frozen=True)
class DetectStats:
    documents: int   # vi and ko documents in the index
    rematched: int   # of which matched in this run (new, changed, or lost their partner)
    links: int       # detected pairs stored after the run

    def summary(self) -> str:
        return f"{self.links} counterpart pairs ({self.rematched} of {self.documents} documents re-matched)"


def all_links(cat: Catalogue, min_confidence: float = 0.0) -> list[tuple[str, str, Counterpart]]:
    """Every (vi_id, ko_id, link) pair to align: confirmed pairs, plus claimed pairs (detected
    translations, see Counterpart.claimed) at or above min_confidence that no decision
    rejects or overrides. A possible translation is never aligned: the memory holds
    translations only."""
    lookup = Counterparts.load(cat)
    langs = cat.langs()
    out = []
    for link in sorted(lookup, key=lambda c: c.doc_id):
        if langs.get(link.doc_id) != "vi" or langs.get(link.other_id) != "ko":
            continue
        if not link.claimed or (link.status != "confirmed" and link.confidence < min_confidence):
            continue
        back = lookup.get(link.other_id)
        if back is None or back.other_id != link.doc_id:
            continue
        out.append((link.doc_id, link.other_id, link))
    return out


class _LazyInfos(Mapping[str, DocInfo]):
    """Document features read from the catalogue when the detector first asks (an incremental
    run looks at the changed documents and their neighbours only)."""

    def __init__(self, cat: Catalogue, ids: list[str]) -> None:
        self.cat, self.ids, self._cache = cat, ids, dict[str, DocInfo]()

    def __getitem__(self, doc_id: str) -> DocInfo:
        if doc_id not in self._cache:
            doc = self.cat.get(doc_id)
            if doc is None:
                raise KeyError(doc_id)
            self._cache[doc_id] = info_of(doc)
        return self._cache[doc_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)


def info_of(doc: Document) -> DocInfo:
    return doc_info(doc.id, doc.lang, (doc.title + "\n" + doc.text) if doc.title else doc.text, doc.date, doc.type)


def _vectors(index: Index, ids: list[str]) -> np.ndarray:
    vecs = [index.doc_vector(d) for d in ids]
    dim = int(index.doc_matrix.shape[1]) if index.doc_matrix.ndim == 2 else 0
    return np.stack(vecs).astype(np.float32) if vecs else np.zeros((0, dim), np.float32)  # type: ignore[arg-type]


def detect_all(index: Index, cat: Catalogue, weights: FeatureWeights | None = None, *,
               full: bool = False, embed: Embed | None = None, claim: ClaimParams | None = None,
               ahead: Ahead | None = None) -> DetectStats:
    """Match the documents that are new or changed since the last run (all with `full`), and
    the partners that lose their link because of them; store the links. Documents gone from
    the index lose theirs.

    With `embed` (align-all) the best candidates are compared sentence by sentence and a link
    may be claimed; without it (`viko index`, before align-all) links rest on document
    similarity, stay possible, and their documents are left for the next run with `embed`.
    `ahead` hears the joined sentences the evidence will embed, before it does (verify)."""
    store = CounterpartStore(cat)
    ids = {lang: [d for d in index.doc_ids if index.doc_lang.get(d) == lang] for lang in LANG_PAIR}
    hashes = cat.hashes()
    current = {d: hashes[d] for group in ids.values() for d in group if d in hashes}
    ids = {lang: [d for d in group if d in current] for lang, group in ids.items()}
    seen = store.matched_hashes()
    removed = set(seen) - set(current)
    changed = set(current) if full else {d for d, h in current.items() if seen.get(d) != h}
    old = {c.doc_id: c for c in store.detected_links()}
    if embed is not None:  # links stored without sentence evidence (an older viko, or `viko index`)
        changed |= {d for d, c in old.items() if not c.verified and d in current}
    if not removed and not changed:
        return DetectStats(len(current), 0, len(old) // 2)
    dirty = (changed | {old[d].other_id for d in changed | removed if d in old}) & set(current)
    taken = {d for d, c in old.items() if d not in dirty and c.other_id not in dirty}
    everything = dirty == set(current)
    stored_ratio = float(cat.get_meta(RATIO_KEY) or 0)
    infos = _LazyInfos(cat, ids["vi"] + ids["ko"])
    found = _detect(ids, index, infos, weights, dirty=None if everything else dirty, taken=taken,
                    ratio=None if everything or not stored_ratio else stored_ratio,
                    embed=embed, sentences_of=_SentencesOf(cat), claim=claim, ahead=ahead)
    if everything or not stored_ratio:
        cat.set_meta(RATIO_KEY, repr(_ratio_of(found, infos)))
    matched = {d: current[d] for d in dirty} if embed is not None else {}
    store.replace_detected(sorted(dirty | removed), found, matched)
    return DetectStats(len(current), len(dirty), len(store.detected_links()) // 2)


class _SentencesOf:
    """A document's sentences as the aligner splits them, read from the catalogue once."""

    def __init__(self, source: Catalogue | Mapping[str, Document]) -> None:
        self.source, self._cache = source, dict[str, list[str]]()

    def __call__(self, doc_id: str) -> list[str]:
        if doc_id not in self._cache:
            doc = self.source.get(doc_id)
            self._cache[doc_id] = doc_sentences(doc) if doc is not None else []
        return self._cache[doc_id]


def _detect(ids: dict[str, list[str]], index: Index, infos: Mapping[str, DocInfo], weights: FeatureWeights | None,
            *, dirty: Collection[str] | None, taken: Collection[str], ratio: float | None, embed: Embed | None,
            sentences_of: Callable[[str], list[str]], claim: ClaimParams | None,
            ahead: Ahead | None = None) -> list[Counterpart]:
    """Document-level candidates (cheap, all of them), sentence evidence for the best few when
    `embed` is given, then one-to-one links."""
    vi, ko = ids["vi"], ids["ko"]
    scored, typical = score_candidates(vi, _vectors(index, vi), ko, _vectors(index, ko), infos, weights=weights,
                                       dirty=dirty, typical_ratio=ratio)
    if embed is not None:
        scored = [c for c in scored if vi[c.i] not in taken and ko[c.j] not in taken]
        scored = verify(scored, vi, ko, infos, sentences_of, embed, typical, claim, ahead)
    return assign(scored, vi, ko, taken)


def _ratio_of(found: Iterable[Counterpart], infos: Mapping[str, DocInfo]) -> float:
    """The typical vi/ko length ratio of the detected pairs, kept for incremental runs (which
    see too few pairs to measure it)."""
    ratios = [infos[c.doc_id].chars / max(infos[c.other_id].chars, 1) for c in found
              if infos[c.doc_id].lang == "vi"]
    return float(np.median(ratios)) if ratios else 2.0


def detect_documents(index: Index, docs: Iterable[Document], weights: FeatureWeights | None = None, *,
                     embed: Embed | None = None, claim: ClaimParams | None = None) -> Counterparts:
    """Detection over an index and its documents without a catalogue (the benchmarks): with
    `embed`, as align-all stores them; without, as `viko index` stores them before it."""
    by_id = {d.id: d for d in docs}
    ids = {lang: [d for d in index.doc_ids if index.doc_lang.get(d) == lang and d in by_id] for lang in LANG_PAIR}
    infos = {d: info_of(by_id[d]) for group in ids.values() for d in group}
    found = _detect(ids, index, infos, weights, dirty=None, taken=(), ratio=None, embed=embed,
                    sentences_of=_SentencesOf(by_id), claim=claim)
    return Counterparts.of(found)
