"""A search engine as one viewer sees it: the rows of the documents they may not see are
out of retrieval itself (a mask every query starts from, so totals, facets and pages are
counted over what they may see, and the top k is never shortened afterwards), counterpart
links to those documents do not exist for them (no bridging, floor evidence or related
link through a hidden document), and spelling suggestions, restored diacritics and a
name's spellings in the other script (search.names) are only words that occur in a passage
they may see. The anonymous visitor reads offers' and demands' snippets without their
contact details (viko.corpus.access.shown_text).

One scoped engine per audience (viko.corpus.access.Viewer.audience) is kept by its engine;
a new index generation or catalogue change builds a new engine, so the scopes follow it.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import TYPE_CHECKING

from viko.corpus.access import Viewer
from viko.indexer.memo import Recent

if TYPE_CHECKING:
    from viko.search.engine import SearchEngine


def hidden_documents(engine: SearchEngine, viewer: Viewer) -> frozenset[str]:
    """The documents of the catalogue the viewer may not see."""
    if viewer.sees_all:
        return frozenset()
    return frozenset(d for d, m in engine.meta.items() if not viewer.sees(m.visibility))


def scope(engine: SearchEngine, viewer: Viewer, query_cache: int) -> SearchEngine:
    """The engine as `viewer` sees it; the engine itself when nothing is hidden from them and
    they may read contacts."""
    hidden = hidden_documents(engine, viewer)
    if not hidden and viewer.signed_in:
        return engine
    view = copy.copy(engine)
    view.viewer = viewer
    view._scopes = {}
    if not hidden:
        return view
    view.hidden = hidden
    view.visible = engine.retriever.visible(hidden)  # search.retriever: the rows of the others
    view.counterparts = engine.counterparts.without(hidden)
    admits = engine.retriever.admits(view.visible)
    view._accents = dataclasses.replace(engine.accent_table(), admits=admits)
    view._speller = dataclasses.replace(engine.speller(), admits=admits)
    view._name_admits = admits
    view._expansions = Recent(query_cache)  # they hold the names' spellings this viewer may see
    view._masks = Recent(query_cache)
    return view
