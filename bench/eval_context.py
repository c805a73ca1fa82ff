"""What every evaluation task shares: the cached encoder, the analyzer, the settings and a
log, and how an engine is built from them (its own module, so the quality table and the
ablation table both import it and neither imports the other)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from viko.indexer.analyze import Analyzer
from viko.indexer.store import Index
from viko.search.engine import SearchEngine
from viko.search.expansion import file_glossary

from bench.eval_cache import CachedEncoder
from viko.settings import Settings

Log = Callable[[str], None]


@dataclass
class EvalContext:
    encoder: CachedEncoder
    analyzer: Analyzer
    settings: Settings
    log: Log

    def engine(self, index: Index, **overrides: Any) -> SearchEngine:
        s = self.settings
        kwargs: dict[str, Any] = {
            "candidates": s.candidates, "dense_weight": s.dense_weight, "lexical_weight": s.lexical_weight,
            "bridge_weight": s.bridge_weight, "glossary": file_glossary(s.glossary)[0],
        }
        kwargs.update(overrides)
        return SearchEngine(index, self.encoder, self.analyzer, **kwargs)


