"""A disk that never lies (issue 23): a failed or killed index run leaves nothing behind, what
goes live is on the disk before CURRENT names it, replaced generations give their files
back, and the commands say what happened when the disk is full."""

from __future__ import annotations

import dataclasses
import errno
import gc
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from viko.corpus.document import make_document
from viko.indexer import generations, store
from viko.indexer.analyze import default_analyzer
from viko.indexer.build import IndexOptions, update_index
from viko.indexer.store import Index

from helpers import SMALL_DOCS, FakeEncoder

AN = default_analyzer()


def docs(n_extra: int = 0, start: int = 0) -> list:
    extra = [{"id": f"extra-{i}", "lang": "vi", "title": f"Báo cáo hợp tác số {i}",
              "text": f"Báo cáo số {i} về hợp tác đào tạo kỹ sư điện gió giữa hai tỉnh. "
                      f"Đợt {i} có {i * 7 % 23} kỹ sư tham gia khóa học thứ {i}."}
             for i in range(start, start + n_extra)]
    return [make_document(d) for d in SMALL_DOCS + extra]


def tree(root: Path) -> dict[str, int]:
    """Every file and folder under root, with file sizes (folders: -1)."""
    return {str(p.relative_to(root)): (p.stat().st_size if p.is_file() else -1) for p in sorted(root.rglob("*"))}


class FailingEncoder(FakeEncoder):
    """Raises on its nth call of encode_passages."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.calls, self.fail_at = 0, fail_at

    def encode_passages(self, texts):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("encoder broke mid-run")
        return super().encode_passages(texts)


# -- 1. failed and killed runs leave nothing behind ------------------------------------------
SMALL = IndexOptions(batch_size=2)  # many encoder calls, so the failure lands mid-run


def test_a_failed_run_leaves_the_index_folder_as_it_was(tmp_path: Path) -> None:
    root = tmp_path / "index"
    update_index(docs(), root, FakeEncoder(), AN, SMALL)
    before = tree(root)
    with pytest.raises(RuntimeError, match="encoder broke"):
        update_index(docs(40), root, FailingEncoder(fail_at=12), AN, SMALL)
    assert tree(root) == before


@pytest.mark.parametrize("step", ["merge", "publish"])
def test_a_run_failing_after_its_segment_was_written_removes_it(tmp_path: Path, step: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "index"
    options = IndexOptions(batch_size=2, max_segments=2)
    update_index(docs(), root, FakeEncoder(), AN, options)
    update_index(docs(3), root, FakeEncoder(), AN, options)
    before = tree(root)
    import viko.indexer.build as build

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device")

    if step == "merge":  # the third segment makes a merge: it fails after the new segment was finished
        monkeypatch.setattr(build, "merge_segments", broken)
    else:
        monkeypatch.setattr(generations, "_write_generation", broken)
    with pytest.raises(OSError):
        update_index(docs(6), root, FakeEncoder(), AN, options)
    assert tree(root) == before
    monkeypatch.undo()
    update_index(docs(6), root, FakeEncoder(), AN, options)  # and the next run completes
    assert len(Index.load(root).doc_ids) == len(SMALL_DOCS) + 6


def test_leftovers_of_a_killed_run_are_removed_by_the_next(tmp_path: Path) -> None:
    """What kill -9 leaves (a temporary segment, a finished but unpublished segment, a
    generation folder never named by CURRENT, a temporary generation) goes at the next run."""
    root = tmp_path / "index"
    update_index(docs(), root, FakeEncoder(), AN)
    update_index(docs(2), root, FakeEncoder(), AN)
    live = store.current_generation(root).name
    kept = tree(root)
    segs = root / "segments"
    (segs / "tmp-99999-1").mkdir()
    (segs / "tmp-99999-1" / "vectors.f32").write_bytes(b"\0" * 4096)
    orphan = segs / "seg-000099"
    (orphan).mkdir()
    (orphan / "meta.json").write_text("{}")
    (root / "tmp-99999-2").mkdir()
    (root / "tmp-99999-2" / "centroids.npy").write_bytes(b"\0")
    unpublished = root / "gen-000098"
    unpublished.mkdir()
    (unpublished / "manifest.json").write_text(json.dumps({"segments": ["seg-000099"]}))
    update_index(docs(2), root, FakeEncoder(), AN)  # unchanged: nothing to index, still cleans
    assert store.current_generation(root).name == live
    assert tree(root) == kept


# -- 3. everything a generation needs is on the disk before CURRENT names it -----------------
def test_every_file_of_a_new_generation_is_fsynced_before_current_switches(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "index"
    update_index(docs(), root, FakeEncoder(), AN)
    synced: set[tuple[int, int]] = set()
    names: list[str] = []
    at_switch: set[tuple[int, int]] = set()
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        st = os.fstat(fd)
        synced.add((st.st_dev, st.st_ino))
        names.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    def replace(src, dst, **kwargs):  # type: ignore[no-untyped-def]
        if Path(dst).name == "CURRENT":
            at_switch.update(synced)
            st = os.stat(src)  # CURRENT's own new contents: written and fsynced before the rename
            assert (st.st_dev, st.st_ino) in synced
        return real_replace(src, dst, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    old_segments = set(Index.load(root).manifest.segments)
    update_index(docs(3), root, FakeEncoder(), AN)
    monkeypatch.undo()
    gen = store.current_generation(root)
    new_segments = [root / "segments" / s for s in Index.load(root).manifest.segments if s not in old_segments]
    assert new_segments
    must = [gen, *gen.iterdir(), root, root / "segments"]
    for seg in new_segments:
        must += [seg, *seg.iterdir()]
    missing = [str(p) for p in must if (p.stat().st_dev, p.stat().st_ino) not in at_switch]
    assert not missing, f"not fsynced before CURRENT switched: {missing} (fsynced: {names})"
    assert {"vectors.f32", "docs.json", "meta.json", "lex-terms.json"} <= {p.name for p in must}
    assert any(p.suffix == ".faiss" for p in must) and (gen / "centroids.npy") in must


# -- 4. replaced generations give back their files -----------------------------------------
def open_files(under: Path) -> tuple[int, int, int]:
    """(open descriptors, mapped files that were deleted, mapped files under `under`)."""
    fds = len(os.listdir("/proc/self/fd"))
    deleted, mapped = set(), set()
    with open("/proc/self/maps", encoding="utf-8") as fh:
        for line in fh:
            parts = line.split(maxsplit=5)
            path = parts[5].strip() if len(parts) == 6 else ""
            if path.endswith("(deleted)"):
                deleted.add(path)
            if path.startswith(str(under)):
                mapped.add(path)
    return fds, len(deleted), len(mapped)


@pytest.fixture
def live_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[object, Path]]:
    import viko.runtime as runtime
    from viko.corpus.importer import import_jsonl
    from viko.settings import Settings

    monkeypatch.setattr(runtime, "cached_encoder", lambda _choice: FakeEncoder())
    settings = Settings.from_env(env={}, data_dir=tmp_path / "data").replace(max_segments=2)
    src = tmp_path / "small.jsonl"
    src.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in SMALL_DOCS) + "\n", encoding="utf-8")
    with runtime.open_catalogue(settings) as cat:
        import_jsonl(cat, src)
    runtime.run_index(settings)
    yield settings, src
    runtime._LIVE.clear()


def add_and_index(settings, n: int) -> None:  # type: ignore[no-untyped-def]
    import viko.runtime as runtime

    with runtime.open_catalogue(settings) as cat:
        cat.upsert_many(docs(1, start=n)[-1:])
    runtime.run_index(settings)


def test_replaced_generations_are_closed_while_queries_go_on(live_data: tuple[object, Path]) -> None:
    from viko.runtime import LiveEngine, live_index

    settings, _ = live_data
    engine = LiveEngine(settings)  # type: ignore[arg-type]
    root = Path(settings.index_root)  # type: ignore[attr-defined]
    gc.collect()
    gc.disable()
    try:
        counts = []
        for n in range(20):
            for query in ("năng lượng tái tạo", "반도체 인력", f"Báo cáo số {n} kỹ sư"):
                engine.get().search(query, limit=5)
            with live_index(settings).lease() as index:  # type: ignore[arg-type]
                index.segments[0].dense  # noqa: B018 - the graphs are read
            del index
            counts.append(open_files(root))
            add_and_index(settings, n)
        engine.get().search("điện gió", limit=5)
        counts.append(open_files(root))
    finally:
        gc.enable()
    first, last = counts[1], counts[-1]
    assert last[0] <= first[0] + 4, " ".join(map(str, counts))  # descriptors stay flat
    assert last[1] <= first[1], counts  # no deleted segment file stays mapped
    assert max(c[2] for c in counts) <= 2 * max(c[2] for c in counts[:3]) + 4, counts


def test_a_leased_index_is_not_closed_under_a_running_search(live_data: tuple[object, Path]) -> None:
    from viko.runtime import live_index

    settings, _ = live_data
    live = live_index(settings)  # type: ignore[arg-type]
    with live.lease() as old:
        add_and_index(settings, 1)
        assert live.get() is not old  # and get() found the old one leased: still open
        assert not old.closed and len(old.search_dense(old.centred[0], "vi", 3)[0])
        segment = old.segments[0]
        del old
    assert segment.closed  # closed by the end of its last lease


def test_closing_an_index_releases_its_files(tmp_path: Path) -> None:
    root = tmp_path / "index"
    update_index(docs(), root, FakeEncoder(), AN)
    gc.disable()
    try:
        before = open_files(root)
        index = Index.load(root)
        index.search_dense(index.centred[0], "vi", 3)
        assert open_files(root)[2] > before[2]
        index.close()
        assert open_files(root)[2] == before[2] and open_files(root)[0] <= before[0]
        assert index.closed
        index.close()  # twice is harmless
    finally:
        gc.enable()


# -- 2. a full disk is one clear message ----------------------------------------------------
def test_import_on_a_full_disk_says_so_and_what_was_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from viko.cli import main
    from viko.corpus.catalogue import Catalogue

    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(json.dumps(SMALL_DOCS[0], ensure_ascii=False) + "\n", encoding="utf-8")
    second.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in SMALL_DOCS[1:]) + "\n", encoding="utf-8")
    real = Catalogue.upsert_many

    def upsert_many(self, docs):  # type: ignore[no-untyped-def]
        docs = list(docs)
        if any(d.id == SMALL_DOCS[1]["id"] for d in docs):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, docs)

    monkeypatch.setattr(Catalogue, "upsert_many", upsert_many)
    data = tmp_path / "data"
    result = CliRunner().invoke(main, ["--data", str(data), "import", str(first), str(second)])
    assert result.exit_code == 74, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert "disk is full" in result.output and str(second) in result.output
    assert "1 added" in result.output  # the first file was stored and says so
    assert "nothing from it was stored" in result.output
    monkeypatch.undo()
    with Catalogue.open(data / "catalogue.sqlite") as cat:
        assert cat.count() == 1


def test_add_on_a_full_disk_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from viko.cli import main
    from viko.corpus.catalogue import Catalogue

    folder = tmp_path / "files"
    folder.mkdir()
    for i in range(3):
        (folder / f"note-{i}.txt").write_text(f"Báo cáo số {i} về hợp tác đào tạo kỹ sư điện gió.\n", encoding="utf-8")
    real = Catalogue.upsert

    def upsert(self, doc):  # type: ignore[no-untyped-def]
        if "Báo cáo số 2" in doc.text:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, doc)

    monkeypatch.setattr(Catalogue, "upsert", upsert)
    result = CliRunner().invoke(main, ["--data", str(tmp_path / "data"), "add", str(folder)])
    assert result.exit_code == 74, result.output
    assert "disk is full" in result.output and "2 files stored" in result.output, result.output


# -- 6. status says what is stored but not indexed, and why --------------------------------
def test_status_says_which_stored_documents_are_not_indexed_and_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import viko.runtime as runtime
    from viko.cli import main
    from viko.corpus.access import ANONYMOUS, OPERATOR
    from viko.settings import Settings
    from viko.status import collect_status
    from viko.web.status import status_page

    monkeypatch.setattr(runtime, "cached_encoder", lambda _choice: FakeEncoder())
    base = SMALL_DOCS[2]
    copies = [dict(base, id="aqua-copy", url="https://other.example/aqua"),  # the same text: exact
              dict(base, id="aqua-near", text=base["text"] + " Theo báo Cần Thơ."),  # near
              dict(SMALL_DOCS[0], id="mou-copy")]
    src = tmp_path / "docs.jsonl"
    src.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in SMALL_DOCS + copies) + "\n", encoding="utf-8")
    data = tmp_path / "data"
    runner = CliRunner()
    assert runner.invoke(main, ["--data", str(data), "import", str(src)]).exit_code == 0
    settings = Settings.from_env(env={}, data_dir=data)
    runtime.run_index(settings)
    status = collect_status(settings)
    assert status["documents"] == 7 and status["index"]["documents"] == 4 and status["index"]["fresh"]
    skipped = status["not_indexed"]
    assert skipped["documents"] == 3
    assert skipped["by_reason"] == {"exact duplicate": 2, "near duplicate": 1}
    indexed = set(Index.load(settings.index_root).doc_ids)
    assert len(skipped["examples"]) == 3
    for example in skipped["examples"]:  # each names the indexed copy it duplicates
        assert example["id"] not in indexed and example["of"] in indexed
        assert {example["id"], example["of"]} <= {"aqua-vi", "aqua-copy", "aqua-near", "mou-vi", "mou-copy"}
    text = runner.invoke(main, ["--data", str(data), "status"]).output
    assert "up to date" in text and "3 stored documents are not indexed" in text, text
    assert "2 exact duplicates" in text and "1 near duplicate" in text, text
    as_json = json.loads(runner.invoke(main, ["--data", str(data), "status", "--json"]).output)
    assert as_json["not_indexed"] == skipped
    # which documents duplicate which names documents of every visibility: admins only
    assert status_page(settings, OPERATOR).not_indexed == skipped
    assert status_page(settings, ANONYMOUS).not_indexed == {}

    from fastapi.testclient import TestClient

    from viko.web.app import create_app

    client = TestClient(create_app(dataclasses.replace(settings, admin_token=TOKEN)))
    page = client.get("/status?ui=en", headers={"X-Viko-Token": TOKEN}).text
    assert "3 stored documents are not indexed" in page and "exact duplicate: 2" in page, page
    assert "stored documents are not indexed" not in client.get("/status?ui=en").text


# -- 5. the admin API indexes as `viko index` does: alignment and mining included -----------
TOKEN = "s3cret-admin-token-0123"


def memory(data: Path) -> tuple[set[tuple[str, str]], set[str], dict[str, int]]:
    from viko.corpus.catalogue import Catalogue
    from viko.corpus.tm import TranslationMemory

    with Catalogue.open(data / "catalogue.sqlite") as cat:
        tm = TranslationMemory(cat)
        return set(tm.aligned_pairs()), set(tm.mined_docs()), tm.count()


def test_the_admin_api_indexes_aligns_and_mines_as_the_cli_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from viko import runtime
    from viko.cli import main
    from viko.settings import Settings
    from viko.web.app import create_app

    monkeypatch.setattr(runtime, "cached_encoder", lambda _choice: FakeEncoder())
    lines = "\n".join(json.dumps(d, ensure_ascii=False) for d in SMALL_DOCS) + "\n"
    src = tmp_path / "small.jsonl"
    src.write_text(lines, encoding="utf-8")
    by_cli = tmp_path / "cli"
    runner = CliRunner()
    assert runner.invoke(main, ["--data", str(by_cli), "import", str(src)]).exit_code == 0
    indexed = runner.invoke(main, ["--data", str(by_cli), "index"])
    assert indexed.exit_code == 0, indexed.output
    by_api = tmp_path / "api"
    app = TestClient(create_app(Settings.from_env(env={}, data_dir=by_api, admin_token=TOKEN)))
    assert app.post("/api/admin/import", content=lines, headers={"X-Viko-Token": TOKEN}).status_code == 200
    done = app.post("/api/admin/index", headers={"X-Viko-Token": TOKEN})
    assert done.status_code == 200, done.text
    assert done.json()["documents"] == len(SMALL_DOCS)
    assert "translation memory" in done.json()["alignment"] and not done.json()["alignment_error"]
    cli_tm, api_tm = memory(by_cli), memory(by_api)
    assert cli_tm[1]  # documents were mined (and pairs aligned where counterparts were found)
    assert api_tm == cli_tm

    # an alignment failure is reported, and the new index stays live (as `viko index` does)
    import viko.align_all as align_all

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the aligner broke")

    monkeypatch.setattr(align_all, "run_align_all", broken)
    more = json.dumps({"id": "new-vi", "lang": "vi", "text": "Tài liệu mới về điện gió ngoài khơi."}, ensure_ascii=False)
    app.post("/api/admin/import", content=more, headers={"X-Viko-Token": TOKEN})
    done = app.post("/api/admin/index", headers={"X-Viko-Token": TOKEN})
    assert done.status_code == 200 and done.json()["documents"] == len(SMALL_DOCS) + 1
    assert "the aligner broke" in done.json()["alignment_error"]
    failed = runner.invoke(main, ["--data", str(by_api), "index"])
    assert failed.exit_code == 0 and "aligning translations failed: the aligner broke" in failed.output
