"""An engine's documents as arrays, so a query's filters (search.constraints) are array
operations over positions in `index.doc_ids` rather than Python loops over a million rows:
each chunk row's document, and the catalogue fields the query syntax filters on (type, source,
title, date) as columns. Built once per engine (its index and catalogue are fixed for its life).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from viko.corpus.counterparts import Counterparts
from viko.indexer.store import Index
from viko.search.results import DocMeta


def _codes(values: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """(distinct values, each value's position among them)."""
    seen: dict[str, int] = {}
    codes = np.fromiter((seen.setdefault(v, len(seen)) for v in values), np.int32, count=len(values))
    return list(seen), codes


class DocTable:
    def __init__(self, index: Index, meta: dict[str, DocMeta]) -> None:
        self.index = index
        n = len(index.doc_ids)
        self.size = n
        # row -> document position; n (one past the last) for a deleted document's rows, so a
        # document mask extended by one False entry indexes every row at once
        row_doc = np.full(index.size, n, np.int64)
        for s, seg in enumerate(index.segments):
            at = np.flatnonzero(index.doc_segment == s)
            inverse = np.full(len(seg.ids), n, np.int64)
            inverse[index.doc_local[at]] = at
            row_doc[index.bases[s] : index.bases[s + 1]] = inverse[np.asarray(seg.chunk_doc, np.int64)]
        self.row_doc = row_doc
        empty = DocMeta()
        metas = [meta.get(d, empty) for d in index.doc_ids]
        self.types, self.type_code = _codes([m.type.lower() for m in metas])
        self.sources, self.source_code = _codes([m.source for m in metas])
        self.titles, self.title_code = _codes([m.title for m in metas])
        self.dates = np.asarray([m.date for m in metas], dtype="U10") if n else np.zeros(0, "U10")

    def none(self) -> np.ndarray:
        return np.zeros(self.size, bool)

    def docs_at(self, rows: np.ndarray) -> np.ndarray:
        """The mask of the documents owning these rows."""
        out = np.zeros(self.size + 1, bool)
        out[self.row_doc[np.asarray(rows, np.int64)]] = True
        return out[: self.size]

    def rows_mask(self, docs: np.ndarray) -> np.ndarray:
        """The live rows of the documents in a document mask."""
        return np.append(docs, False)[self.row_doc] & self.index.live

    def rows_in(self, rows: np.ndarray, docs: np.ndarray) -> np.ndarray:
        """The rows among `rows` whose document is in the mask."""
        return rows[np.append(docs, False)[self.row_doc[rows]]]

    def where(self, codes: np.ndarray, values: Sequence[str], test: Callable[[str], bool]) -> np.ndarray:
        """The documents whose value of a column passes the test (tested once per distinct value)."""
        passing = np.fromiter((test(v) for v in values), bool, count=len(values))
        return passing[codes] if len(values) else self.none()

    def typed(self, types: Sequence[str]) -> np.ndarray:
        return self.where(self.type_code, self.types, lambda v: v in types)

    def dated(self, after: str, before: str) -> np.ndarray:
        """in_range over the date column: undated documents are in no range."""
        out = self.dates != ""
        if after:
            out &= self.dates >= after
        if before:
            out &= self.dates < before
        return out

    def with_counterparts(self, docs: np.ndarray, counterparts: Counterparts) -> np.ndarray:
        """The mask with each document's counterpart added (whichever side is smaller is walked)."""
        position = self.index.doc_position
        held = np.flatnonzero(docs)
        out = docs.copy()
        if len(counterparts) < len(held):
            for link in counterparts:
                doc, other_at = position.get(link.doc_id), position.get(link.other_id)
                if doc is not None and other_at is not None and docs[doc]:
                    out[other_at] = True
            return out
        for i in held.tolist():
            other = counterparts.other(self.index.doc_ids[i])
            if other is not None and (j := position.get(other)) is not None:
                out[j] = True
        return out
