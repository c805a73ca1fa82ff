"""The translators' workbench: counterparts, sentence alignment, bitext mining,
concordance, TMX/TBX exchange and the align-all runner.

The public API below is what the other stages and users import; it loads a module only
when one of its names is first used, so importing the stage costs nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from viko import lazy_api

if TYPE_CHECKING:
    from viko.workbench.align import Alignment, align_documents
    from viko.workbench.concordance import ConcordanceResults
    from viko.workbench.pairing import detect_all
    from viko.workbench.runner import AlignAllStats, align_all
    from viko.workbench.tbx import read_tbx, write_tbx
    from viko.workbench.tmx import import_tmx, write_tmx

# The public API, by the module of this stage that defines it (loaded on first use).
_API = {
    "pairing": ("detect_all",),
    "align": ("Alignment", "align_documents"),
    "runner": ("AlignAllStats", "align_all"),
    "concordance": ("ConcordanceResults",),
    "tmx": ("import_tmx", "write_tmx"),
    "tbx": ("read_tbx", "write_tbx"),
}
__all__ = [
    "AlignAllStats", "Alignment", "ConcordanceResults", "align_all", "align_documents",
    "detect_all", "import_tmx", "read_tbx", "write_tbx", "write_tmx"
]
__getattr__ = lazy_api(__name__, _API)
