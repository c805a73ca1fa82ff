"""Read-only views that make a segmented index look like arrays and mappings by global row
(`index.vectors[rows]`, `index.chunks[row]`, `index.doc_rows[doc_id]`), reading from the
segments' memory maps on demand instead of holding a Python object per chunk."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from viko.indexer.chunking import Chunk

if TYPE_CHECKING:
    from viko.indexer.store import Index


class Rows:
    """Row access to a per-segment matrix (`index.vectors[rows]`), gathered on demand."""

    def __init__(self, index: Index, centred: bool) -> None:
        self.index, self.centred = index, centred

    def __len__(self) -> int:
        return self.index.size

    def __getitem__(self, rows: Any) -> np.ndarray:
        one = np.ndim(rows) == 0
        rows = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        out = np.zeros((len(rows), int(self.index.manifest["dim"])), np.float32)
        seg = self.index.segment_of(rows)
        for s in np.unique(seg).tolist():
            mask = seg == s
            out[mask] = self.index.segments[s].read_vectors(rows[mask] - self.index.bases[s])
        if self.centred:
            out = self.index.centre(out, self.index.langs[rows])
        return out[0] if one else out


class Chunks(Sequence[Chunk]):
    """`index.chunks[row]`: a chunk read from its segment when asked for."""

    def __init__(self, index: Index) -> None:
        self._owner = index

    def __len__(self) -> int:
        return self._owner.size

    def __getitem__(self, row: Any) -> Any:
        if isinstance(row, slice):
            return [self[r] for r in range(*row.indices(len(self)))]
        s = int(self._owner.segment_of(np.asarray([row]))[0])
        return self._owner.segments[s].chunk(int(row) - int(self._owner.bases[s]))


class DocRows(Mapping[str, list[int]]):
    """`index.doc_rows[doc_id]`: the global rows of a live document's chunks."""

    def __init__(self, index: Index) -> None:
        self.index = index

    def __getitem__(self, doc_id: str) -> list[int]:
        pos = self.index.doc_position[doc_id]
        s, local = int(self.index.doc_segment[pos]), int(self.index.doc_local[pos])
        base = int(self.index.bases[s])
        return [base + r for r in self.index.segments[s].doc_rows(local)]

    def __iter__(self) -> Iterator[str]:
        return iter(self.index.doc_ids)

    def __len__(self) -> int:
        return len(self.index.doc_ids)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self.index.doc_position
