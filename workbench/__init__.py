"""The translators' workbench: counterparts, sentence alignment, bitext mining,
concordance, TMX/TBX exchange and the align-all runner.

The public API below is what the other stages and users import; it loads a module only
when one of its names is first used, so importing the stage costs nothing."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from viko.workbench.align import Alignment, align_documents
    from viko.workbench.concordance import ConcordanceResults
    from viko.workbench.pairing import detect_all
    from viko.workbench.runner import AlignAllStats, align_all
    from viko.workbench.tbx import read_tbx, write_tbx
    from viko.workbench.tmx import import_tmx, write_tmx

# Public name -> the module of this stage that defines it.
_API = {
    "detect_all": "pairing",
    "Alignment": "align",
    "align_documents": "align",
    "AlignAllStats": "runner",
    "align_all": "runner",
    "ConcordanceResults": "concordance",
    "import_tmx": "tmx",
    "write_tmx": "tmx",
    "read_tbx": "tbx",
    "write_tbx": "tbx",
}
__all__ = [
    "AlignAllStats", "Alignment", "ConcordanceResults", "align_all", "align_documents",
    "detect_all", "import_tmx", "read_tbx", "write_tbx", "write_tmx"
]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
