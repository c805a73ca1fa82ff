"""Wiring: the matcher for a data directory, from the live index, catalogue and glossary."""

from __future__ import annotations

from pathlib import Path

from viko.corpus.catalogue import Catalogue
from viko.corpus.counterparts import Counterparts
from viko.corpus.glossary import Glossary
from viko.matching.match import Matcher
from viko.matching.records import records_from_documents
from viko.search.engine import SearchEngine


def load_matcher(catalogue_path: Path, engine: SearchEngine) -> Matcher:
    """Every indexed offer and demand, scored with the engine's index and glossary; the
    catalogue's counterpart links (detected or confirmed, rejected ones left out) say which
    records are one party in two languages."""
    with Catalogue.open(catalogue_path, readonly=True) as cat:
        records = records_from_documents(cat.iter_documents())
        links = [(c.doc_id, c.other_id, c.status == "confirmed") for c in Counterparts.load(cat)]
    glossary = engine.glossary if isinstance(engine.glossary, Glossary) else None
    return Matcher(engine.index, records, glossary, links)
