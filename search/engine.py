"""Hybrid cross-language search: dense and BM25 candidates per language, calibrated and fused
(search.fusion), shared with each document's counterpart (search.bridging), aggregated from
chunks to documents, then held to the relevance floor (search.relevance).

Every ranking parameter is a field of one record, search.params.RankingParams, passed whole:
an engine built directly ranks exactly as one built from the settings, and an ablation is a
`dataclasses.replace()` of the record. The lexical query also carries the other-language side
of glossary terms found in the query (search.expansion), so BM25 sees 전라남도 in a query that
says Jeollanam-do. What each step is worth: docs/benchmarks.md.

The engine reads the index only through its retriever (search.retriever: candidates, the
floor's figures, document vectors, passages), so another index could answer in its place
(docs/scale-out.md, "The Retriever seam").
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np

from viko.corpus.access import OPERATOR, Viewer, shown_text
from viko.corpus.counterparts import Counterparts
from viko.corpus.textnorm import nfc, query_language
from viko.indexer import centring
from viko.indexer.analyze import Analyzer
from viko.indexer.chunking import Chunk
from viko.indexer.encoders import Encoder
from viko.indexer.memo import Recent
from viko.indexer.store import LANGS, Index
from viko.search.accents import AccentTable, looks_unaccented_vietnamese
from viko.search.bridging import bridge
from viko.search.expansion import Expansion, NoExpansion, TermExpander, TranslationWeights, expand
from viko.search.fusion import PerDoc, best_per_doc, fuse, with_document_vectors
from viko.search.names import NameTable, other_script
from viko.search.params import DEFAULTS, RankingParams
from viko.search.ranked import Ranking, Scored
from viko.search.relevance import above_floor, shared_word_coverage
from viko.search.results import DocMeta, Hit, QueryError, Results
from viko.search.retriever import Allowed, Hits, LocalRetriever, Retriever
from viko.search.snippets import make_snippet, match_spans
from viko.search.spelling import Speller
from viko.search.syntax import ParsedQuery, parse
from viko.search.visibility import scope

__all__ = ["DocMeta", "Hit", "QueryError", "Ranking", "RankingParams", "Results", "Scored", "SearchEngine"]

MODES = ("full", "dense", "plain", "bm25")
# Query vectors kept for the relevance floor and the document page of a recent search; a
# results page needs one, a busy server a few dozen.
QUERY_CACHE = 64
# Documents a query of filters alone lists (newest first), and the most a ranking keeps.
BROWSE_LIMIT = 10_000
EMPTY_QUERY = "the query is empty: type a few words in Vietnamese or Korean"


class SearchEngine:
    def __init__(self, index: Index, encoder: Encoder, analyzer: Analyzer,
                 meta: dict[str, DocMeta] | None = None, *, params: RankingParams = DEFAULTS,
                 glossary: TermExpander | None = None, counterparts: Counterparts | None = None,
                 max_query_chars: int = 5000) -> None:
        self.meta = meta or {}
        # The ranking asks the index only through the retriever (search.retriever); `index`
        # stays for the pages that read the local index itself (web/document.py, matching).
        self.index = index
        self.retriever: Retriever = LocalRetriever(index, self.meta)
        if self.retriever.model != encoder.name:
            raise ValueError(f"index built with {self.retriever.model!r}, encoder is {encoder.name!r}")
        self.encoder = encoder
        self.analyzer = analyzer
        self.params = params
        self.max_query_chars = max_query_chars
        self.glossary: TermExpander = glossary or NoExpansion()
        # Counterpart links as stored in the catalogue (detected, and the translators'
        # decisions): bridging, the floor and related documents read them, nothing recomputes.
        self.counterparts = counterparts or Counterparts()
        self._query_vectors: Recent[np.ndarray] = Recent(QUERY_CACHE)
        self._expansions: Recent[Expansion] = Recent(QUERY_CACHE)
        self._masks: Recent[tuple[Allowed | None]] = Recent(QUERY_CACHE)
        self._vector_lock = threading.Lock()
        self._accents: AccentTable | None = None
        # a table per script for the engine and its scoped copies (search.visibility), built on first use
        self._names: Recent[NameTable] = Recent(2)
        self._name_admits: Callable[[str], bool] | None = None  # the scoped reader's words
        self._speller: Speller | None = None
        # What a viewer may not see (search.visibility): none here, set on scoped copies.
        self.viewer = OPERATOR
        self.hidden: frozenset[str] = frozenset()
        self.visible: Allowed | None = None
        self._scopes: dict[str, SearchEngine] = {}

    def scoped(self, viewer: Viewer) -> SearchEngine:
        """This engine as `viewer` sees it (search.visibility), one per audience."""
        with self._vector_lock:
            found = self._scopes.get(viewer.audience)
        if found is None:
            found = scope(self, viewer, QUERY_CACHE)
            with self._vector_lock:
                found = self._scopes.setdefault(viewer.audience, found)
        return found

    def sees(self, doc_id: str) -> bool:
        """Whether this engine's viewer may see the document."""
        return doc_id not in self.hidden

    # -- public ----------------------------------------------------------------------
    def search(self, query: str, *, lang: str = "all", limit: int = 10, offset: int = 0,
               mode: str = "full", exact: bool = False) -> Results:
        """A page of results; in mode "full" only the documents above the relevance floor.
        The query's operators (search.syntax) apply; `exact`: the words as typed (no
        diacritics restored, no spelling corrected)."""
        started = time.perf_counter()
        if lang not in ("all", *LANGS):
            raise QueryError(f"unknown language filter {lang!r}: use all, vi or ko")
        if mode not in MODES:
            raise QueryError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
        ranking = self.ranking(query, langs=[lang] if lang != "all" else LANGS, mode=mode, exact=exact)
        hits = [self.hit(s, ranking.terms) for s in ranking.items[offset : offset + limit]]
        took = (time.perf_counter() - started) * 1000
        return Results(ranking.query, ranking.qlang, hits, len(ranking.items), took, ranking.terms,
                       searched_as=ranking.searched if ranking.rewritten else "", suggestions=ranking.suggestions,
                       possible_total=sum(s.possible for s in ranking.items))

    def ranking(self, query: str, *, langs: Sequence[str] = LANGS, mode: str = "full",
                exact: bool = False) -> Ranking:
        """Every document the query matches, best first: its operators parsed (search.syntax),
        its filters restricting retrieval (search.constraints), the floor applied in mode
        "full"; words that match nothing as typed are searched as their spelling correction
        (search.spelling) when that matches something, unless `exact`."""
        query = self.validate(query)
        parsed = parse(query)
        text = parsed.ranked_text
        if not text and not parsed.restricts:  # `""` or a lone `-`: nothing to search or filter by
            raise QueryError(EMPTY_QUERY)
        langs = [lang for lang in langs if not parsed.langs or lang in parsed.langs]
        allowed = self.allowed(parsed, exact)
        if not text:
            listed = self.retriever.browse(allowed, langs, BROWSE_LIMIT)
            return Ranking(query, "", "other", [Scored(d, lang, 0.0, r) for d, lang, r in listed], [], parsed)
        qlang = query_language(text)
        searched = text if exact else self.as_searched(text)
        items, terms = self._floored(text, qlang, langs, mode, exact, allowed)
        if not items and parsed.phrases and mode == "full":  # no document holds the phrase: its words
            loose = self.allowed(dataclasses.replace(parsed, phrases=()), exact)
            items, terms = self._floored(text, qlang, langs, mode, exact, loose)
            if items:
                return Ranking(query, searched, qlang, items, terms, parsed, rewritten=True)
        if items or mode != "full":
            return Ranking(query, searched, qlang, items, terms, parsed, rewritten=searched != text)
        typo = None if exact else self.speller().correct(searched, typos_only=True)
        if typo is not None and (typo := self.as_searched(typo)) != searched:
            # searched as corrected when the words were typos and the correction finds something
            typo_lang = query_language(typo)
            found, found_terms = self._floored(typo, typo_lang, langs, mode, False, allowed)
            if found:
                return Ranking(query, typo, typo_lang, found, found_terms, parsed, rewritten=True)
        fixed = self.speller().correct(searched)
        fixed = self.as_searched(fixed) if fixed is not None else None
        offered = (fixed,) if fixed is not None and fixed != searched else ()
        return Ranking(query, searched, qlang, items, terms, parsed, searched != text, offered)

    def _floored(self, text: str, qlang: str, langs: Sequence[str], mode: str, exact: bool,
                 allowed: Allowed | None) -> tuple[list[Scored], list[str]]:
        """The ranking above the floor, and the terms its highlights mark."""
        items, terms = self.rank(text, qlang, langs, mode, exact=exact, allowed=allowed)
        if mode == "full":
            items = self.apply_floor(items, terms, text, qlang, exact=exact)
            terms = list(self.expansion(text, qlang, exact=exact).marked)  # what highlights mark
        return items, terms

    def allowed(self, parsed: ParsedQuery, exact: bool = False) -> Allowed | None:
        """The chunks the query's filters, phrases and exclusions allow (None: all),
        remembered briefly (paging and facets repeat the query)."""
        key = (parsed.phrases, parsed.excluded, parsed.types, parsed.sources, parsed.titles,
               parsed.after, parsed.before, exact)

        def terms(phrase: str) -> list[str]:
            said = phrase if exact else self.as_searched(phrase)
            lang = query_language(said)
            return self.analyzer.query_tokens(said, lang if lang in ("vi", "ko") else "other")

        return self._masks.get(key, lambda: (self.retriever.allowed(parsed, terms, self.counterparts,
                                                                    self.visible),))[0]

    def speller(self) -> Speller:
        if self._speller is None:
            speller = Speller.from_lexicon(self.retriever.lexicon)
            with self._vector_lock:
                self._speller = speller
        return self._speller

    def validate(self, query: str) -> str:
        if not isinstance(query, str):
            raise QueryError("the query must be text")
        query = nfc(" ".join(query.split()))
        if not query:
            raise QueryError(EMPTY_QUERY)
        if len(query) > self.max_query_chars:
            raise QueryError(f"the query is {len(query)} characters long; the limit is {self.max_query_chars}")
        return query

    def rank(self, query: str, qlang: str, langs: Sequence[str], mode: str = "full", *, exact: bool = False,
             allowed: Allowed | None = None) -> tuple[list[Scored], list[str]]:
        """Every candidate document of the given languages, best first (no relevance floor).
        A query in English (or another language) is compared densely with both languages and
        lexically on the Latin-script terms they share. `allowed`: the chunks retrieval may
        return (search.constraints), None for all."""
        terms = self.query_terms(query, qlang, expand=mode == "full", exact=exact)
        qvec = self.query_vector(query, exact=exact)
        # Counterpart bridging needs the other language's scores even under a language filter.
        scored_langs = LANGS if mode == "full" else langs
        retriever, k = self.retriever, self.params.candidates
        # the languages' dense searches run while the lexical ones are scored
        nearest = (retriever.dense(retriever.centre(qvec, qlang), scored_langs, k, allowed)
                   if mode in ("full", "dense") else {})
        weights = self.translation_weights(query, qlang, exact) if mode == "full" else None
        lexical = retriever.lexical(terms, scored_langs, k, allowed, weights) if mode in ("full", "bm25") else {}
        merged: list[Scored] = []
        expansion = self.expansion(query, qlang, exact=exact) if mode == "full" else None
        for lang in scored_langs:
            dense_hits = nearest[lang]() if lang in nearest else None
            merged.extend(self._rank_language(qvec, qlang, lexical.get(lang), lang, mode, dense_hits, expansion))
        if mode == "full":
            merged = bridge(merged, self.counterparts, self.params)
        merged = [s for s in merged if s.lang in langs]
        merged.sort(key=lambda s: (-s.score, s.doc_id))
        return merged, terms

    def apply_floor(self, ranked: list[Scored], terms: list[str], query: str, qlang: str, *,
                    exact: bool = False) -> list[Scored]:
        """The ranked documents with real evidence of matching (search.relevance): the same
        floor for the CLI, the API and the web pages, so a nonsense query gets no results."""
        qvec = self.query_vector(query, exact=exact)
        stats = {lang: self._background(qvec, qlang, lang, floor=True) for lang in LANGS}
        expansion = self.expansion(query, qlang, exact=exact)
        return above_floor(self.retriever, ranked, terms, qvec, qlang, self.counterparts.other, self.params,
                           stats.get, list(expansion.own), expansion.translated, expansion.names, self.visible)

    def translation_weights(self, query: str, qlang: str, exact: bool = False) -> TranslationWeights | None:
        """How the query's glossary translations count in BM25 (search.expansion)."""
        expansion = self.expansion(query, qlang, exact=exact)
        return TranslationWeights.of(expansion.own, expansion.translated, self.params.translation_coverage)

    def query_vector(self, query: str, *, exact: bool = False) -> np.ndarray:
        """The encoded query, remembered briefly: ranking and the relevance floor both need it."""
        said = query if exact else self.as_searched(query)
        return self._query_vectors.get(said, lambda: self.encoder.encode_queries([said])[0])

    def as_searched(self, query: str) -> str:
        """The query as it is encoded and analysed: Vietnamese typed without diacritics gets
        them back from the index's own words (search.accents); anything else is unchanged,
        without building the table (a one-shot search of an accented query never needs it)."""
        return self.accent_table().restore(query) if looks_unaccented_vietnamese(query) else query

    def accent_table(self) -> AccentTable:
        if self._accents is None:
            table = AccentTable.from_lexicon(self.retriever.lexicon, self._glossary_words())
            with self._vector_lock:
                self._accents = table
        return self._accents

    def spellings(self, name: str) -> tuple[str, ...]:
        """A query's name as the index spells it in the other script (search.names), in
        passages this engine's reader may see: a hidden document lends no evidence."""
        script = other_script(name)
        table = self._names.get(script, lambda: NameTable.from_words(self.retriever.lexicon.vocab, script))
        admits = self._name_admits
        return tuple(w for w in table.spellings(name) if admits is None or admits(w))

    def _glossary_words(self) -> list[str]:
        """The glossary's Vietnamese forms (accent restoration knows them beyond the index)."""
        entries = getattr(self.glossary, "entries", [])
        return [form for e in entries for form in e.forms("vi")] if entries else []

    def query_terms(self, query: str, lang: str, *, expand: bool = True, exact: bool = False) -> list[str]:
        """The query's own terms, plus the other-language side of glossary entries found in
        it, so BM25 can match documents of both languages. A query that is neither Vietnamese
        nor Korean contributes its Latin-script words and numbers (IoT, ESS, Hai Phong)."""
        expansion = self.expansion(query, lang, exact=exact)
        return list(expansion.terms if expand else expansion.own)

    def expansion(self, query: str, lang: str, *, exact: bool = False) -> Expansion:
        """The query's terms and glossary translations (search.expansion), from one lookup
        remembered briefly: ranking and the relevance floor both need them."""
        said = query if exact else self.as_searched(query)
        spellings = self.spellings if self.params.name_spellings else None
        return self._expansions.get((said, lang), lambda: expand(self.analyzer, self.glossary, said, lang, self.indexed,
                                                                 spellings))

    def indexed(self, term: str) -> bool:
        """Whether the index holds the term (a Korean compound's parts: search.expansion)."""
        return self.retriever.idf_of(term) > 0

    def related(self, doc_id: str, limit: int = 6) -> list[Hit]:
        """Documents of both languages closest in content, counterpart first when there is one.
        Compared on centred document vectors, so the other language is not at a disadvantage."""
        like = self.retriever.documents_like(doc_id)
        if like is None:
            return []
        link = self.counterparts.get(doc_id)
        picked = [s for s in like if link and s.doc_id == link.other_id][:1]
        picked += [s for s in like if self.sees(s.doc_id) and s not in picked][: max(limit - len(picked), 0)]
        return [self.hit(s, []) for s in picked]

    def words_of(self, text: str, lang: str) -> tuple[str, ...]:
        """The multi-syllable Vietnamese words of a text, so highlights never cut one
        (search.snippets; re-analysed and remembered by the analyser)."""
        return self.analyzer.words(text) if lang == "vi" else ()

    def hit(self, scored: Scored, terms: Sequence[str]) -> Hit:
        meta = self.meta.get(scored.doc_id, DocMeta())
        chunk, snippet, spans = self._snippet(scored.shown, terms, meta)
        if not spans and scored.shown_row >= 0:
            # its words are in the title that every chunk is indexed with, or elsewhere in the
            # document: show the chunk whose own text holds most of them
            for key in (k for k in self.retriever.chunks_of(scored.doc_id) if k != scored.shown):
                other = self._snippet(key, terms, meta)
                if len(other[2]) > len(spans):
                    chunk, snippet, spans = other
        return Hit(id=scored.doc_id, lang=scored.lang, score=float(scored.score), snippet=snippet,
                   highlights=tuple(spans), passage=(chunk.start, chunk.end), title=meta.title,
                   url=meta.url, type=meta.type, date=meta.date, source=meta.source, possible=scored.possible)

    # -- internals -----------------------------------------------------------------------
    def _snippet(self, key: int, terms: Sequence[str], meta: DocMeta) -> tuple[Chunk, str, list[tuple[int, int]]]:
        """A chunk, its snippet as the viewer may see it, and the query's words marked in it."""
        chunk, words = self.retriever.passage(key)
        text = shown_text(chunk.text, meta.type, self.viewer)  # lines intact: a contact line is found whole
        if words is not None:  # the passage's words as indexed: marked on whole words at once
            snippet, spans = make_snippet(text, terms, words=words)
        else:
            snippet, spans = make_snippet(text, terms)
            if spans and chunk.lang == "vi":  # an older segment: analyse the shown window
                spans = match_spans(snippet, terms, self.words_of(snippet, chunk.lang))
        return chunk, snippet, list(spans)

    def _rank_language(self, qvec: np.ndarray, qlang: str, lexical: Hits | None, lang: str, mode: str,
                       dense_hits: Hits | None = None, expansion: Expansion | None = None) -> list[Scored]:
        """One language's candidates, fused; `lexical` and `dense_hits`: its best chunks by
        BM25 (modes full and bm25) and by centred cosine (modes full and dense)."""
        retriever, params = self.retriever, self.params
        dense: PerDoc = {}
        if mode == "plain":
            dense = best_per_doc(retriever.plain(qvec, lang, params.candidates))
        elif dense_hits is not None:
            dense = best_per_doc(dense_hits)
            if mode == "full" and params.document_weight > 0:
                dense = with_document_vectors(retriever, dense, retriever.centre(qvec, qlang), params.document_weight)
        lex = best_per_doc(lexical) if lexical is not None else {}
        if mode in ("plain", "dense"):
            return [Scored(d, lang, s, r) for d, (s, r) in dense.items()]
        if mode == "bm25":
            return [Scored(d, lang, s, r) for d, (s, r) in lex.items()]
        coverage = None
        if expansion is not None and params.lexical_coverage > 0 and lex and lang != qlang:
            coverage = shared_word_coverage(retriever, lex, expansion, params.lexical_coverage)
        return fuse(dense, lex, lang, params, self._background(qvec, qlang, lang), coverage)

    def _background(self, qvec: np.ndarray, qlang: str, lang: str, *, floor: bool = False) -> tuple[float, float] | None:
        """The query's similarity to everyday text of `lang` (indexer.centring.background)."""
        centroid = self.retriever.centroid(lang)
        if (not floor and self.params.calibration_weight <= 0) or centroid is None:
            return None
        reference = centring.reference_vectors(self.encoder).get(lang if lang in ("vi", "ko") else "en")
        if reference is None:
            return None
        return centring.background(self.retriever.centre(qvec, qlang), reference, centroid)
