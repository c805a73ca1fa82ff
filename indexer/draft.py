"""The next generation of the index while `indexer.build.update_index` puts it together: which
segments are live in search order, their tombstones and the centroids, until it is published."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from viko.indexer import centring
from viko.indexer.centring import corpus_centroids
from viko.indexer.merge import live_by_lang
from viko.indexer.segments import LANGS, Segment
from viko.indexer.store import Index


@dataclass
class Draft:
    """The next generation while it is put together: live segment names in search order, the
    segments opened so far, tombstones, centroids, and the chunk counts they stand for."""

    folder: Path  # the index's segments folder
    names: list[str]
    segments: dict[str, Segment]
    deleted: dict[str, set[int]]
    centroids: np.ndarray
    centroid_counts: np.ndarray
    inherited: frozenset[str] = frozenset()  # segments of the previous generation, opened by it

    @classmethod
    def start(cls, folder: Path, previous: Index | None, sums: np.ndarray, counts: np.ndarray,
              reference: centring.Centroids) -> Draft:
        """The live generation as it stands; without one, centroids from what was embedded
        (per-language vector sums and chunk counts)."""
        if previous is None:
            return cls(folder, [], {}, {}, corpus_centroids(sums, counts, reference), counts.copy())
        return cls(folder, [s.name for s in previous.segments], {s.name: s for s in previous.segments},
                   {k: set(v) for k, v in previous.deleted.items()},
                   np.stack([previous.centroids[k] for k in LANGS]),
                   np.asarray(previous.manifest.centroid_counts, np.int64),
                   frozenset(s.name for s in previous.segments))

    def close(self) -> None:
        """Let go of the segments this run opened (the previous generation's are its own)."""
        for seg in self.segments.values():
            if seg.name not in self.inherited:
                seg.close()

    def segment(self, name: str) -> Segment:
        if name not in self.segments:
            self.segments[name] = Segment(self.folder / name)
        return self.segments[name]

    def add(self, name: str) -> None:
        self.names.append(name)
        self.segment(name)

    def tombstone(self, previous: Index, doc_ids: Sequence[str]) -> None:
        for doc_id in doc_ids:
            pos = previous.doc_position[doc_id]
            name = previous.segments[int(previous.doc_segment[pos])].name
            self.deleted.setdefault(name, set()).add(int(previous.doc_local[pos]))

    def merged(self, group: Sequence[str], new: str) -> None:
        """`group` became the segment `new`, which takes the place of its first member."""
        at = self.names.index(group[0])
        self.names = [n for n in self.names if n not in group]
        self.names.insert(min(at, len(self.names)), new)
        self.segment(new)
        for n in group:
            self.deleted.pop(n, None)

    def live(self, name: str) -> np.ndarray:
        """Live chunks of one segment per language (LANGS order)."""
        return live_by_lang(self.segment(name), self.deleted.get(name, set()))

    def live_counts(self) -> np.ndarray:
        total = np.zeros(len(LANGS), np.int64)
        for name in self.names:
            total += self.live(name)
        return total
