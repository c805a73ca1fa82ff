"""The command line under bad input: undecodable query bytes, ill-typed JSONL flags, links
out of an added folder, two index runs at once, and its own import structure."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from viko.cli import main
from viko.corpus.catalogue import Catalogue
from viko.corpus.document import DocumentError, make_document
from viko.corpus.importer import import_jsonl
from viko.corpus.ingest import ingest_paths
from viko.indexer.analyze import default_analyzer
from viko.indexer.build import update_index
from viko.indexer.store import Index
from viko.locking import LockBusy, data_lock
from viko.search.engine import DocMeta, SearchEngine
from viko.settings import Settings

from helpers import SMALL_DOCS, FakeEncoder

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fake_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SearchEngine:
    enc = FakeEncoder()
    docs = [make_document(d) for d in SMALL_DOCS]
    update_index(docs, tmp_path / "index", enc, default_analyzer())
    meta = {d.id: DocMeta(d.title, d.url, d.type, d.date, d.source) for d in docs}
    engine = SearchEngine(Index.load(tmp_path / "index"), enc, default_analyzer(), meta)
    monkeypatch.setattr("viko.runtime.build_engine", lambda _settings: engine)
    return engine


def test_undecodable_query_argument_is_a_clear_error(tmp_path: Path) -> None:
    # What Python makes of argv bytes that are not UTF-8 (PEP 383 surrogate escapes).
    result = CliRunner().invoke(main, ["--data", str(tmp_path), "search", "h\udcff"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)  # no traceback
    assert "the query is not UTF-8 text (byte b'\\xff' at position 1)" in result.output


def test_undecodable_query_bytes_from_a_real_shell(tmp_path: Path) -> None:
    env = dict(os.environ)
    run = subprocess.run([sys.executable, "-m", "viko.cli", "--data", str(tmp_path), "search", b"h\xff"],
                         capture_output=True, env=env, cwd=tmp_path, timeout=120)
    assert run.returncode == 2 and b"Traceback" not in run.stderr
    assert run.stderr.decode() == "viko: the query is not UTF-8 text (byte b'\\xff' at position 1)\n"


def test_batch_goes_on_past_undecodable_and_odd_lines(tmp_path: Path, fake_engine: SearchEngine) -> None:
    lines = ("nuôi tôm IoT\n".encode() + b"h\xff\n\x00\n\n\xed\xa0\x80\n"
             + "điện mặt trời\n".encode())
    result = CliRunner().invoke(main, ["--data", str(tmp_path), "search", "-", "--lang", "vi"], input=lines)
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert len(out) == 5
    assert out[0]["hits"] and out[0]["hits"][0]["id"] == "aqua-vi"
    assert out[1]["error"] == "the query is not UTF-8 text (byte b'\\xff' at position 1)" and out[1]["hits"] == []
    # A NUL is text: searched like any other line, not refused. (This engine has no relevance
    # floor, so what it finds says nothing; an error line would always have no hits.)
    assert "error" not in out[2] and out[2]["query"] == "\x00" and "hits" in out[2]
    assert out[3]["error"].startswith("the query is not UTF-8 text")  # an encoded lone surrogate
    assert out[4]["hits"] and "error" not in out[4]


@pytest.mark.parametrize(("value", "expected"), [(False, False), (True, True), ("false", False), ("False", False),
                                                 ("true", True), ("0", False), ("1", True), (0, False), (1, True),
                                                 (None, False), ("", False)])
def test_segmented_flag_spellings(value: object, expected: bool) -> None:
    assert make_document({"id": "s", "lang": "vi", "text": "Một dòng.", "segmented": value}).segmented is expected


def test_bad_segmented_value_is_rejected_per_record(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="'segmented' must be true or false, not 'maybe'"):
        make_document({"id": "s", "lang": "vi", "text": "Một dòng.", "segmented": "maybe"})
    src = tmp_path / "d.jsonl"
    rows = [{"id": "a", "lang": "vi", "text": "Dòng một.", "segmented": "false"},
            {"id": "b", "lang": "vi", "text": "Dòng hai.", "segmented": [1]},
            {"id": "c", "lang": "vi", "text": "Dòng ba.\nDòng bốn.", "segmented": "true"}]
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    with Catalogue.open(tmp_path / "c.sqlite") as cat:
        report = import_jsonl(cat, src)
        assert report.added == 2 and report.errors == [(2, "'segmented' must be true or false, not [1]")]
        assert cat.get("a").segmented is False and cat.get("c").segmented is True  # type: ignore[union-attr]


def test_add_does_not_follow_links_out_of_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "secrets").mkdir(parents=True)
    (outside / "passwd.txt").write_text("root:x:0:0: mật khẩu của máy chủ", encoding="utf-8")
    (outside / "secrets" / "key.txt").write_text("khóa bí mật của máy chủ nội bộ", encoding="utf-8")
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "note.txt").write_text("Biên bản họp về hợp tác năng lượng.", encoding="utf-8")
    (folder / "passwd.txt").symlink_to(outside / "passwd.txt")
    (folder / "secrets").symlink_to(outside / "secrets", target_is_directory=True)
    (folder / "sub" / "plan.txt").write_text("Kế hoạch đào tạo kỹ sư điện gió năm sau.", encoding="utf-8")
    (folder / "plan.txt").symlink_to(folder / "sub" / "plan.txt")  # inside the folder: followed
    with Catalogue.open(tmp_path / "c.sqlite") as cat:
        report = ingest_paths(cat, [folder])
        by_name = {Path(o.path).name: o for o in report.outcomes}
        assert by_name["passwd.txt"].outcome == "skipped"
        assert by_name["passwd.txt"].reason == f"symbolic link out of {folder}: not followed"
        assert "key.txt" not in by_name  # a linked folder is not entered
        assert by_name["note.txt"].outcome == "added" and by_name["plan.txt"].outcome in ("added", "updated")
        assert all("mật khẩu" not in d.text and "khóa" not in d.text for d in cat.iter_documents())
        note = cat.get(by_name["note.txt"].doc_id)
        assert note is not None and note.url == "" and note.extra["path"] == "sub/note.txt"


def test_index_lock_refuses_then_waits(tmp_path: Path) -> None:
    busy = rf"another `viko index` is running on {tmp_path} \(pid {os.getpid()}\)"
    with data_lock(tmp_path), pytest.raises(LockBusy, match=busy), data_lock(tmp_path):
        pass
    held = threading.Event()

    def hold() -> None:
        with data_lock(tmp_path):
            held.set()
            time.sleep(0.5)

    worker = threading.Thread(target=hold)
    worker.start()
    held.wait(5)
    start = time.monotonic()
    with data_lock(tmp_path, wait=30):
        waited = time.monotonic() - start
    worker.join()
    assert waited > 0.1  # it waited for the holder instead of refusing


def test_second_index_run_is_refused_with_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("viko.runtime.cached_encoder", lambda _spec: FakeEncoder())
    data = tmp_path / "data"
    src = tmp_path / "d.jsonl"
    src.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in SMALL_DOCS) + "\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["--data", str(data), "import", str(src)]).exit_code == 0
    with data_lock(data):
        result = runner.invoke(main, ["--data", str(data), "index"])
    assert result.exit_code == 75
    assert f"viko: another `viko index` is running on {data}" in result.output
    from viko.runtime import run_index

    assert run_index(Settings.from_env(env={}, data_dir=data)).changed  # free again: it runs


def test_second_align_all_is_refused_with_a_message(tmp_path: Path) -> None:
    from viko.align_all import ALIGN_LOCK, run_align_all

    with data_lock(tmp_path, name=ALIGN_LOCK), pytest.raises(LockBusy, match="another `viko align-all` is running"):
        run_align_all(Settings.from_env(env={}, data_dir=tmp_path))


def test_command_modules_never_import_viko_cli_back() -> None:
    """viko.cli imports its command modules at the top; they share viko.cli_common."""
    for path in sorted((ROOT / "viko").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.module != "viko.cli", f"{path.name} imports viko.cli"
                assert not (node.module == "viko" and any(a.name == "cli" for a in node.names)), path.name
            elif isinstance(node, ast.Import):
                assert all(a.name != "viko.cli" for a in node.names), f"{path.name} imports viko.cli"
    cli = ast.parse((ROOT / "viko" / "cli.py").read_text(encoding="utf-8"))
    top = [n for n in cli.body if isinstance(n, ast.ImportFrom)]
    assert any(n.module == "viko" and {"cli_crawl", "cli_workbench"} <= {a.name for a in n.names} for n in top)
    assert all(not isinstance(n, ast.ImportFrom) for n in cli.body[cli.body.index(top[-1]) + 1:])
