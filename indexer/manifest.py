"""The manifest of an index generation: what it holds and how it was built, as one typed record.

`gen-<n>/manifest.json` is written by `Manifest.save` and read by `Manifest.load` only; every
other module reads the record's fields. On disk (format 2, the format indexes have had since
segments and reference centroids):

    format_version      FORMAT_VERSION; any other is refused with what to run
    model, dim          the encoder the vectors come from
    params              {"chunk_chars", "overlap"}: the chunking, which an index can grow under
    created             UTC time, ISO 8601
    segments            live segment names, in search order
    deleted             {segment: [document numbers]}: tombstones of replaced or removed documents
    documents, chunks   live counts; chunks_by_lang: live chunks per language (languages with none left out)
    centroid_counts     chunks per language (LANGS order) the centroids were computed from
    reference_centroids {lang: [floats]}: the reference centroids (indexer.centring); absent before them

A manifest that cannot be read, lacks a field, has another format version or another model
raises UnusableIndex with a message that says what to run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from viko.indexer.files import write_atomic

FORMAT_VERSION = 2
MANIFEST_FILE = "manifest.json"
REBUILD = "run `viko index --rebuild`"

T = TypeVar("T")


class UnusableIndex(RuntimeError):
    """The index is missing, damaged, or was built with another model or format."""


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def float_centroids(centroids: Mapping[str, np.ndarray]) -> dict[str, tuple[float, ...]]:
    """Centroid vectors as the manifest keeps them (float32 values, exactly)."""
    return {lang: tuple(float(x) for x in np.asarray(vec, np.float32)) for lang, vec in centroids.items()}


@dataclass(frozen=True)
class Manifest:
    model: str
    dim: int
    chunk_chars: int
    overlap: int
    segments: tuple[str, ...]
    documents: int
    chunks_by_lang: Mapping[str, int]
    centroid_counts: tuple[int, ...]
    deleted: Mapping[str, frozenset[int]] = field(default_factory=dict)
    reference_centroids: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    created: str = field(default_factory=utc_now)
    analysis: int = 1  # indexer.analyze.ANALYSIS_VERSION of its terms (1: an index written before it)

    @property
    def chunks(self) -> int:
        return sum(self.chunks_by_lang.values())

    @property
    def reference(self) -> dict[str, np.ndarray]:
        """The reference centroids the index was built with (none for an index built before them)."""
        return {lang: np.asarray(vec, np.float32) for lang, vec in self.reference_centroids.items()}

    def chunking_is(self, chunk_chars: int, overlap: int) -> bool:
        return (self.chunk_chars, self.overlap) == (chunk_chars, overlap)

    # -- on disk ---------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model, "dim": self.dim,
            "params": {"chunk_chars": self.chunk_chars, "overlap": self.overlap},
            "created": self.created, "segments": list(self.segments),
            "deleted": {name: sorted(docs) for name, docs in self.deleted.items() if docs},
            "documents": self.documents, "chunks": self.chunks, "chunks_by_lang": dict(self.chunks_by_lang),
            "centroid_counts": list(self.centroid_counts),
            "reference_centroids": {lang: list(vec) for lang, vec in self.reference_centroids.items()},
            "analysis": self.analysis, "format_version": FORMAT_VERSION,
        }

    def save(self, path: Path) -> None:
        """Write atomically (temporary file, fsync, rename): a reader sees the old file or this one."""
        write_atomic(Path(path), json.dumps(self.to_json(), ensure_ascii=False, indent=1))

    @classmethod
    def load(cls, path: Path, *, expect_model: str | None = None) -> Manifest:
        """The manifest at path; UnusableIndex, saying what to run, when it is missing or
        damaged, of another format version, or (with expect_model) of another model."""
        path = Path(path)
        raw = _read(path)
        version = raw.get("format_version")
        if version != FORMAT_VERSION:
            raise UnusableIndex(f"index format {version} in {path.parent} is not the supported format "
                                f"{FORMAT_VERSION}: {REBUILD}")
        manifest = cls.from_json(raw, path)
        if expect_model and manifest.model != expect_model:
            raise UnusableIndex(
                f"the index in {path.parent} was built with model {manifest.model!r} but the encoder is "
                f"{expect_model!r}; {REBUILD} (or set VIKO_ENCODER to the index's model)")
        return manifest

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], path: Path | str = MANIFEST_FILE) -> Manifest:
        def get(key: str, convert: Callable[[Any], T], default: T | None = None) -> T:
            if key not in raw:
                if default is not None:
                    return default
                raise UnusableIndex(f"{path} lacks the field {key!r}: {REBUILD}")
            try:
                return convert(raw[key])
            except (TypeError, ValueError, AttributeError, KeyError) as exc:
                raise UnusableIndex(f"{path} has a bad {key!r} ({exc}): {REBUILD}") from exc

        chunk_chars, overlap = get("params", lambda p: (int(p["chunk_chars"]), int(p["overlap"])))
        return cls(
            model=get("model", str), dim=get("dim", int), chunk_chars=chunk_chars, overlap=overlap,
            segments=get("segments", lambda v: tuple(str(s) for s in v)),
            documents=get("documents", int),
            chunks_by_lang=get("chunks_by_lang", lambda v: {str(k): int(n) for k, n in v.items()}),
            centroid_counts=get("centroid_counts", lambda v: tuple(int(n) for n in v)),
            deleted=get("deleted", lambda v: {str(k): frozenset(int(d) for d in ds) for k, ds in v.items()}, {}),
            reference_centroids=get("reference_centroids",
                                    lambda v: {str(k): tuple(float(x) for x in vec) for k, vec in (v or {}).items()}, {}),
            created=get("created", str), analysis=get("analysis", int, 1),
        )


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise UnusableIndex(f"index generation {path.parent} has no {path.name} (incomplete): {REBUILD}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnusableIndex(f"cannot read {path}: {exc}; {REBUILD}") from exc
    if not isinstance(raw, dict):
        raise UnusableIndex(f"{path} is not a manifest: {REBUILD}")
    return raw


def listed_segments(path: Path) -> list[str]:
    """The segments a generation's manifest lists, whatever its format version: pruning keeps
    them while the generation exists, since a process of another version may have it open."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        return [str(s) for s in raw.get("segments", [])]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError, TypeError):
        return []
