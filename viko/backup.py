"""Backups of a data directory taken while it is in use (`viko backup`), and their restore.

A backup folder mirrors the data directory it was taken from:

    backup.partial     written first, removed last: a folder with it and no backup.json was interrupted
    catalogue.sqlite   SQLite's online backup API: one snapshot, while the server and importers go on
    index/CURRENT, index/gen-<n>/, index/segments/seg-<m>/
                       the live generation only, with the segments its manifest lists
    cache/, matching/, sentences/ ...   every other file of the data directory, as found
    backup.json        written last, atomically: every file with its size and SHA-256, when, which
                       viko, which generation; a backup without it is incomplete and never restored

Consistency: a published generation's files never change (indexer.generations), so the backup
opens every file of the live one before copying any; `viko index` may publish and prune
meanwhile, and an open file outlives its removal. The catalogue is copied after that, so it is
at least as new as the index: anything newer is "waiting for `viko index`", as after an import.
Lock files, temporary files and SQLite's -wal/-shm companions are never copied.

A restore copies the files into a temporary sibling of the data directory, checking each
against its checksum, and only then renames it into place: the data directory is the old one or
the restored one, never half of each; an existing one is moved aside, not deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import viko
from viko.indexer.files import fsync_dir, write_atomic
from viko.indexer.manifest import MANIFEST_FILE
from viko.locking import LockBusy, data_lock
from viko.settings import RUN_FOLDER

BACKUP_MANIFEST = "backup.json"
PARTIAL = "backup.partial"
FORMAT_VERSION = 1
CATALOGUE = "catalogue.sqlite"
SQLITE_HEADER = b"SQLite format 3\x00"
CHUNK = 1 << 20
ALIGN_LOCK = "align.lock"  # viko.align_all.ALIGN_LOCK, named here so a backup loads no model code
ATTEMPTS = 10  # live generations replaced under one backup before it gives up
# Never copied: locks (held by whoever runs), files being written, SQLite's companion files
# (the online backup API reads through them).
SKIPPED_SUFFIXES = (".lock", "-wal", "-shm", "-journal")

Progress = Callable[[str], None]


class BackupError(RuntimeError):
    """A backup that cannot be taken or restored; the message says why and what to do."""


@dataclass(frozen=True)
class BackedUpFile:
    path: str  # relative, with forward slashes
    bytes: int
    sha256: str


@dataclass(frozen=True)
class BackupManifest:
    created: str
    source: str
    generation: str  # "" when the data directory had no index yet
    files: tuple[BackedUpFile, ...]
    viko_version: str = viko.__version__
    seconds: float = 0.0
    index: dict[str, Any] = field(default_factory=dict)  # model, documents, chunks of the generation
    skipped: tuple[str, ...] = ()  # what was left out besides locks and temporary files, with why

    @property
    def total_bytes(self) -> int:
        return sum(f.bytes for f in self.files)

    def to_json(self) -> dict[str, Any]:
        return {"format_version": FORMAT_VERSION, "viko_version": self.viko_version, "created": self.created,
                "seconds": round(self.seconds, 3), "source": self.source, "generation": self.generation,
                "index": self.index, "skipped": list(self.skipped),
                "files": [{"path": f.path, "bytes": f.bytes, "sha256": f.sha256} for f in self.files]}

    @classmethod
    def load(cls, folder: Path) -> BackupManifest:
        """The manifest of a complete backup; BackupError saying why when there is none."""
        path = Path(folder) / BACKUP_MANIFEST
        if not Path(folder).is_dir():
            raise BackupError(f"{folder} is not a folder")
        if not path.exists():
            why = " (an interrupted backup: it has backup.partial)" if (Path(folder) / PARTIAL).exists() else ""
            raise BackupError(f"{folder} is not a complete viko backup: it has no {BACKUP_MANIFEST}{why}; "
                              "restore another backup, or take a new one")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("format_version") != FORMAT_VERSION:
                raise BackupError(f"{path} is of backup format {raw.get('format_version')!r}, made by viko "
                                  f"{raw.get('viko_version')}; this viko reads format {FORMAT_VERSION}")
            files = tuple(BackedUpFile(_safe_path(str(f["path"])), int(f["bytes"]), str(f["sha256"]))
                          for f in raw["files"])
            return cls(created=str(raw["created"]), source=str(raw["source"]), generation=str(raw["generation"]),
                       files=files, viko_version=str(raw["viko_version"]), seconds=float(raw.get("seconds", 0)),
                       index=dict(raw.get("index") or {}), skipped=tuple(raw.get("skipped", ())))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError,
                AttributeError) as exc:
            raise BackupError(f"{path} cannot be read ({type(exc).__name__}: {exc}): the backup is damaged") from exc


def _safe_path(path: str) -> str:
    """A manifest's file path, refused unless it stays inside the folder it names a file of."""
    parts = PurePosixPath(path).parts
    if not parts or path.startswith("/") or ".." in parts or "\\" in path:
        raise ValueError(f"the file path {path!r} leaves the backup folder")
    return path


# -- taking a backup ---------------------------------------------------------------------
def backup(data_dir: Path, target: Path, progress: Progress | None = None) -> BackupManifest:
    """Copy data_dir into target (absent, empty, or an interrupted backup) while it is in use."""
    data_dir, target = Path(data_dir).absolute(), Path(target).absolute()
    if not (data_dir / CATALOGUE).is_file():
        raise BackupError(f"no data directory at {data_dir} (it has no {CATALOGUE}); nothing to back up")
    if target.resolve().is_relative_to(data_dir.resolve()) or data_dir.resolve().is_relative_to(target.resolve()):
        raise BackupError(f"the backup folder {target} and the data directory {data_dir} must not contain each other")
    _prepare(target)
    started, created = time.monotonic(), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    (target / PARTIAL).write_text(f"backup of {data_dir} started {created} by pid {os.getpid()}\n", encoding="utf-8")
    note = progress or (lambda _path: None)
    files: list[BackedUpFile] = []
    with _live_generation(data_dir / "index") as (generation, opened, index_facts):
        files.append(_backup_sqlite(data_dir / CATALOGUE, target, CATALOGUE))  # after the index: at least as new
        note(CATALOGUE)
        for rel, handle in opened:
            files.append(_copy(handle, target, rel))
            note(rel)
    if generation:
        write_atomic(target / "index" / "CURRENT", generation + "\n")
        files.append(_checksum(target, "index/CURRENT"))
    others, skipped = _other_files(data_dir)
    for rel in others:
        if (done := _copy_other(data_dir, target, rel)) is not None:
            files.append(done)
            note(rel)
    for folder in sorted({(target / f.path).parent for f in files}, key=lambda p: -len(p.parts)):
        fsync_dir(folder)
    manifest = BackupManifest(created=created, source=str(data_dir), generation=generation, files=tuple(files),
                              seconds=time.monotonic() - started, index=index_facts, skipped=tuple(skipped))
    write_atomic(target / BACKUP_MANIFEST, json.dumps(manifest.to_json(), ensure_ascii=False, indent=1))
    (target / PARTIAL).unlink()
    fsync_dir(target)
    return manifest


def _prepare(target: Path) -> None:
    """target made ready: created, or emptied when it holds an interrupted backup."""
    if target.exists() and not target.is_dir():
        raise BackupError(f"{target} is a file, not a folder")
    if not target.exists():
        target.mkdir(parents=True, mode=0o700)  # it holds the catalogue and any secret key: private
        return
    entries = list(target.iterdir())
    if (target / BACKUP_MANIFEST).exists():
        raise BackupError(f"{target} already holds a complete backup; back up into a new folder "
                          "(e.g. one named by the date), or remove that one first")
    if entries and not (target / PARTIAL).exists():
        raise BackupError(f"{target} is not empty and holds no viko backup; back up into a new or empty folder")
    for entry in entries:  # an interrupted backup: started again from nothing
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


@contextmanager
def _live_generation(root: Path) -> Iterator[tuple[str, list[tuple[str, BinaryIO]], dict[str, Any]]]:
    """(name, every file of the live generation opened, its facts) for the block: ("", [], {})
    without an index. When a publish prunes the generation between reading CURRENT and opening
    its files, CURRENT is read again; a generation that stays incomplete is a damaged index."""
    last = ""
    for _ in range(ATTEMPTS):
        try:
            name = (root / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            yield "", [], {}
            return
        with ExitStack() as stack:
            try:
                opened, facts = _open_generation(root, name, stack)
            except (FileNotFoundError, NotADirectoryError, ValueError) as exc:
                if name == last:
                    raise BackupError(f"the live index generation {name} is damaged ({exc}): run "
                                      "`viko index --rebuild`, then back up again") from exc
                last = name
                continue
            yield name, opened, facts
            return
    raise BackupError(f"the index was replaced {ATTEMPTS} times while being backed up; try again")


def _open_generation(root: Path, name: str, stack: ExitStack) -> tuple[list[tuple[str, BinaryIO]], dict[str, Any]]:
    folder = root / name
    if not name.startswith("gen-") or "/" in name:
        raise ValueError(f"CURRENT names {name!r}")
    manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    opened: list[tuple[str, BinaryIO]] = []
    folders = [(f"index/{name}", folder)]
    folders += [(f"index/segments/{seg}", root / "segments" / str(seg)) for seg in manifest.get("segments", [])]
    for rel, path in folders:
        for item in sorted(path.iterdir()):  # flat folders (indexer.files.fsync_tree)
            if item.is_file() and not item.is_symlink():
                opened.append((f"{rel}/{item.name}", stack.enter_context(item.open("rb"))))
    facts = {"model": manifest.get("model"), "documents": manifest.get("documents"), "chunks": manifest.get("chunks"),
             "created": manifest.get("created")}
    return opened, facts


def _backup_sqlite(source: Path, target: Path, rel: str) -> BackedUpFile:
    """One consistent copy with SQLite's online backup API, in one step: one read transaction,
    which WAL lets writers work beside. The source is opened read-only; the copy is checked."""
    dest = target / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    src = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True, timeout=60)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot back up {source}: {exc}") from exc
    finally:
        src.close()
    if check != "ok":
        raise BackupError(f"{source} fails SQLite's check ({check}); the copy would be damaged too")
    with open(dest, "rb+") as fh:
        os.fsync(fh.fileno())
    os.chmod(dest, stat.S_IMODE(source.stat().st_mode))
    return _checksum(target, rel)


def _copy(source: BinaryIO, target: Path, rel: str) -> BackedUpFile:
    """source written to target/rel, flushed to the disk, hashed on the way."""
    dest = target / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with open(dest, "wb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    _same_mode(source.fileno(), dest)
    return BackedUpFile(rel, size, digest.hexdigest())


def _same_mode(source_fd: int, dest: Path) -> None:
    """dest gets the permissions of the source (a secret key stays readable by its owner only)."""
    os.chmod(dest, stat.S_IMODE(os.fstat(source_fd).st_mode))


def _checksum(target: Path, rel: str) -> BackedUpFile:
    digest, size = hashlib.sha256(), 0
    with open(target / rel, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return BackedUpFile(rel, size, digest.hexdigest())


def _other_files(data_dir: Path) -> tuple[list[str], list[str]]:
    """Every file of the data directory besides the catalogue and the index (what is copied as
    found), and what is left out for another reason than being a lock or temporary file."""
    keep, skipped = [], []
    for path in sorted(data_dir.rglob("*")):
        rel = path.relative_to(data_dir).as_posix()
        if rel == CATALOGUE or rel == "index" or rel.startswith("index/") or path.is_dir():
            continue
        if rel.startswith(RUN_FOLDER + "/"):  # a running server's state (its workers' request counts)
            continue
        if path.name.endswith(SKIPPED_SUFFIXES) or ".tmp" in path.name or path.name.startswith("tmp-"):
            continue
        if path.is_symlink() or not path.is_file():
            skipped.append(f"{rel} (not a plain file)")
            continue
        keep.append(rel)
    return keep, skipped


def _copy_other(data_dir: Path, target: Path, rel: str) -> BackedUpFile | None:
    """One other file (another SQLite database through the backup API); None when it went
    away meanwhile (a cache entry or a staged upload, removed by its owner)."""
    try:
        with open(data_dir / rel, "rb") as fh:
            if fh.read(len(SQLITE_HEADER)) == SQLITE_HEADER:
                fh.close()
                return _backup_sqlite(data_dir / rel, target, rel)
            fh.seek(0)
            return _copy(fh, target, rel)
    except FileNotFoundError:
        return None


# -- checking and restoring --------------------------------------------------------------
def verify(folder: Path) -> BackupManifest:
    """The manifest of a complete backup whose every file is there with its size and checksum."""
    manifest = BackupManifest.load(folder)
    for f in manifest.files:
        _check_file(Path(folder), f)
    return manifest


def _check_file(folder: Path, f: BackedUpFile) -> None:
    path = folder / f.path
    try:
        found = _checksum(folder, f.path)
    except OSError as exc:
        raise BackupError(f"the backup {folder} is damaged: {f.path} cannot be read ({exc})") from exc
    if (found.bytes, found.sha256) != (f.bytes, f.sha256):
        raise BackupError(f"the backup {folder} is damaged: {path} does not match its checksum in "
                          f"{BACKUP_MANIFEST} ({found.bytes} bytes, {f.bytes} expected)")


@dataclass(frozen=True)
class Restored:
    manifest: BackupManifest
    data_dir: Path
    moved_aside: Path | None  # where the data directory that was there went


def restore(folder: Path, data_dir: Path, *, replace: bool = False) -> Restored:
    """Restore a complete, intact backup into data_dir, all at once (see the module's doc)."""
    folder, data_dir = Path(folder).absolute(), Path(data_dir).absolute()
    manifest = BackupManifest.load(folder)
    occupied = data_dir.exists() and (not data_dir.is_dir() or any(data_dir.iterdir()))
    if occupied and not replace:
        raise BackupError(f"{data_dir} already holds data; add --replace to move it aside (it is kept, "
                          f"renamed) and restore in its place")
    if occupied and not ((data_dir / CATALOGUE).exists() or (data_dir / "index").is_dir()):
        raise BackupError(f"{data_dir} holds something other than a viko data directory; restore into a new "
                          "or empty folder")
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    for stale in data_dir.parent.glob(f".{data_dir.name}.restoring-*"):  # a killed restore's
        shutil.rmtree(stale, ignore_errors=True)
    work = data_dir.parent / f".{data_dir.name}.restoring-{os.getpid()}"
    try:
        work.mkdir()
        for f in manifest.files:
            (work / f.path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / f.path, work / f.path)
            shutil.copymode(folder / f.path, work / f.path)
            _check_file(work, f)  # the copy, checked: what goes live is what was backed up
            with open(work / f.path, "rb+") as fh:
                os.fsync(fh.fileno())
        for sub in sorted({(work / f.path).parent for f in manifest.files}, key=lambda p: -len(p.parts)):
            fsync_dir(sub)
        aside = _swap(work, data_dir, occupied)
    except FileNotFoundError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise BackupError(f"the backup {folder} is damaged: {exc.filename} is missing") from exc
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Restored(manifest, data_dir, aside)


def _swap(work: Path, data_dir: Path, occupied: bool) -> Path | None:
    """work renamed to data_dir; an occupied data_dir first renamed aside, under its locks so no
    `viko index` or `viko align-all` is writing it. Returns where it went."""
    if not occupied:
        if data_dir.exists():
            data_dir.rmdir()  # empty
        os.rename(work, data_dir)
        fsync_dir(data_dir.parent)
        return None
    aside = data_dir.with_name(f"{data_dir.name}.before-restore-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
    try:
        with data_lock(data_dir), data_lock(data_dir, name=ALIGN_LOCK, what="`viko align-all`"):
            os.rename(data_dir, aside)
            try:
                os.rename(work, data_dir)
            except BaseException:
                os.rename(aside, data_dir)
                raise
    except LockBusy as exc:
        raise BackupError(f"{exc}; nothing was restored") from exc
    fsync_dir(data_dir.parent)
    return aside
