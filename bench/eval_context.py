"""What every evaluation task shares: the cached encoder, the analyzer, the settings and a
log, and how an engine is built from them (its own module, so the quality table and the
ablation table both import it and neither imports the other)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.eval_cache import CachedEncoder
from viko.corpus.counterparts import Counterparts
from viko.indexer.analyze import Analyzer
from viko.indexer.store import Index
from viko.search.engine import SearchEngine
from viko.search.expansion import TermExpander, file_glossary
from viko.search.params import RankingParams
from viko.settings import Settings

Log = Callable[[str], None]


@dataclass
class EvalContext:
    encoder: CachedEncoder
    analyzer: Analyzer
    settings: Settings
    log: Log

    def engine(self, index: Index, params: RankingParams | None = None, *, glossary: TermExpander | None = None,
               counterparts: Counterparts | None = None) -> SearchEngine:
        """An engine as the product builds one: the settings' ranking parameters (an ablation
        passes `dataclasses.replace(ctx.settings.ranking, ...)`) and the glossary files."""
        return SearchEngine(index, self.encoder, self.analyzer, params=params or self.settings.ranking,
                            glossary=file_glossary(self.settings.glossary)[0] if glossary is None else glossary,
                            counterparts=counterparts)
