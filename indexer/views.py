"""Read-only views that make a segmented index look like arrays and mappings by global row
(`index.vectors[rows]`, `index.chunks[row]`, `index.doc_rows[doc_id]`), reading from the
segments' memory maps on demand instead of holding a Python object per chunk.

A view holds the pieces of the index it reads (the segments and their row bases), never the
index itself: an index and its views form no reference cycle, so a replaced generation is
freed (its maps and FAISS files closed) as soon as its last user lets go, not when Python's
cycle collector next runs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from viko.indexer import scoring
from viko.indexer.chunking import Chunk
from viko.indexer.segments import Segment


class Layout:
    """Where global rows live: the segments in order and the first global row of each."""

    def __init__(self, segments: Sequence[Segment], bases: np.ndarray) -> None:
        self.segments, self.bases = list(segments), bases
        self.size = int(bases[-1])

    def segment_of(self, rows: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.bases, rows, side="right") - 1


class Rows:
    """Row access to a per-segment matrix (`index.vectors[rows]`), gathered on demand; with a
    centroid table (LANGS order) and the rows' language codes, centred as queries see them."""

    def __init__(self, layout: Layout, dim: int, centring: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.layout, self.dim, self.centring = layout, dim, centring

    def __len__(self) -> int:
        return self.layout.size

    def __getitem__(self, rows: Any) -> np.ndarray:
        one = np.ndim(rows) == 0
        rows = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        seg = self.layout.segment_of(rows)
        if len(rows) and (seg == seg[0]).all():  # one segment: read straight, no gather (exact scans)
            out = self.layout.segments[int(seg[0])].read_vectors(rows - self.layout.bases[int(seg[0])])
        else:
            out = np.zeros((len(rows), self.dim), np.float32)
            for s in np.unique(seg).tolist():
                mask = seg == s
                out[mask] = self.layout.segments[s].read_vectors(rows[mask] - self.layout.bases[s])
        if self.centring is not None:
            table, langs = self.centring
            codes = np.asarray(langs[rows]).astype(np.int64)
            one_lang = len(codes) and (codes == codes[0]).all()
            out = scoring.centre(out, table[codes[0]] if one_lang else table[codes])
        return out[0] if one else out


class Chunks(Sequence[Chunk]):
    """`index.chunks[row]`: a chunk read from its segment when asked for."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def __len__(self) -> int:
        return self.layout.size

    def __getitem__(self, row: Any) -> Any:
        if isinstance(row, slice):
            return [self[r] for r in range(*row.indices(len(self)))]
        s = int(self.layout.segment_of(np.asarray([row]))[0])
        return self.layout.segments[s].chunk(int(row) - int(self.layout.bases[s]))


class DocRows(Mapping[str, list[int]]):
    """`index.doc_rows[doc_id]`: the global rows of a live document's chunks."""

    def __init__(self, layout: Layout, doc_ids: list[str], doc_position: dict[str, int],
                 doc_segment: np.ndarray, doc_local: np.ndarray) -> None:
        self.layout, self.doc_ids, self.doc_position = layout, doc_ids, doc_position
        self.doc_segment, self.doc_local = doc_segment, doc_local

    def __getitem__(self, doc_id: str) -> list[int]:
        pos = self.doc_position[doc_id]
        s, local = int(self.doc_segment[pos]), int(self.doc_local[pos])
        base = int(self.layout.bases[s])
        return [base + r for r in self.layout.segments[s].doc_rows(local)]

    def __iter__(self) -> Iterator[str]:
        return iter(self.doc_ids)

    def __len__(self) -> int:
        return len(self.doc_ids)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self.doc_position
