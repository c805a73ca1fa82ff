"""`viko backup` and `viko restore` as users run them (the installed command), on a data
directory indexed with the fake encoder:

- kill -9 in the middle of a backup: the data directory is unharmed, the half backup is
  recognised and refused by `viko restore`, and the next backup into the same folder completes
  and restores to a data directory whose search answers as the original's;
- a backup taken while the server answers queries, or while `viko index` publishes and prunes
  generations under it, restores to a working copy of what it saw;
- a damaged backup or index, and every folder a backup or restore must not touch, get a clear
  error and leave the data directory as it was.

A killed child runs the real CLI and stops at a chosen copy (it writes a marker file and
sleeps), so the kill lands mid-backup deterministically (tests/test_fault_injection.py)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

import viko.backup as backup_module
from viko.backup import BACKUP_MANIFEST, PARTIAL, BackupError, backup, restore
from viko.corpus.catalogue import Catalogue
from viko.corpus.document import make_document
from viko.matching.session import SessionConfig, SessionStore
from viko.settings import Settings

from helpers import SMALL_DOCS, FakeEncoder

VIKO = Path(sys.executable).with_name("viko")
QUERIES = ["năng lượng tái tạo", "반도체 인력", "nuôi tôm IoT"]
MORE_DOCS = [{"id": f"extra-{i}", "lang": "vi", "title": f"Báo cáo điện gió số {i}",
              "text": f"Báo cáo số {i} về hợp tác đào tạo kỹ sư điện gió giữa hai tỉnh."} for i in range(6)]
DRIVER = """
import sys, time
from pathlib import Path
marker, after = Path(sys.argv[1]), int(sys.argv[2])
import viko.backup
copy, calls = viko.backup._copy, {"n": 0}

def stopping_copy(*args):
    calls["n"] += 1
    if calls["n"] == after:
        marker.write_text("stopped")
        time.sleep(600)  # killed here
    return copy(*args)

viko.backup._copy = stopping_copy
from viko.cli import main
main(sys.argv[3:], prog_name="viko")
"""


def viko(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIKO_")}
    return subprocess.run([str(VIKO), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def ok(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    return run.stdout


def add_docs(data: Path, docs: list[dict[str, object]]) -> None:
    with Catalogue.open(data / "catalogue.sqlite") as cat:
        cat.upsert_many([make_document(d) for d in docs])


def index(data: Path, rebuild: bool = False) -> None:
    from viko.runtime import run_index

    run_index(Settings.from_env(env={}, data_dir=data), rebuild=rebuild)


def answers(data: Path) -> list[list[str]]:
    """What a search of each query finds, in order (a fresh engine over data)."""
    from viko.indexer.analyze import default_analyzer
    from viko.runtime import build_engine

    engine = build_engine(Settings.from_env(env={}, data_dir=data), analyzer=default_analyzer())
    try:
        return [[h.id for h in engine.search(q, limit=20).hits] for q in QUERIES]
    finally:
        engine.index.close()


def tree(folder: Path) -> dict[str, str]:
    """Every file but SQLite's companions and locks, by relative path: its SHA-256."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(("-wal", "-shm", ".lock"))}


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory with four documents indexed, a cache, a session and a private key."""
    monkeypatch.setattr("viko.runtime.cached_encoder", lambda _choice: FakeEncoder())
    folder = tmp_path / "data"
    add_docs(folder, SMALL_DOCS)
    index(folder)
    SessionStore(folder).save(SessionConfig(tables=7))
    secret = folder / "secret.key"  # as web/auth.py keeps the key that signs sessions
    secret.write_text(os.urandom(32).hex(), encoding="ascii")
    secret.chmod(0o600)
    return folder


def test_killed_backup_harms_nothing_and_the_next_one_restores(data: Path, tmp_path: Path) -> None:
    before, found = tree(data), answers(data)
    assert all(found), found
    target, marker = tmp_path / "backup", tmp_path / "stopped"
    argv = [sys.executable, "-c", DRIVER, str(marker), "3", "--data", str(data), "backup", str(target)]
    proc = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not marker.exists():  # the catalogue and two index files are written by then
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the backup never reached its stop point"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL

    assert (target / "catalogue.sqlite").is_file() and (target / PARTIAL).is_file()
    assert not (target / BACKUP_MANIFEST).exists()
    refused = viko("restore", str(target), "--data", str(tmp_path / "restored"), cwd=tmp_path)
    assert refused.returncode == 1 and "not a complete viko backup" in refused.stderr
    assert "interrupted" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "restored").exists() and not list(tmp_path.glob(".restored.restoring-*"))
    assert viko("restore", "--check", str(target), cwd=tmp_path).returncode == 1

    assert tree(data) == before  # the data directory is as it was
    assert answers(data) == found

    out = ok(viko("--data", str(data), "backup", str(target), cwd=tmp_path))  # the same folder, started again
    assert "backed up" in out and (target / BACKUP_MANIFEST).is_file() and not (target / PARTIAL).exists()
    assert "every checksum matches" in ok(viko("restore", "--check", str(target), cwd=tmp_path))
    ok(viko("restore", str(target), "--data", str(tmp_path / "restored"), cwd=tmp_path))
    restored = tmp_path / "restored"
    assert answers(restored) == found
    copied = tree(restored)
    assert copied.pop("catalogue.sqlite") and copied == {k: v for k, v in tree(data).items() if k != "catalogue.sqlite"}
    assert (restored / "secret.key").stat().st_mode & 0o777 == 0o600  # a secret stays private
    assert SessionStore(restored).load().tables == 7


def test_backup_while_the_server_answers_queries(data: Path, tmp_path: Path) -> None:
    from viko.web.localserver import local_server

    found = answers(data)
    statuses: list[int] = []
    stop = threading.Event()
    with local_server(Settings.from_env(env={}, data_dir=data, web_rate_per_minute=0)) as base:
        def ask() -> None:
            with httpx.Client(base_url=base, timeout=60) as client:
                while not stop.is_set():
                    for q in QUERIES:
                        statuses.append(client.get("/api/search", params={"q": q}).status_code)

        asking = threading.Thread(target=ask, daemon=True)
        asking.start()
        while not statuses:
            time.sleep(0.05)
        try:
            run = viko("--data", str(data), "backup", str(tmp_path / "backup"), cwd=tmp_path)
        finally:
            stop.set()
            asking.join(60)
    ok(run)
    assert statuses and set(statuses) == {200}, statuses
    ok(viko("restore", str(tmp_path / "backup"), "--data", str(tmp_path / "restored"), cwd=tmp_path))
    assert answers(tmp_path / "restored") == found


def test_backup_keeps_the_generation_it_opened_while_index_prunes_it(data: Path, tmp_path: Path) -> None:
    """Two rebuilds publish while the backup copies: the generation it opened is pruned from
    the data directory, and the backup still holds it whole, with the catalogue of its time."""
    found, first = answers(data), (data / "index" / "CURRENT").read_text().strip()
    segments = {p.name for p in (data / "index" / "segments").iterdir()}
    ran: list[str] = []

    def publish_twice(rel: str) -> None:
        if rel.startswith("index/") and not ran:
            ran.append(rel)
            add_docs(data, MORE_DOCS)
            index(data, rebuild=True)
            index(data, rebuild=True)

    manifest = backup(data, tmp_path / "backup", progress=publish_twice)
    assert ran and manifest.generation == first
    assert not (data / "index" / first).exists()
    assert not segments & {p.name for p in (data / "index" / "segments").iterdir()}  # all pruned
    restored = restore(tmp_path / "backup", tmp_path / "restored").data_dir
    assert answers(restored) == found
    assert "extra-0" not in {d for hits in answers(restored) for d in hits}


def test_backup_reads_current_again_when_its_generation_goes_first(
        data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A publish between reading CURRENT and opening the files: the next generation is taken."""
    opened = backup_module._open_generation
    names: list[str] = []

    def late(root: Path, name: str, stack: object) -> object:
        names.append(name)
        if len(names) == 1:
            add_docs(data, MORE_DOCS)
            index(data, rebuild=True)
            index(data, rebuild=True)
        return opened(root, name, stack)  # type: ignore[arg-type]

    monkeypatch.setattr(backup_module, "_open_generation", late)
    manifest = backup(data, tmp_path / "backup")
    live = (data / "index" / "CURRENT").read_text().strip()
    assert names[0] != live and manifest.generation == live
    restored = restore(tmp_path / "backup", tmp_path / "restored").data_dir
    live_manifest = json.loads((data / "index" / live / "manifest.json").read_text())
    assert manifest.index["documents"] == live_manifest["documents"] > len(SMALL_DOCS)
    assert answers(restored) == answers(data)


def test_a_damaged_backup_is_refused_and_the_data_directory_kept(data: Path, tmp_path: Path) -> None:
    target = tmp_path / "backup"
    manifest = backup(data, target)
    before = tree(data)
    victim = next(f.path for f in manifest.files if "/segments/" in f.path)
    raw = bytearray((target / victim).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (target / victim).write_bytes(bytes(raw))
    run = viko("restore", str(target), "--data", str(data), "--replace", cwd=tmp_path)
    assert run.returncode == 1 and "does not match its checksum" in run.stderr and victim in run.stderr
    assert tree(data) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith((".data", "data."))) == []
    assert viko("restore", "--check", str(target), cwd=tmp_path).returncode == 1


def test_restore_replaces_a_data_directory_all_at_once_and_keeps_the_old_one(data: Path, tmp_path: Path) -> None:
    found = answers(data)
    backup(data, tmp_path / "backup")
    add_docs(data, MORE_DOCS)
    index(data)
    changed = tree(data)
    refused = viko("restore", str(tmp_path / "backup"), "--data", str(data), cwd=tmp_path)
    assert refused.returncode == 1 and "--replace" in refused.stderr and tree(data) == changed
    out = ok(viko("restore", str(tmp_path / "backup"), "--data", str(data), "--replace", cwd=tmp_path))
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("data.before-restore-")]
    assert len(aside) == 1 and str(aside[0]) in out and tree(aside[0]) == changed
    assert answers(data) == found


def test_folders_a_backup_or_restore_must_not_touch(data: Path, tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="must not contain each other"):
        backup(data, data / "backups" / "today")
    stranger = tmp_path / "photos"
    stranger.mkdir()
    (stranger / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(BackupError, match="not empty and holds no viko backup"):
        backup(data, stranger)
    done = backup(data, tmp_path / "backup")
    with pytest.raises(BackupError, match="already holds a complete backup"):
        backup(data, tmp_path / "backup")
    with pytest.raises(BackupError, match="no data directory"):
        backup(tmp_path / "nothing", tmp_path / "b2")
    with pytest.raises(BackupError, match="something other than a viko data directory"):
        restore(tmp_path / "backup", stranger, replace=True)
    assert (stranger / "cat.jpg").read_bytes() == b"\xff\xd8"
    # A manifest naming a file outside its folder is refused before anything is written.
    raw = json.loads((tmp_path / "backup" / BACKUP_MANIFEST).read_text())
    raw["files"][0]["path"] = "../escape"
    (tmp_path / "backup" / BACKUP_MANIFEST).write_text(json.dumps(raw))
    with pytest.raises(BackupError, match="leaves the backup folder"):
        restore(tmp_path / "backup", tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere").exists() and not (tmp_path / "escape").exists()
    assert done.files and all(f.sha256 for f in done.files)


def test_a_damaged_index_is_reported_not_backed_up(data: Path, tmp_path: Path) -> None:
    gen = json.loads(next((data / "index").glob("gen-*/manifest.json")).read_text())
    for path in (data / "index" / "segments" / gen["segments"][0]).iterdir():
        path.unlink()
    (data / "index" / "segments" / gen["segments"][0]).rmdir()
    run = viko("--data", str(data), "backup", str(tmp_path / "backup"), cwd=tmp_path)
    assert run.returncode == 1 and "is damaged" in run.stderr and "viko index --rebuild" in run.stderr
    assert not (tmp_path / "backup" / BACKUP_MANIFEST).exists()


def test_the_catalogue_copy_is_one_snapshot(data: Path, tmp_path: Path) -> None:
    """A write transaction left open on the catalogue neither blocks the backup nor gets into it."""
    writer = sqlite3.connect(data / "catalogue.sqlite", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM documents")
    try:
        backup(data, tmp_path / "backup")
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    with sqlite3.connect(tmp_path / "backup" / "catalogue.sqlite") as copy:
        assert copy.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == len(SMALL_DOCS)


def test_the_align_lock_name_is_the_runners() -> None:
    from viko.align_all import ALIGN_LOCK

    assert backup_module.ALIGN_LOCK == ALIGN_LOCK


def test_a_running_servers_request_counts_are_not_backed_up(tmp_path: Path) -> None:
    """`viko serve --workers N` keeps its workers' counts under run/ (web/operations.py): the
    state of a running server, not data; a restore must not bring back another server's."""
    from viko.backup import _other_files

    counts = Settings.from_env(env={}, data_dir=tmp_path).run_root / "metrics" / "41" / "42.json"
    counts.parent.mkdir(parents=True)
    counts.write_text("{}", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("kept", encoding="utf-8")
    assert _other_files(tmp_path) == (["notes.txt"], [])
