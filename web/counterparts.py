"""A document's counterpart (the same document in the other language), for the pages.

One truth: the catalogue's links (corpus.counterparts: detected at index time, with the
translators' confirmations and rejections applied). The search results read the engine's
copy of it (loaded with the engine, reloaded when the catalogue changes), the document page
reads the catalogue itself; both apply the same rule.
"""

from __future__ import annotations

from viko.corpus.catalogue import Catalogue
from viko.corpus.counterparts import Counterpart, CounterpartStore
from viko.search.engine import SearchEngine


def counterpart_for(cat: Catalogue, doc_id: str) -> Counterpart | None:
    return CounterpartStore(cat).get(doc_id)


def counterpart_id(engine: SearchEngine, doc_id: str) -> str:
    """The counterpart's id for a search hit, or '' when it has none."""
    return engine.counterparts.other(doc_id) or ""
