"""A search engine as one viewer sees it: the rows of the documents they may not see are
out of retrieval itself (a mask every query starts from, so totals, facets and pages are
counted over what they may see, and the top k is never shortened afterwards), counterpart
links to those documents do not exist for them (no bridging, floor evidence or related
link through a hidden document), and spelling suggestions and restored diacritics offer
only words that occur in a passage they may see. The anonymous visitor reads offers' and
demands' snippets without their contact details (viko.corpus.access.shown_text).

One scoped engine per audience (viko.corpus.access.Viewer.audience) is kept by its engine;
a new index generation or catalogue change builds a new engine, so the scopes follow it.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from viko.corpus.access import Viewer
from viko.indexer.lexical import LexicalIndex
from viko.indexer.memo import Recent
from viko.indexer.store import Index

if TYPE_CHECKING:
    from viko.search.engine import SearchEngine


def hidden_documents(engine: SearchEngine, viewer: Viewer) -> frozenset[str]:
    """The documents of the catalogue the viewer may not see."""
    if viewer.sees_all:
        return frozenset()
    return frozenset(d for d, m in engine.meta.items() if not viewer.sees(m.visibility))


def visible_rows(index: Index, hidden: frozenset[str]) -> np.ndarray:
    """The live chunk rows of every document but the hidden ones."""
    mask = index.live.copy()
    present = [d for d in hidden if d in index.doc_rows]
    if present:
        _, _, rows = index.rows_of_docs(present)
        mask[rows] = False
    return mask


ADMITS_CACHE = 65_536  # terms remembered per audience (restoring diacritics asks for the same ones)


def term_admits(lexical: LexicalIndex, visible: np.ndarray) -> Callable[[str], bool]:
    """Whether an index term occurs in at least one visible row (remembered: a common
    syllable's postings are long, and the answer holds as long as the scope does)."""
    @functools.lru_cache(maxsize=ADMITS_CACHE)
    def admits(term: str) -> bool:
        return any(bool(visible[rows].any()) for rows, _, _ in lexical.postings(term))
    return admits


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
    view.visible = visible_rows(engine.index, hidden)
    view.counterparts = engine.counterparts.without(hidden)
    admits = term_admits(engine.index.lexical, view.visible)
    view._accents = dataclasses.replace(engine.accent_table(), admits=admits)
    view._speller = dataclasses.replace(engine.speller(), admits=admits)
    view._masks = Recent(query_cache)
    return view
