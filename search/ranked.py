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

