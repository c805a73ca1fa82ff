"""A document's counterpart (the same document in the other language), for the pages.

The translators' workbench (`search.counterpart`) decides: a translator's confirmation wins,
a rejection hides a link, then the detector's and the index's links apply. Search results
use only the index's link, which is cheap enough to ask for every ranked candidate.
"""

from __future__ import annotations

from dataclasses import dataclass

from corpus.catalogue import Catalogue
from indexer.store import Index
from search.counterpart import get_counterpart


@dataclass(frozen=True)
class Link:
    other_id: str
    confidence: float
    confirmed: bool = False


def counterpart_for(cat: Catalogue, index: Index, doc_id: str) -> Link | None:
    link = get_counterpart(index, cat, doc_id)
    if link is None:
        return None
    return Link(link.other_id, float(link.confidence), confirmed=link.status == "confirmed")


def index_counterpart(index: Index, doc_id: str) -> str | None:
    link = index.counterparts.get(doc_id)
    return link.other_id if link is not None else None
