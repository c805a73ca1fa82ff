"""The ranking record shared by the engine, the relevance floor and the facets: one
candidate document with its score and the chunk that matched best."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Scored:
    doc_id: str
    lang: str
    score: float
    best_row: int


# Fusion weights of dense and lexical evidence, chosen on the dev splits (docs/benchmarks.md,
# section "quality": lexical 1.5 beat 1.0 on the NTREX documents and XQuAD questions). The
# engine's defaults and the VIKO_* settings both read these, so there is one value.
DENSE_WEIGHT = 1.0
LEXICAL_WEIGHT = 1.5
