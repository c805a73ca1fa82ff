"""URLs that hold the whole search state, so a result page can be shared, bookmarked and
left with the back button. Templates build every facet, sort and page link here."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from viko.search.facets import FACETS, Filters


@dataclass(frozen=True)
class SearchLinks:
    q: str
    filters: Filters
    sort: str = "relevance"

    def url(self, filters: Filters | None = None, sort: str | None = None, page: int = 1) -> str:
        filters = self.filters if filters is None else filters
        params: list[tuple[str, str]] = [("q", self.q)]
        for facet in FACETS:
            params.extend((facet, value) for value in filters.get(facet))
        sort = self.sort if sort is None else sort
        if sort != "relevance":
            params.append(("sort", sort))
        if page > 1:
            params.append(("page", str(page)))
        return "/?" + urlencode(params)

    def toggle(self, facet: str, value: str) -> str:
        return self.url(self.filters.toggled(facet, value))

    def clear(self, facet: str | None = None) -> str:
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


def page_window(current: int, pages: int, width: int = 2) -> list[int]:
    """Page numbers around the current one, always with the first and the last."""
    if pages <= 0:
        return []
    shown = {1, pages, *range(max(1, current - width), min(pages, current + width) + 1)}
    return sorted(shown)
