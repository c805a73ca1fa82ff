"""Wiring: the matcher for a data directory, from the live index, catalogue and glossary."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from viko.corpus.access import OPERATOR, Viewer, mask_contacts
from viko.corpus.catalogue import Catalogue
from viko.corpus.counterparts import Counterparts
from viko.corpus.glossary import Glossary
from viko.matching.match import Matcher
from viko.matching.records import MatchRecord, records_from_documents
from viko.search.engine import SearchEngine


def load_matcher(catalogue_path: Path, engine: SearchEngine, viewer: Viewer = OPERATOR) -> Matcher:
    """Every indexed offer and demand the viewer may see, scored with the engine's index and
    glossary; the catalogue's counterpart links (detected or confirmed, rejected ones left
    out) say which records are one party in two languages. Contacts are for signed-in users."""
    with Catalogue.open(catalogue_path, readonly=True) as cat:
        records = records_from_documents(d for d in cat.iter_documents() if viewer.sees(d.visibility))
        links = [(c.doc_id, c.other_id, c.status == "confirmed") for c in Counterparts.load(cat)]
    glossary = engine.glossary if isinstance(engine.glossary, Glossary) else None
    shown = None if viewer.signed_in else _without_contacts
    return Matcher(engine.index, records, glossary, links, shown)


def _without_contacts(record: MatchRecord) -> MatchRecord:
    return dataclasses.replace(record, contact="", text=mask_contacts(record.text))
