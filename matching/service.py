"""Wiring: the matcher for a data directory, from the live index, catalogue and glossary."""

from __future__ import annotations

from pathlib import Path

from viko.corpus.catalogue import Catalogue
from viko.corpus.glossary import Glossary
from viko.matching.match import Matcher
from viko.matching.records import records_from_documents
from viko.search.engine import SearchEngine


def load_matcher(catalogue_path: Path, engine: SearchEngine) -> Matcher:
    """Every indexed offer and demand, scored with the engine's index and glossary."""
    with Catalogue.open(catalogue_path, readonly=True) as cat:
        records = records_from_documents(cat.iter_documents())
    glossary = engine.glossary if isinstance(engine.glossary, Glossary) else None
    return Matcher(engine.index, records, glossary)
