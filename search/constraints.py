"""What a parsed query (search.syntax) allows: a mask over the index's chunk rows, and dense
retrieval within it, so filters restrict retrieval itself rather than a page after it.

* Metadata (type:, source:, title:, after:, before:) is a predicate on each live document's
  catalogue record, tested over the engine's columns (search.doctable: once per distinct
  value, dates compared as arrays); its documents' rows make the mask.
* A phrase's candidate chunks are those whose postings hold all the phrase's index terms; they
  are then read and kept only where the phrase stands on the analyser's word boundaries
  (search.phrases, all the candidates at once): "năng lượng" is not in "khả năng lượng hóa". A
  document holding it in any chunk passes. `-"phrase"` removes the documents that hold it,
  found the same way (a Hangul `-word` too: it is a substring); `-word` those whose postings
  hold the word (a syllable of a longer word too: `-gió` leaves out "điện gió").
* BM25 scores are computed as always and only the allowed rows are kept (exact). Dense retrieval
  (`dense_within`) scans the allowed rows of a language exactly when they are few (at most
  BRUTE_FORCE_ROWS: a few ms) and otherwise walks the index's graph with the mask as its
  selector (indexer.ann.search): only allowed rows are returned and only k are rescored, where
  asking for 2k / the share allowed unfiltered neighbours rescored them all and lost recall.
  Where most rows are allowed, it asks for a few more neighbours and keeps the allowed ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from viko.corpus.counterparts import Counterparts
from viko.indexer.lexical import top_k
from viko.indexer.store import LANGS, Index
from viko.indexer.wordbounds import HANGUL, WORD
from viko.search.doctable import DocTable
from viko.search.phrases import phrase_in, rows_holding, texts_holding
from viko.search.results import DocMeta
from viko.search.syntax import ParsedQuery

BRUTE_FORCE_ROWS = 20_000
# Chunks read to check a phrase; a phrase of common words whose terms a million chunks hold is
# then taken as present wherever its terms are (the postings' answer, without the word order).
MAX_VERIFIED_ROWS = 5_000
# Where at least half the rows are allowed, asking for 2 x k / share neighbours (at most this
# many times k) and filtering them costs less than a graph walk with a selector (which checks
# every node it meets); below, the selector keeps the beam from growing with the share left out.
OVER_FETCH = 4
Terms = Callable[[str], Sequence[str]]  # a phrase -> its index terms (the analyser's)


def source_passes(source: str, parsed: ParsedQuery) -> bool:
    return any(phrase_in(source, s) or source.lower() == s.lower() for s in parsed.sources)


def title_passes(title: str, parsed: ParsedQuery) -> bool:
    return any(phrase_in(title, t) for t in parsed.titles)


def metadata_docs(table: DocTable, parsed: ParsedQuery) -> np.ndarray:
    """The documents passing the catalogue filters of a query (type, source, title, dates),
    each filter tested once per distinct value of its column."""
    docs = np.ones(table.size, bool)
    if parsed.types:
        docs &= table.typed(parsed.types)
    if parsed.sources:
        docs &= table.where(table.source_code, table.sources, lambda v: source_passes(v, parsed))
    if parsed.titles:
        docs &= table.where(table.title_code, table.titles, lambda v: title_passes(v, parsed))
    if parsed.after or parsed.before:
        docs &= table.dated(parsed.after, parsed.before)
    return docs


def docs_holding(index: Index, table: DocTable, phrase: str, terms: Sequence[str], *, verify: bool = True,
                 within: np.ndarray | None = None) -> np.ndarray:
    """The mask of documents with a chunk holding the phrase (`terms`: its index terms);
    without `verify`, wherever the postings hold all its terms (a single word: the word
    itself). `within`: only these documents are looked at (the others are left out anyway)."""
    rows = _candidate_rows(index, terms)
    if rows is not None and within is not None:
        rows = table.rows_in(rows, within)
    if rows is None or not len(rows):
        return table.none()
    if len(rows) > MAX_VERIFIED_ROWS or not verify:
        return table.docs_at(rows)
    held = table.docs_at(rows_holding(index, table, rows, phrase))
    return held | _titles_holding(table, table.docs_at(rows) & ~held, phrase)


def _titles_holding(table: DocTable, candidates: np.ndarray, phrase: str) -> np.ndarray:
    """The candidate documents whose title holds the phrase. A title is indexed with each of
    its document's chunks (indexer.build.passage_text), so its words make every chunk a
    candidate, but it is no chunk's text: rows_holding alone would miss it."""
    codes = np.unique(table.title_code[candidates])
    holding = np.zeros(len(table.titles), bool)
    holding[codes[texts_holding([table.titles[c] for c in codes.tolist()], phrase)]] = True
    return candidates & holding[table.title_code] if len(table.titles) else table.none()


def _candidate_rows(index: Index, terms: Sequence[str]) -> np.ndarray | None:
    """Live rows holding every term (syllables and shared terms; the analyser's joined words
    depend on the context, so they are not required); all live rows of a small index when the
    phrase has no index term (stopwords), None when there is nothing to look at. The rarest
    term's postings are read; the others are only looked up for those rows (lexical.holds)."""
    plain = [t for t in dict.fromkeys(terms) if "_" not in t]
    if not plain:
        return np.flatnonzero(index.live) if index.size <= MAX_VERIFIED_ROWS else None
    rarest, *others = sorted(plain, key=lambda t: index.lexical.idf_of(t), reverse=True)
    # each segment's postings are sorted and the segments' rows disjoint: no sort needed
    posted = [p for p, _, _ in index.lexical.postings(rarest)]
    rows = np.concatenate(posted) if posted else np.zeros(0, np.int64)
    for term in others:
        if not len(rows):
            return None
        rows = rows[index.lexical.holds(term, rows)]
    return rows[index.live[rows]] if len(rows) else None


def allowed_rows(index: Index, table: DocTable, parsed: ParsedQuery, terms: Terms,
                 counterparts: Counterparts | None = None) -> np.ndarray | None:
    """The mask of chunk rows a query may retrieve (None: every row). A phrase is in one
    language: a document of the other holds it through its counterpart (the same document)."""
    if not (parsed.metadata_filters or parsed.phrases or parsed.excluded):
        return None
    docs = metadata_docs(table, parsed) if parsed.metadata_filters else np.ones(table.size, bool)
    for phrase in parsed.phrases:
        holding = docs_holding(index, table, phrase, terms(phrase),
                               within=docs if not counterparts else None)
        docs &= table.with_counterparts(holding, counterparts) if counterparts else holding
    for word in parsed.excluded:
        # "-gió" leaves out "điện gió" too: a single word is excluded wherever it is a syllable
        single = len(WORD.findall(word)) == 1 and not HANGUL.search(word)
        docs &= ~docs_holding(index, table, word, terms(word), verify=not single, within=docs)
    return table.rows_mask(docs)


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
    fetch = k * total // len(rows) * 2
    if fetch <= OVER_FETCH * k:  # most rows allowed: a few more neighbours, filtered after
        found, sims = index.search_dense(centred_query, lang, fetch)
        keep = allowed[found]
        if int(keep.sum()) >= k:
            return found[keep][:k], sims[keep][:k]
    return index.search_dense(centred_query, lang, k, allowed)


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
