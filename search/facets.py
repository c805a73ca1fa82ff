"""Facets, filters, sorting and paging over an engine's ranked candidates.

The engine ranks every candidate document (`SearchEngine.rank`); this module only slices
that list with the documents' metadata, so ranking and faceting stay independent. Facet
counts are "disjunctive": each facet is counted with every *other* facet's filter applied,
so choosing "agreement" still shows how many news items the query has.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from viko.search.engine import DocMeta, Scored

FACETS = ("lang", "type", "source", "year")
SORTS = ("relevance", "date")


@dataclass(frozen=True)
class Filters:
    """Chosen values per facet: any value within a facet, every facet together."""

    lang: tuple[str, ...] = ()
    type: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    year: tuple[str, ...] = ()

    @classmethod
    def of(cls, **values: Iterable[str]) -> Filters:
        """Deduplicated, order-preserving, blanks dropped ('all' means no language filter)."""
        clean = {}
        for name, raw in values.items():
            seen = dict.fromkeys(v.strip() for v in raw if v and v.strip() and v.strip() != "all")
            clean[name] = tuple(seen)
        return cls(**clean)

    def get(self, facet: str) -> tuple[str, ...]:
        return tuple(getattr(self, facet))

    @property
    def active(self) -> bool:
        return any(self.get(f) for f in FACETS)

    def toggled(self, facet: str, value: str) -> Filters:
        current = self.get(facet)
        chosen = tuple(v for v in current if v != value) if value in current else (*current, value)
        return replace(self, **{facet: chosen})

    def cleared(self, facet: str | None = None) -> Filters:
        return Filters() if facet is None else replace(self, **{facet: ()})


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    selected: bool


def year_of(date: str) -> str:
    year = (date or "")[:4]
    return year if len(year) == 4 and year.isdigit() else ""


def facet_value(item: Scored, meta: DocMeta, facet: str) -> str:
    if facet == "lang":
        return item.lang
    if facet == "year":
        return year_of(meta.date)
    return str(getattr(meta, facet) or "")


def _passes(item: Scored, meta: DocMeta, filters: Filters, skip: str | None = None) -> bool:
    for facet in FACETS:
        chosen = filters.get(facet)
        if facet != skip and chosen and facet_value(item, meta, facet) not in chosen:
            return False
    return True


def apply_filters(items: Sequence[Scored], metas: dict[str, DocMeta], filters: Filters) -> list[Scored]:
    empty = DocMeta()
    return [s for s in items if _passes(s, metas.get(s.doc_id, empty), filters)]


def count_facets(items: Sequence[Scored], metas: dict[str, DocMeta], filters: Filters,
                 top: int = 12) -> dict[str, list[FacetValue]]:
    """Per facet, the `top` most frequent values (chosen values always listed)."""
    empty = DocMeta()
    out: dict[str, list[FacetValue]] = {}
    for facet in FACETS:
        counts: Counter[str] = Counter()
        for item in items:
            meta = metas.get(item.doc_id, empty)
            if _passes(item, meta, filters, skip=facet):
                counts[facet_value(item, meta, facet)] += 1
        counts.pop("", None)  # a missing type/source/year is no useful filter
        chosen = filters.get(facet)
        order = sorted(counts, key=lambda v: (-counts[v], v)) if facet != "year" else sorted(counts, reverse=True)
        shown = order[:top] + [v for v in chosen if v not in order[:top]]
        out[facet] = [FacetValue(v, counts.get(v, 0), v in chosen) for v in shown]
    return out


def sort_items(items: Sequence[Scored], metas: dict[str, DocMeta], sort: str) -> list[Scored]:
    """'relevance' keeps the engine's order; 'date' is newest first (undated last), ties by score."""
    if sort == "date":
        empty = DocMeta()
        dated = [s for s in items if metas.get(s.doc_id, empty).date]
        undated = [s for s in items if not metas.get(s.doc_id, empty).date]
        dated.sort(key=lambda s: (metas[s.doc_id].date, s.score), reverse=True)
        return dated + undated
    return list(items)
