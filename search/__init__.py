"""Search stage: hybrid cross-language retrieval over the index.

The public API below is what the other stages and users import; it loads a module only
when one of its names is first used, so importing the stage costs nothing."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from viko.search.engine import SearchEngine
    from viko.search.params import RankingParams
    from viko.search.results import DocMeta, Hit, QueryError, Results

# Public name -> the module of this stage that defines it.
_API = {
    "SearchEngine": "engine",
    "RankingParams": "params",
    "DocMeta": "results",
    "Hit": "results",
    "QueryError": "results",
    "Results": "results",
}
__all__ = [
    "DocMeta", "Hit", "QueryError", "RankingParams", "Results", "SearchEngine"
]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
