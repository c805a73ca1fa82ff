"""The file steps that keep an index usable through a crash, shared by segments and generations:
numbered folders (`seg-000012`, `gen-000004`) and durable, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

TMP_PREFIX = "tmp-"  # folders being written (a segment, a merge, a generation), never read


def next_number(parent: Path, prefix: str) -> int:
    """One more than the highest `<prefix>-<number>` in parent (1 when there is none)."""
    start = len(prefix) + 1
    numbers = [int(p.name[start:]) for p in parent.glob(f"{prefix}-*") if p.name[start:].isdigit()]
    return max(numbers, default=0) + 1


def numbered(parent: Path, prefix: str) -> Path:
    """The next free numbered name in parent, e.g. parent/seg-000013."""
    return parent / f"{prefix}-{next_number(parent, prefix):06d}"


def write_atomic(path: Path, text: str) -> None:
    """Replace path with text all at once: written beside it, flushed to the disk, renamed over
    it, and the rename made durable. A crash leaves the old file or the new one, never half."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """Make the renames in a folder durable (where the file system allows it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    """Flush every file of a folder (not recursive: segments and generations are flat) and then
    the folder itself to the disk, so a later rename publishes contents that a power cut cannot
    tear. Unlike fsync_dir, a file that cannot be flushed is an error: it would go live unsaved."""
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.is_symlink():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    fsync_dir(folder)
