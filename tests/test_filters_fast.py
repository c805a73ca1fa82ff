"""Filters at the cost of array operations (search.doctable, search.constraints): the catalogue
filters over columns give what a per-document predicate gives, the quick letters check never
rejects a row the phrase check would accept, and a dense search under a mask (FAISS selector)
returns only allowed rows, the exact filtered top k where the index is exact."""

from pathlib import Path

import numpy as np
import pytest

from viko.corpus.document import make_document
from viko.corpus.textnorm import fold_vi
from viko.indexer import ann
from viko.indexer.analyze import default_analyzer
from viko.indexer.build import update_index
from viko.indexer.store import Index
from viko.search.constraints import dense_within, metadata_docs
from viko.search.doctable import DocTable
from viko.search.phrases import _letters, could_hold, phrase_in
from viko.search.results import DocMeta
from viko.search.syntax import in_range, parse

from helpers import SMALL_DOCS, FakeEncoder

META = {"mou-vi": DocMeta("Thỏa thuận hợp tác", "", "Agreement", "2023-07-28", "Hai Phong DOST"),
        "mou-ko": DocMeta("재생에너지 협력 협약", "", "agreement", "2023-07", "Jeonnam"),
        "aqua-vi": DocMeta("IoT trong nuôi tôm", "", "news", "2024", "DOST"),
        "chip-ko": DocMeta("반도체 보고서", "", "report", "", "")}  # undated: in no date range


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    folder: Path = tmp_path_factory.mktemp("filters") / "index"
    update_index([make_document(d) for d in SMALL_DOCS], folder, FakeEncoder(), default_analyzer())
    return Index.load(folder)


def _expected(doc: str, query: str) -> bool:
    p, m = parse(query), META[doc]
    return ((not p.types or m.type.lower() in p.types)
            and (not p.sources or any(phrase_in(m.source, s) or m.source.lower() == s.lower() for s in p.sources))
            and (not p.titles or any(phrase_in(m.title, t) for t in p.titles))
            and in_range(m.date, p.after, p.before))


@pytest.mark.parametrize("query", ["type:agreement", "type:news type:report", "type:offer", "after:2023-08",
                                   "before:2024", "after:2023 before:2024-06", "source:dost", 'source:"hai phong"',
                                   "title:협력", "title:IoT type:news after:2024", "after:2025"])
def test_metadata_columns_filter_as_the_per_document_predicate(index: Index, query: str) -> None:
    table = DocTable(index, META)
    docs = metadata_docs(table, parse(query))
    assert {index.doc_ids[i] for i in np.flatnonzero(docs)} == {d for d in index.doc_ids if _expected(d, query)}
    rows = table.rows_mask(docs)
    assert set(index.doc_ids_of(np.flatnonzero(rows))) == {index.doc_ids[i] for i in np.flatnonzero(docs)}
    assert table.docs_at(np.flatnonzero(rows)).tolist() == docs.tolist()


@pytest.mark.parametrize(("text", "phrase"), [
    ("Hai bên ký kết thoả thuận hợp tác.", "thỏa thuận"), ("Hai bên ký kết THỎA THUẬN.", "thoa thuan"),
    ("năng lượng tái tạo", "Năng Lượng"), ("khả năng lượng hóa", "năng lượng"), ("협약을 체결했다", "협약"),
    ("Đà Nẵng, Việt Nam", "da nang"), ("IoT-based farms", "iot"), ("điện   mặt\ntrời", "điện mặt trời"),
])
def test_the_letters_check_never_rejects_what_the_phrase_check_accepts(text: str, phrase: str) -> None:
    assert could_hold(text, phrase) or not phrase_in(text, phrase)
    assert could_hold(text, phrase)  # every case above has the letters in order


def test_hangul_phrases_match_across_spacing_and_case() -> None:
    assert phrase_in("핵은  중성자와\n양성자", "핵은 중성자와") and not phrase_in("핵은중성자와", "핵은 중성자와")
    assert phrase_in("이것은 HTTP뿐만 아니라", "http뿐만 아니라") and phrase_in("Hoà 뿐", "hòa 뿐")


def test_the_letters_check_rejects_what_is_not_there() -> None:
    assert not could_hold("điện gió ngoài khơi", "điện mặt trời")
    assert not could_hold("협약 을 체결", "협약을")
    texts = ["Thoả thuận HỢP TÁC ở Đà Nẵng", "ĐẶNG Thị Ánh", "naïve café", "Ω̈ й", "a\u0301 b", "社 협약"]
    assert all(_letters(t) == " ".join(fold_vi(t).split()) for t in texts)


@pytest.mark.parametrize("threshold", [0, 10_000])  # an HNSW graph (8-bit, rescored), then exact
def test_dense_search_under_a_mask_returns_only_allowed_positions(threshold: int) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((3000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    dense = ann.build_dense(len(vectors), 16, lambda lo, hi: vectors[lo:hi], threshold=threshold)
    if threshold == 0:
        dense.hnsw.efSearch = ann.ef_search_for(len(vectors))  # as read_dense opens it
    allowed = rng.random(len(vectors)) < 0.1
    recall = []
    for q in vectors[:20]:
        _, pos = ann.search(dense, q.reshape(1, -1), 10, lambda p: vectors[p], allowed)
        assert len(pos) == 10 and allowed[pos].all()
        want = np.flatnonzero(allowed)[np.argsort(-(vectors[allowed] @ q))[:10]]
        recall.append(len(set(pos.tolist()) & set(want.tolist())) / 10)
    assert np.mean(recall) >= (0.9 if threshold == 0 else 1.0)


def test_index_dense_search_keeps_to_the_mask(index: Index) -> None:
    allowed = np.zeros(index.size, bool)
    allowed[index.doc_rows["aqua-vi"]] = True
    query = index.centred[int(np.flatnonzero(index.langs == 0)[0])]
    rows, scores = index.search_dense(query, "vi", 5, allowed)
    assert len(rows) and set(index.doc_ids_of(rows)) == {"aqua-vi"} and list(scores) == sorted(scores, reverse=True)
    assert len(index.search_dense(query, "vi", 5, np.zeros(index.size, bool))[0]) == 0


def test_the_filtered_beam_widens_with_the_share_left_out_within_bounds() -> None:
    mask = np.zeros(100_000, bool)
    mask[:50_000] = True
    assert ann.filtered_beam(768, 200, mask) == 768  # half allowed: the usual beam
    mask[10_000:] = False
    assert ann.filtered_beam(768, 200, mask) == 2_000  # a tenth: k / share
    mask[100:] = False
    assert ann.filtered_beam(768, 200, mask) == 8 * 768  # capped


def test_exact_scan_under_a_mask_scores_as_the_centred_rows(tmp_path: Path) -> None:
    """Below BRUTE_FORCE_ROWS the allowed rows' vectors are read from their segment (straight
    when they are all in one) and centred with the language's centroid: the same cosines as
    gathering them row by row with their own languages' centroids, over two segments."""
    folder = tmp_path / "index"
    update_index([make_document(d) for d in SMALL_DOCS], folder, FakeEncoder(), default_analyzer())
    changed = [dict(d) for d in SMALL_DOCS]
    changed[2]["text"] += " Sản lượng tôm tăng mạnh nhờ cảm biến thông minh."  # a new version: a second segment
    update_index([make_document(d) for d in changed], folder, FakeEncoder(), default_analyzer())
    index = Index.load(folder)
    assert len(index.segments) == 2
    query = index.centred[int(np.flatnonzero(index.langs == 0)[-1])]
    first_segment = np.arange(index.size) < index.bases[1]
    for code, lang in enumerate(("vi", "ko")):
        for allowed in (index.live, index.live & ~first_segment, index.live & first_segment):
            rows, sims = dense_within(index, query, lang, 50, allowed)
            want = np.flatnonzero(allowed & (index.langs == code))
            assert sorted(rows.tolist()) == want.tolist()
            if not len(rows):  # no Korean row in the second segment
                continue
            # with a row of another segment and one of the other language: the general gather,
            # each row centred with its own language's centroid
            extra = [int(np.flatnonzero(first_segment != first_segment[rows[0]])[0]),
                     int(np.flatnonzero(index.langs != code)[0])]
            gathered = index.centred[np.append(rows, extra)][: len(rows)]
            assert np.allclose(sims, gathered @ query, atol=1e-6)
