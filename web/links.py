"""URLs that hold the whole search state, so a result page can be shared, bookmarked and
left with the back button. Templates build every facet, sort and page link here."""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlencode

from viko.search.facets import FACETS, Filters


@dataclass(frozen=True)
class SearchLinks:
    q: str
    filters: Filters
    sort: str = "relevance"
    after: str = ""  # the date-range facet
    before: str = ""
    exact: bool = False  # searched as typed (no diacritics restored, no spelling corrected)

    def params(self, filters: Filters | None = None, sort: str | None = None, page: int = 1,
               dates: bool = True) -> list[tuple[str, str]]:
        filters = self.filters if filters is None else filters
        params: list[tuple[str, str]] = [("q", self.q)]
        for facet in FACETS:
            params.extend((facet, value) for value in filters.get(facet))
        if dates:
            params.extend((name, value) for name, value in (("after", self.after), ("before", self.before)) if value)
        if self.exact:
            params.append(("exact", "1"))
        sort = self.sort if sort is None else sort
        if sort != "relevance":
            params.append(("sort", sort))
        if page > 1:
            params.append(("page", str(page)))
        return params

    def url(self, filters: Filters | None = None, sort: str | None = None, page: int = 1) -> str:
        return "/?" + urlencode(self.params(filters, sort, page))

    def as_typed(self) -> str:
        """This search with the query's words as typed (`exact=1`)."""
        return "/?" + urlencode(replace(self, exact=True).params())

    def export(self, fmt: str) -> str:
        """All results of this search (every page, its filters) as a file: csv or xlsx."""
        return f"/api/search.{fmt}?" + urlencode([(k, v) for k, v in self.params() if k != "page"])

    def without_dates(self) -> str:
        return "/?" + urlencode(self.params(dates=False))

    def toggle(self, facet: str, value: str) -> str:
        return self.url(self.filters.toggled(facet, value))

    def clear(self, facet: str | None = None) -> str:
        if facet is None:
            return "/?" + urlencode(self.params(Filters(), dates=False))
        return self.url(self.filters.cleared(facet))

    def sorted_by(self, sort: str) -> str:
        return self.url(sort=sort)

    def page(self, number: int) -> str:
        return self.url(page=number)

    def query(self, q: str) -> str:
        return SearchLinks(q, Filters()).url()


def with_param(path: str, params: list[tuple[str, str]], name: str, value: str) -> str:
    """The current URL with one parameter set (used by the interface-language switch)."""
    kept = [(k, v) for k, v in params if k != name] + [(name, value)]
    return path + "?" + urlencode(kept)


def page_window(current: int, pages: int, width: int = 2) -> list[int | None]:
    """Page numbers around the current one, always with the first and the last; None where
    pages are left out (shown as "…"); a gap of one page shows that page instead:
    1 … 4 5 6 7 8 … 12, and 1 2 3 4 5 rather than 1 2 3 … 5."""
    if pages <= 0:
        return []
    shown = sorted({1, pages, *range(max(1, current - width), min(pages, current + width) + 1)})
    out: list[int | None] = []
    for n in shown:
        if out and out[-1] is not None and n - out[-1] == 2:
            out.append(n - 1)
        elif out and out[-1] is not None and n - out[-1] > 2:
            out.append(None)
        out.append(n)
    return out
