"""kill -9 in the middle of `viko index`, `viko import` and `viko crawl`: the index that was
live keeps answering, nothing is half-written, and the next run completes (a crawl resumes
where it stopped and ends with what an uninterrupted crawl stores).

The child runs the real CLI with the fake encoder and stops at a chosen point (it writes a
marker file and sleeps), so the kill lands mid-run deterministically, not after a guessed delay."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from viko.corpus.catalogue import Catalogue
from viko.corpus.frontier import report_rows

from fixtures.server import FixtureSite
from helpers import SMALL_DOCS, FakeEncoder

TESTS = Path(__file__).resolve().parent
DRIVER = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
trip, marker, after = sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
from helpers import FakeEncoder
import viko.corpus.catalogue, viko.runtime
calls = {"n": 0}

def maybe_stop():
    calls["n"] += 1
    if calls["n"] == after:
        marker.write_text("stopped")
        time.sleep(600)  # killed here

class Encoder(FakeEncoder):
    def encode_passages(self, texts):
        if trip == "index":
            maybe_stop()
        return super().encode_passages(texts)

viko.runtime.cached_encoder = lambda spec: Encoder()
upsert = viko.corpus.catalogue.Catalogue.upsert

def stopping_upsert(self, doc):
    if trip in ("import", "crawl"):
        maybe_stop()
    return upsert(self, doc)

viko.corpus.catalogue.Catalogue.upsert = stopping_upsert
from viko.cli import main
main(sys.argv[5:], prog_name="viko")
"""


def cli(data: Path, *args: str, trip: str = "none", after: int = 0, env: dict[str, str] | None = None,
        kill: bool = False) -> subprocess.CompletedProcess[str] | None:
    """Runs `viko --data DATA ARGS` in a child; with kill=True, kill -9 it at the trip point."""
    data.parent.mkdir(parents=True, exist_ok=True)  # also the child's working directory
    marker = data.parent / f"stopped-{trip}"
    marker.unlink(missing_ok=True)
    argv = [sys.executable, "-c", DRIVER, str(TESTS), trip, str(marker), str(after), "--data", str(data), *args]
    child_env = {**os.environ, **(env or {})}
    if not kill:
        return subprocess.run(argv, env=child_env, capture_output=True, text=True, timeout=300, cwd=data.parent)
    proc = subprocess.Popen(argv, env=child_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=data.parent)
    deadline = time.monotonic() + 240
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the child ended before its stop point: {proc.stderr.read() if proc.stderr else ''}")
        assert time.monotonic() < deadline, "the child never reached its stop point"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    return None


def ok(run: subprocess.CompletedProcess[str] | None) -> str:
    assert run is not None and run.returncode == 0, (run.stdout + run.stderr)[-3000:] if run else ""
    return run.stdout


def write_jsonl(path: Path, docs: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in docs) + "\n", encoding="utf-8")
    return path


MORE_DOCS = [{"id": f"extra-{i}", "lang": "vi", "title": f"Báo cáo hợp tác số {i}",
              "text": f"Báo cáo số {i} về hợp tác đào tạo kỹ sư điện gió giữa hai tỉnh."} for i in range(12)]


def search_ids(data: Path, query: str) -> list[str]:
    from viko.indexer.analyze import default_analyzer
    from viko.runtime import build_engine
    from viko.settings import Settings

    settings = Settings.from_env(env={}, data_dir=data)
    import viko.runtime as runtime

    original = runtime.cached_encoder
    runtime.cached_encoder = lambda _spec: FakeEncoder()  # type: ignore[assignment]
    try:
        engine = build_engine(settings, analyzer=default_analyzer())
        return [h.id for h in engine.search(query, limit=20).hits]
    finally:
        runtime.cached_encoder = original  # type: ignore[assignment]


@pytest.fixture
def indexed(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    ok(cli(data, "import", str(write_jsonl(tmp_path / "small.jsonl", SMALL_DOCS))))
    ok(cli(data, "index"))
    return data


def test_kill_during_index_keeps_the_old_index_and_the_next_run_completes(indexed: Path, tmp_path: Path) -> None:
    ok(cli(indexed, "import", str(write_jsonl(tmp_path / "more.jsonl", MORE_DOCS))))
    before = search_ids(indexed, "nuôi tôm IoT")
    assert "aqua-vi" in before and "extra-3" not in search_ids(indexed, "Báo cáo số 3 hợp tác đào tạo kỹ sư")
    live = (indexed / "index" / "CURRENT").read_text()
    cli(indexed, "index", trip="index", after=1, kill=True)  # while embedding the new documents
    assert (indexed / "index" / "CURRENT").read_text() == live
    assert search_ids(indexed, "nuôi tôm IoT") == before  # the old generation still answers
    ok(cli(indexed, "index"))  # the lock died with its holder: no wait, no refusal
    assert "extra-3" in search_ids(indexed, "Báo cáo số 3 hợp tác đào tạo kỹ sư")


def test_kill_during_import_leaves_the_catalogue_whole(indexed: Path, tmp_path: Path) -> None:
    before = search_ids(indexed, "nuôi tôm IoT")
    src = write_jsonl(tmp_path / "more.jsonl", MORE_DOCS)
    cli(indexed, "import", str(src), trip="import", after=6, kill=True)  # five rows written, uncommitted
    with Catalogue.open(indexed / "catalogue.sqlite") as cat:
        assert cat.count() == len(SMALL_DOCS)  # one transaction: all or nothing
    assert search_ids(indexed, "nuôi tôm IoT") == before
    assert f"{len(MORE_DOCS)} added" in ok(cli(indexed, "import", str(src)))
    ok(cli(indexed, "index"))
    assert "extra-3" in search_ids(indexed, "Báo cáo số 3 hợp tác đào tạo kỹ sư")


CRAWL = ("crawl", "--delay", "0", "--max-depth", "1", "--exclude", "/lich|/slow")
CRAWL_ENV = {"VIKO_CRAWL_ALLOW_PRIVATE": "1", "VIKO_CRAWL_TIMEOUT": "0.4", "VIKO_CRAWL_RETRIES": "0", "VIKO_CRAWL_WORKERS": "1"}


def stored_urls(data: Path) -> set[str]:
    with Catalogue.open(data / "catalogue.sqlite") as cat:
        return {d.url for d in cat.iter_documents()}


def test_kill_during_crawl_resumes_and_loses_nothing(indexed: Path, tmp_path: Path) -> None:
    before = search_ids(indexed, "nuôi tôm IoT")
    with FixtureSite(slow_seconds=0.3) as site:
        seed = site.url("/ko/")
        whole = tmp_path / "whole" / "data"
        ok(cli(whole, *CRAWL, seed, env=CRAWL_ENV))
        expected = stored_urls(whole)
        assert len(expected) >= 3
        cli(indexed, *CRAWL, seed, trip="crawl", after=2, env=CRAWL_ENV, kill=True)
        assert search_ids(indexed, "nuôi tôm IoT") == before
        ok(cli(indexed, *CRAWL, seed, env=CRAWL_ENV))  # the same command resumes
    assert expected <= stored_urls(indexed)
    with Catalogue.open(indexed / "catalogue.sqlite") as cat:
        states = {str(r["state"]) for r in report_rows(cat)}
    assert not states & {"queued", "fetching"}
    ok(cli(indexed, "index"))
    assert search_ids(indexed, "nuôi tôm IoT")[0] == "aqua-vi"


def unreferenced(index_root: Path) -> list[str]:
    """Folders of the index that no generation lists: temporary ones, generations CURRENT
    never named, segments no generation lists."""
    live = (index_root / "CURRENT").read_text().strip()
    listed = {s for gen in index_root.glob("gen-*") for s in json.loads((gen / "manifest.json").read_text())["segments"]}
    out = [p.name for p in [*index_root.glob("tmp-*"), *(index_root / "segments").glob("tmp-*")]]
    out += [g.name for g in index_root.glob("gen-*") if g.name > live]
    out += [s.name for s in (index_root / "segments").glob("seg-*") if s.name not in listed]
    return out


def test_a_run_after_a_killed_one_leaves_no_orphan(indexed: Path, tmp_path: Path) -> None:
    ok(cli(indexed, "import", str(write_jsonl(tmp_path / "more.jsonl", MORE_DOCS))))
    cli(indexed, "index", trip="index", after=4, kill=True)  # embedding (calls 1-3: reference centroids)
    assert unreferenced(indexed / "index")  # what kill -9 leaves
    ok(cli(indexed, "index"))
    assert unreferenced(indexed / "index") == []
    # killed again, with nothing new to index: the next run has nothing to do but still cleans
    (indexed / "index" / "segments" / "tmp-1-1").mkdir()
    ok(cli(indexed, "index"))
    assert unreferenced(indexed / "index") == []
