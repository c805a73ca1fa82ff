"""What a parsed query (search.syntax) allows: a mask over the index's chunk rows, and dense
retrieval within it, so filters restrict retrieval itself rather than a page after it.

* Metadata (type:, source:, title:, after:, before:) is a predicate on each live document's
  catalogue record; its documents' rows make the mask.
* A phrase's candidate chunks are those whose postings hold all the phrase's index terms; each is
  then read and kept only where the phrase stands on the analyser's word boundaries
  (`phrase_in`): "năng lượng" is not in "khả năng lượng hóa". A document holding it in any chunk
  passes. `-"phrase"` removes the documents that hold it, found the same way; `-word` those
  whose postings hold the word (a syllable of a longer word too: `-gió` leaves out "điện gió").
* BM25 scores are computed as always and only the allowed rows are kept (exact). Dense retrieval
  (`dense_within`) scans the allowed rows of a language exactly when they are few (at most
  BRUTE_FORCE_ROWS: a few ms) and otherwise asks the index for more neighbours, k x the share of
  rows left out, until k allowed ones are found (the over-fetch grows fourfold a round).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from viko.corpus.textnorm import fold_vi, normalize_vi
from viko.indexer.lexical import top_k
from viko.indexer.store import LANGS, Index
from viko.indexer.wordbounds import HANGUL, WORD, Syllables, keys
from viko.search.results import DocMeta
from viko.search.syntax import ParsedQuery, in_range

BRUTE_FORCE_ROWS = 20_000
# Chunks read to check a phrase; a phrase of common words whose terms a million chunks hold is
# then taken as present wherever its terms are (the postings' answer, without the word order).
MAX_VERIFIED_ROWS = 5_000
Terms = Callable[[str], Sequence[str]]  # a phrase -> its index terms (the analyser's)


def phrase_in(text: str, phrase: str, words: Iterable[str] = ()) -> bool:
    """Whether the phrase occurs in the text: case and tone placement ignored, an unaccented
    phrase also matching accented text, Latin-script words on whole words that split none of
    the text's multi-syllable words (`words`: the analyser's, "sáng_tạo"); Hangul as a
    substring (particles attach to Korean words: "협약" is in "협약을")."""
    if HANGUL.search(phrase):
        return _key(phrase) in _key(text)
    unit = [keys(w)[0] for w in WORD.findall(phrase)]
    if not unit:
        return False
    unaccented = all(keys(p)[1] == p for p in unit)
    if " ".join(unit) not in (" ".join(fold_vi(text).split()) if unaccented else _key(text)):
        return False  # not even the letters: no need to find the words
    # only a word holding the phrase's first or last syllable can be split by it
    ends = {keys(unit[0])[1], keys(unit[-1])[1]}
    kept = [w for w in words if "_" in w and ends & {keys(p)[1] for p in w.split("_")}]
    found = Syllables(text, kept)
    if all(keys(p)[1] == p for p in unit):
        unit = [keys(p)[1] for p in unit]
    return any(not found.splits(*found.span(i, len(unit))) for i in found.unit_starts(unit))


def _key(text: str) -> str:
    return " ".join(normalize_vi(text.lower()).split())


def doc_passes(meta: DocMeta, parsed: ParsedQuery) -> bool:
    """The catalogue filters of a query (type, source, title, dates) on one document."""
    if parsed.types and meta.type.lower() not in parsed.types:
        return False
    if parsed.sources and not any(phrase_in(meta.source, s) or meta.source.lower() == s.lower()
                                  for s in parsed.sources):
        return False
    if parsed.titles and not any(phrase_in(meta.title, t) for t in parsed.titles):
        return False
    return in_range(meta.date, parsed.after, parsed.before)


def docs_holding(index: Index, phrase: str, terms: Sequence[str], *, verify: bool = True) -> set[str]:
    """Documents with a chunk holding the phrase (`terms`: its index terms); without
    `verify`, wherever the postings hold all its terms (a single word: the word itself)."""
    rows = _candidate_rows(index, terms)
    if rows is None:
        return set()
    if len(rows) > MAX_VERIFIED_ROWS or not verify:
        return index.docs_of(rows)
    held = [r for r in rows.tolist() if phrase_in(index.chunks[r].text, phrase, index.chunk_words(r) or ())]
    return index.docs_of(np.asarray(held, np.int64)) if held else set()


def _candidate_rows(index: Index, terms: Sequence[str]) -> np.ndarray | None:
    """Live rows holding every term (syllables and shared terms; the analyser's joined words
    depend on the context, so they are not required); all live rows of a small index when the
    phrase has no index term (stopwords), None when there is nothing to look at."""
    plain = [t for t in dict.fromkeys(terms) if "_" not in t]
    if not plain:
        return np.flatnonzero(index.live) if index.size <= MAX_VERIFIED_ROWS else None
    rows: np.ndarray | None = None
    for term in sorted(plain, key=lambda t: index.lexical.idf_of(t), reverse=True):
        posted = [p for p, _, _ in index.lexical.postings(term)]
        mine = np.unique(np.concatenate(posted)) if posted else np.zeros(0, np.int64)
        rows = mine if rows is None else np.intersect1d(rows, mine, assume_unique=True)
        if not len(rows):
            return None
    assert rows is not None
    return rows[index.live[rows]]


def allowed_rows(index: Index, meta: dict[str, DocMeta], parsed: ParsedQuery, terms: Terms,
                 counterpart_of: Callable[[str], str | None] = lambda _: None) -> np.ndarray | None:
    """The mask of chunk rows a query may retrieve (None: every row). A phrase is in one
    language: a document of the other holds it through its counterpart (the same document)."""
    if not (parsed.metadata_filters or parsed.phrases or parsed.excluded):
        return None
    mask = index.live.copy()
    if parsed.metadata_filters:
        empty = DocMeta()
        docs = [d for d in index.doc_ids if doc_passes(meta.get(d, empty), parsed)]
        mask &= _rows_mask(index, docs)
    for phrase in parsed.phrases:
        holding = docs_holding(index, phrase, terms(phrase))
        holding |= {other for doc in holding if (other := counterpart_of(doc)) is not None}
        mask &= _rows_mask(index, holding)
    for word in parsed.excluded:
        # "-gió" leaves out "điện gió" too: a single word is excluded wherever it is a syllable
        single = len(WORD.findall(word)) == 1 and not HANGUL.search(word)
        mask &= ~_rows_mask(index, docs_holding(index, word, terms(word), verify=not single))
    return mask


def _rows_mask(index: Index, docs: Iterable[str]) -> np.ndarray:
    mask = np.zeros(index.size, bool)
    _, _, rows = index.rows_of_docs(list(docs))
    mask[rows] = True
    return mask


def dense_within(index: Index, centred_query: np.ndarray, lang: str, k: int,
                 allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, centred cosines) of the k nearest allowed chunks of one language."""
    rows = np.flatnonzero(allowed & (index.langs == LANGS.index(lang)))
    if not len(rows):
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    if len(rows) <= BRUTE_FORCE_ROWS:
        sims = np.asarray(index.centred[rows] @ centred_query, np.float32)
        top = top_k(sims, k, positive_only=False)
        return rows[top], sims[top]
    total = len(index.rows_of_lang(lang))
    fetch = min(total, max(k, k * total // len(rows) * 2))
    while True:
        found, sims = index.search_dense(centred_query, lang, fetch)
        keep = allowed[found]
        if int(keep.sum()) >= k or fetch >= total:
            return found[keep][:k], sims[keep][:k]
        fetch = min(total, fetch * 4)


def browse(index: Index, meta: dict[str, DocMeta], allowed: np.ndarray | None, langs: Sequence[str],
           limit: int) -> list[tuple[str, str, int]]:
    """Without words to rank (only filters): the allowed documents, newest first, as
    (doc id, language, first allowed row), at most `limit`."""
    rows = np.flatnonzero(index.live if allowed is None else allowed)
    seen: dict[str, int] = {}
    for doc, row in zip(index.doc_ids_of(rows), rows.tolist(), strict=True):
        seen.setdefault(doc, row)
    empty = DocMeta()
    docs = [d for d in seen if index.doc_lang.get(d) in langs]
    docs.sort(key=lambda d: (meta.get(d, empty).date, d), reverse=True)
    return [(d, index.doc_lang[d], seen[d]) for d in docs[:limit]]
