"""Index generations on disk: publishing one (written beside the live one, made durable, then
named by CURRENT atomically), finding the live one, and removing what nothing refers to.

    index/CURRENT             name of the live generation, replaced atomically
    index/gen-000007/         manifest.json and centroids.npy (indexer.manifest)
    index/segments/seg-000003/  segments, shared by generations (indexer.segments)
    index/tmp-*, segments/tmp-*  being written; never read, removed when a run fails or starts

The live generation and the one before it (a reader may still have it open) are kept with the
segments they list; everything else goes when a run publishes, fails, or starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from viko.indexer.files import TMP_PREFIX, fsync_dir, fsync_tree, numbered, write_atomic
from viko.indexer.manifest import MANIFEST_FILE, Manifest, UnusableIndex, listed_segments


def publish(root: Path, manifest: Manifest, centroids: np.ndarray) -> Path:
    """Write a generation and switch CURRENT to it atomically; prune what nothing refers to.
    Everything the generation names is on the disk before CURRENT does: its files and folder
    are fsynced before the folder takes its name, and that name before CURRENT is replaced
    (itself written, fsynced and renamed by write_atomic). Raises only before the switch."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f"{TMP_PREFIX}{os.getpid()}-{time.time_ns()}"
    tmp.mkdir()
    try:
        _write_generation(tmp, manifest, centroids)
        fsync_tree(tmp)
        final = numbered(root, "gen")
        os.replace(tmp, final)
        fsync_dir(root)
        write_atomic(root / "CURRENT", final.name + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    with contextlib.suppress(OSError):  # housekeeping only: the next run's remove_leftovers finishes it
        _prune(root, keep=final.name)
    return final


def _write_generation(folder: Path, manifest: Manifest, centroids: np.ndarray) -> None:
    np.save(folder / "centroids.npy", centroids.astype(np.float32), allow_pickle=False)
    # The manifest goes last: a generation without one is never considered complete.
    manifest.save(folder / MANIFEST_FILE)


def current_generation(root: Path) -> Path:
    pointer = Path(root) / "CURRENT"
    if not pointer.exists():
        raise UnusableIndex(f"no index in {root}: run `viko index` first")
    folder = Path(root) / pointer.read_text(encoding="utf-8").strip()
    if not (folder / MANIFEST_FILE).exists():
        raise UnusableIndex(f"index generation {folder} is incomplete: run `viko index --rebuild`")
    return folder


def live_doc_hashes(root: Path, manifest: Manifest) -> dict[str, str]:
    """Content hash of every live document of a generation, read from the segments' lists
    only (what `viko status` compares with the catalogue)."""
    out: dict[str, str] = {}
    for name in manifest.segments:
        docs = json.loads((Path(root) / "segments" / name / "docs.json").read_text(encoding="utf-8"))
        dead = manifest.deleted.get(name, frozenset())
        out.update((d, h) for i, (d, h) in enumerate(zip(docs["ids"], docs["hashes"], strict=True)) if i not in dead)
    return out


def index_exists(root: Path) -> bool:
    try:
        current_generation(root)
        return True
    except UnusableIndex:
        return False


def _prune(root: Path, keep: str) -> None:
    """Keep the live generation and the one before it (a reader may still have it open) and the
    segments they list; drop older generations and everything remove_leftovers drops."""
    gens = sorted(_generations(root), key=_number)
    live = [g for g in gens if _number(g) <= _number(root / keep)]
    for old in live[:-2]:
        shutil.rmtree(old, ignore_errors=True)
    remove_leftovers(root)


def _number(folder: Path) -> int:
    tail = folder.name.rpartition("-")[2]
    return int(tail) if tail.isdigit() else -1


def _generations(root: Path) -> list[Path]:
    return [p for p in Path(root).glob("gen-*") if p.is_dir()]


def remove_leftovers(root: Path) -> list[str]:
    """Remove whatever no reader can have open and no generation will ever list: temporary
    folders (of segments, merges and generations), generation folders CURRENT never named
    (newer than the live one, or without a manifest) and segments that no remaining generation
    lists. Returns what was removed (paths relative to root).

    What a failed or killed run wrote goes here, at the latest when the next run starts. Only
    the one writer of the index may call this (viko.runtime.run_index holds the data
    directory's index lock): another writer's unpublished work would look the same."""
    root = Path(root)
    if not root.is_dir():
        return []
    removed: list[Path] = []
    try:
        live: Path | None = current_generation(root)
    except (UnusableIndex, OSError):
        live = None
    for gen in _generations(root):
        published = live is not None and (gen == live or (_number(gen) < _number(live)
                                                           and (gen / MANIFEST_FILE).is_file()))
        if not published:
            removed.append(gen)
    segments = root / "segments"
    removed += [p for p in [*root.glob(f"{TMP_PREFIX}*"), *segments.glob(f"{TMP_PREFIX}*")] if p.is_dir()]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    used: set[str] = set()
    for gen in _generations(root):
        used.update(listed_segments(gen / MANIFEST_FILE))
    unused = [seg for seg in segments.glob("seg-*") if seg.is_dir() and seg.name not in used]
    for seg in unused:
        shutil.rmtree(seg, ignore_errors=True)
    removed += unused
    if removed:
        fsync_dir(root)
        fsync_dir(segments)
    return [str(p.relative_to(root)) for p in removed]
