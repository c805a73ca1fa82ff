"""The ranking records shared by the engine, the relevance floor and the facets: one
candidate document with its score and the chunk that matched best, and a query's whole ranking."""

from __future__ import annotations

from dataclasses import dataclass

from viko.search.syntax import ParsedQuery


@dataclass
class Scored:
    doc_id: str
    lang: str
    score: float
    best_row: int
    # kept by the relevance floor on supporting evidence alone (search.relevance): a weak match,
    # shown as a possible one
    possible: bool = False
    # the chunk shown for it (snippet, highlights): its best lexical chunk where it has one,
    # so a document found on its words shows them; -1: none (best_row is shown)
    shown_row: int = -1

    @property
    def shown(self) -> int:
        return self.best_row if self.shown_row < 0 else self.shown_row



@dataclass(frozen=True)
class Ranking:
    """Every document a query matches, best first (SearchEngine.ranking): `query` as typed,
    `searched` the words as ranked (diacritics restored, or a misspelt query's correction when
    the words as typed match nothing; '' when only filters were given), `rewritten` when those
    differ from the typed words, `suggestions` the corrections offered when nothing matched."""

    query: str
    searched: str
    qlang: str
    items: list[Scored]
    terms: list[str]
    parsed: ParsedQuery
    rewritten: bool = False
    suggestions: tuple[str, ...] = ()
