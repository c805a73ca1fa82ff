from pathlib import Path

import pytest
from viko.corpus.document import make_document
from viko.indexer.analyze import default_analyzer
from viko.indexer.build import update_index
from viko.indexer.store import Index
from viko.search.engine import DocMeta, QueryError, SearchEngine
from viko.search.snippets import highlight, make_snippet, match_spans

from helpers import SMALL_DOCS, FakeEncoder


@pytest.fixture
def engine(tmp_path: Path) -> SearchEngine:
    enc = FakeEncoder()
    docs = [make_document(d) for d in SMALL_DOCS]
    update_index(docs, tmp_path / "index", enc, default_analyzer())
    meta = {d.id: DocMeta(d.title, d.url, d.type, d.date, d.source) for d in docs}
    return SearchEngine(Index.load(tmp_path / "index"), enc, default_analyzer(), meta)


def test_results_carry_metadata_and_highlights(engine: SearchEngine) -> None:
    res = engine.search("nuôi tôm IoT Cần Thơ")
    assert res.hits[0].id == "aqua-vi"
    top = res.hits[0]
    assert top.type == "news" and top.date == "2024-03-02" and top.title.startswith("Cần Thơ")
    marked = {top.snippet[s:e].lower() for s, e in top.highlights}
    assert {"iot", "cần thơ", "tôm"} <= marked


def test_language_filter_and_pagination(engine: SearchEngine) -> None:
    assert {h.lang for h in engine.search("hợp tác năng lượng", lang="ko", limit=10).hits} == {"ko"}
    every = engine.search("hợp tác năng lượng", limit=10)
    page2 = engine.search("hợp tác năng lượng", limit=2, offset=2)
    assert [h.id for h in page2.hits] == [h.id for h in every.hits[2:4]]
    assert every.total == len(every.hits)


@pytest.mark.parametrize("bad", ["", "   ", "x" * 501])
def test_malformed_queries_get_clear_errors(engine: SearchEngine, bad: str) -> None:
    with pytest.raises(QueryError):
        engine.search(bad)
    with pytest.raises(QueryError, match="language filter"):
        engine.search("điện", lang="fr")


def test_related_lists_both_languages(engine: SearchEngine) -> None:
    related = engine.related("mou-vi", limit=3)
    assert len(related) == 3 and "mou-vi" not in {h.id for h in related}


def test_snippet_highlights_tone_variants_and_korean_stems() -> None:
    text = "Lễ ký kết thoả thuận hợp tác tại Hải Phòng. 전라남도와 협약을 체결했다."
    spans = match_spans(text, ["thỏa", "hải_phòng", "협약", "hai"])
    assert [text[s:e] for s, e in spans] == ["thoả", "Hải Phòng", "협약"]
    snippet, spans = make_snippet("x " * 300 + "năng lượng tái tạo" + " y" * 300, ["tái"])
    assert snippet.startswith("… ") and snippet.endswith(" …") and len(snippet) < 300
    assert [snippet[s:e] for s, e in spans] == ["tái"]
    assert highlight("ab<script>", [(0, 1)]) == [("a", True), ("b<script>", False)]
