"""Every ranking parameter in one frozen record: the engine, fusion, bridging and the relevance
floor read it, `viko.settings.Settings` exposes its fields as VIKO_* variables, and an ablation
is `dataclasses.replace(params, ...)`, never a rewrite of a module global.

Each default was chosen on the dev splits; the figures behind them are in docs/benchmarks.md,
"Why these parameters"."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

FUSIONS = ("zscore", "rrf")


def _param(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class RankingParams:
    # Candidates and fusion (search.fusion).
    candidates: int = _param(200, "Chunk candidates per language from each retriever.")
    dense_weight: float = _param(1.0, "Weight of the dense (embedding) evidence in fusion.")
    lexical_weight: float = _param(1.5, "Weight of the lexical (BM25) evidence in fusion (chosen on the dev splits).")
    fusion: str = _param("zscore", "How dense and lexical evidence are fused: zscore (calibrated) or rrf (reciprocal rank).")
    rrf_k: float = _param(60.0, "Reciprocal-rank fusion's damping constant (fusion rrf only; the usual 60, not tuned).")
    lexical_coverage: float = _param(
        1.0, "Power of the share of the query's terms a document's best lexical passage holds, by which its lexical evidence counts (0 = fully).")
    document_weight: float = _param(
        0.0, "Share of a document's whole-document similarity blended into its best passage's (0 = best passage only).")
    calibration_weight: float = _param(
        20.0, "Background weight when standardising dense scores: n / (n + this) of the candidates' own spread; 0 = candidates only.")
    fused_calibration: bool = _param(True, "Standardise each language's fused scores again before the languages are merged.")
    fused_shrink: float = _param(5.0, "Weight of N(0, 1) when re-standardising fused scores (a small language is not stretched).")
    # Counterpart bridging (search.bridging).
    bridge_weight: float = _param(1.0, "How much a document inherits from its counterpart's score (0 turns bridging off).")
    full_bridge_confidence: float = _param(
        1.0, "Confidence at which a possible (unclaimed) counterpart link would bridge fully; weaker ones in proportion. Claimed and confirmed links always bridge fully.")
    # Glossary translations in BM25 (search.expansion.TranslationWeights).
    translation_coverage: float = _param(
        0.5, "A glossary translation's terms count in a passage by the share of the translation it holds, to this power (0 = fully wherever they occur).")
    name_spellings: bool = _param(
        True, "Take a document naming the query's names in the other script (Livingston, 리빙스턴: search.names) as evidence for the relevance floor.")
    unlinked_share: float = _param(
        0.5, "Share of its own positive evidence a document without a counterpart counts in place of the missing side's.")
    # The relevance floor (search.relevance).
    min_dense_evidence: float = _param(0.30, "Centred query-chunk cosine that alone makes a document a match.")
    min_dense_z: float = _param(
        2.0, "Background deviations a document must also reach to pass on min_dense_evidence (a shared offset in a mixed collection is not a match).")
    min_lexical_evidence: float = _param(0.2, "BM25 share of the best chunk's that makes a document a lexical match.")
    min_term_coverage: float = _param(0.3, "Share of the query terms' IDF weight a lexical match must hold.")
    min_background_z: float = _param(
        4.5, "Deviations above the query's similarity to everyday text of a language that alone make a match.")
    min_support_z: float = _param(
        2.5, "Background deviations that let each language's best document pass when the query has evidence somewhere.")
    near_best_dense: float = _param(
        0.04, "Centred-cosine distance from its language's best kept document within which a supported document passes.")

    def __post_init__(self) -> None:
        if self.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {self.fusion!r}: use one of {', '.join(FUSIONS)}")

    @classmethod
    def describe(cls) -> list[tuple[str, Any, str]]:
        """(name, default, help) per parameter."""
        return [(f.name, f.default, f.metadata["help"]) for f in fields(cls)]


DEFAULTS = RankingParams()
