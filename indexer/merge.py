"""Segment maintenance: which segments to merge, merging them, and re-centring.

Policy: a segment whose chunks are mostly deleted is rewritten; when there are more than
MAX_SEGMENTS segments the MERGE_FACTOR smallest become one. Segments therefore grow
geometrically (a log-structured merge), a large one is rewritten rarely, and a query searches
at most MAX_SEGMENTS + 1 segments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from viko.indexer.centring import corpus_centroids
from viko.indexer.segments import BLOCK, LANGS, Progress, Segment, SegmentWriter

MAX_SEGMENTS = 8
MERGE_FACTOR = 4
MAX_DELETED_SHARE = 0.5


def live_by_lang(seg: Segment, dead: set[int]) -> np.ndarray:
    """Live chunks of a segment per language (LANGS order)."""
    counts = np.asarray([seg.meta["by_lang"].get(lang, 0) for lang in LANGS], np.int64)
    for doc in dead:
        rows = seg.doc_rows(doc)
        counts -= np.bincount(np.asarray(seg.chunk_lang[rows.start : rows.stop], np.int64), minlength=len(LANGS))
    return counts


def plan_merges(live: Mapping[str, int], sizes: Mapping[str, int], max_segments: int = MAX_SEGMENTS) -> list[list[str]]:
    """Groups of segment names to merge, each into one new segment."""
    groups: list[list[str]] = []
    if len(live) > max_segments:
        smallest = sorted(live, key=lambda n: (live[n], n))
        groups.append(smallest[: max(MERGE_FACTOR, len(live) - max_segments + 1)])
    taken = {n for g in groups for n in g}
    for name, size in sizes.items():
        if name not in taken and size and live[name] < (1 - MAX_DELETED_SHARE) * size:
            groups.append([name])
    return groups


def merge_segments(parent: Path, segments: Sequence[Segment], deleted: Mapping[str, set[int]],
                   centroids: np.ndarray, threshold: int, progress: Progress | None = None) -> str:
    """Copy the live documents of several segments into one new segment (no re-embedding)."""
    dim = int(segments[0].meta["dim"])
    writer = SegmentWriter(parent, dim)
    total = sum(len(s.ids) for s in segments)
    done = 0
    try:
        for seg in segments:
            dead = deleted.get(seg.name, set())
            writer.copy_documents(seg, [d for d in range(len(seg.ids)) if d not in dead])
            done += len(seg.ids)
            if progress:
                progress("merging segments", done, total)
    except BaseException:
        writer.abort()
        raise
    return writer.finish(centroids, threshold, progress)


def recompute_centroids(segments: Sequence[Segment], deleted: Mapping[str, set[int]],
                        reference: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """Per-language mean of every live chunk vector, streamed block by block."""
    dim = int(segments[0].meta["dim"]) if segments else 0
    sums = np.zeros((len(LANGS), dim), np.float64)
    counts = np.zeros(len(LANGS), np.int64)
    for seg in segments:
        alive = np.ones(seg.size, bool)
        for doc in deleted.get(seg.name, set()):
            rows = seg.doc_rows(doc)
            alive[rows.start : rows.stop] = False
        for lo in range(0, seg.size, BLOCK):
            hi = min(lo + BLOCK, seg.size)
            vecs, langs = np.asarray(seg.vectors[lo:hi]), np.asarray(seg.chunk_lang[lo:hi])
            for code in range(len(LANGS)):
                mask = (langs == code) & alive[lo:hi]
                sums[code] += vecs[mask].sum(axis=0)
                counts[code] += int(mask.sum())
    return corpus_centroids(sums, counts, reference)
