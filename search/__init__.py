"""Search stage: hybrid cross-language retrieval over the index.

The public API below is what the other stages and users import; it loads a module only
when one of its names is first used, so importing the stage costs nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from viko import lazy_api

if TYPE_CHECKING:
    from viko.search.engine import SearchEngine
    from viko.search.params import RankingParams
    from viko.search.results import DocMeta, Hit, QueryError, Results

# The public API, by the module of this stage that defines it (loaded on first use).
_API = {
    "engine": ("SearchEngine",),
    "params": ("RankingParams",),
    "results": ("DocMeta", "Hit", "QueryError", "Results"),
}
__all__ = [
    "DocMeta", "Hit", "QueryError", "RankingParams", "Results", "SearchEngine"
]
__getattr__ = lazy_api(__name__, _API)
