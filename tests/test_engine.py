"""The engine on four small documents with the fake encoder: metadata, highlights, the order
of results and related documents, and counterpart bridging under a language filter."""

import dataclasses
import sys
from pathlib import Path

import pytest

from viko.corpus.counterparts import Counterpart, Counterparts
from viko.corpus.document import make_document
from viko.indexer.analyze import default_analyzer
from viko.indexer.build import update_index
from viko.indexer.store import Index
from viko.search.engine import DocMeta, QueryError, SearchEngine
from viko.search.params import DEFAULTS, RankingParams
from viko.search.snippets import highlight, make_snippet, match_spans
from viko.settings import Settings

from helpers import SMALL_DOCS, FakeEncoder

# What the detector stores for the agreement and its Korean version (fairly sure, both ways).
MOU_LINK = Counterparts.of([Counterpart("mou-vi", "mou-ko", 0.9), Counterpart("mou-ko", "mou-vi", 0.9)])


@pytest.fixture
def index(tmp_path: Path) -> Index:
    update_index([make_document(d) for d in SMALL_DOCS], tmp_path / "index", FakeEncoder(), default_analyzer())
    return Index.load(tmp_path / "index")


def make_engine(index: Index, counterparts: Counterparts | None = MOU_LINK) -> SearchEngine:
    docs = [make_document(d) for d in SMALL_DOCS]
    meta = {d.id: DocMeta(d.title, d.url, d.type, d.date, d.source) for d in docs}
    return SearchEngine(index, FakeEncoder(), default_analyzer(), meta, counterparts=counterparts)


@pytest.fixture
def engine(index: Index) -> SearchEngine:
    return make_engine(index)


def test_results_carry_metadata_and_highlights(engine: SearchEngine) -> None:
    res = engine.search("nuôi tôm IoT Cần Thơ")
    assert [h.id for h in res.hits] == ["aqua-vi", "mou-vi"]  # the shrimp farm first, by far
    assert res.hits[0].score > res.hits[1].score + 1
    top = res.hits[0]
    assert top.type == "news" and top.date == "2024-03-02" and top.title.startswith("Cần Thơ")
    marked = {top.snippet[s:e].lower() for s, e in top.highlights}
    assert {"iot", "cần thơ", "tôm"} <= marked


def test_counterpart_bridge_reaches_the_other_language_under_a_filter(index: Index) -> None:
    """The fake encoder has no cross-language meaning: the Korean agreement is found for a
    Vietnamese query only through its counterpart link, and ranks right after its original."""
    query = "hợp tác năng lượng"
    linked, unlinked = make_engine(index), make_engine(index, Counterparts())
    assert [h.id for h in linked.search(query).hits] == ["mou-vi", "mou-ko"]
    assert [h.id for h in linked.search(query, lang="ko").hits] == ["mou-ko"]
    assert [h.id for h in unlinked.search(query).hits] == ["mou-vi"]
    assert unlinked.search(query, lang="ko").hits == []
    # Ranked (before the floor): the link lifts the Korean agreement above the other Korean report.
    assert [s.doc_id for s in linked.rank(query, "vi", ["ko"])[0]] == ["mou-ko", "chip-ko"]
    assert [s.doc_id for s in unlinked.rank(query, "vi", ["ko"])[0]] == ["chip-ko", "mou-ko"]


def test_pagination_pages_the_ranked_list(engine: SearchEngine) -> None:
    every = engine.search("재생에너지 협력 협약", limit=10)
    assert [h.id for h in every.hits] == ["mou-ko", "mou-vi"] and every.total == 2
    page2 = engine.search("재생에너지 협력 협약", limit=1, offset=1)
    assert [h.id for h in page2.hits] == ["mou-vi"] and page2.total == 2


def _search_module_state() -> dict[str, object]:
    """Every module-level value of viko.search.* (what an ablation used to rewrite)."""
    return {f"{name}.{attr}": value for name, module in sorted(sys.modules.items())
            if name.startswith("viko.search.") for attr, value in vars(module).items()
            if not attr.startswith("__") and not callable(value) and not isinstance(value, type(sys))}


def test_an_engine_built_directly_ranks_as_one_built_from_settings(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """One record of ranking parameters with one set of defaults: the product's engine (from
    Settings) and an engine built directly hold the same, so the relevance floor is on in both."""
    from viko.corpus.importer import import_jsonl
    from viko.runtime import build_engine, open_catalogue, run_index

    encoder = FakeEncoder()
    monkeypatch.setattr("viko.runtime.cached_encoder", lambda choice: encoder)
    settings = Settings.from_env(env={}, data_dir=tmp_path / "data")
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text("\n".join(__import__("json").dumps(d, ensure_ascii=False) for d in SMALL_DOCS), encoding="utf-8")
    with open_catalogue(settings) as cat:
        import_jsonl(cat, jsonl)
    run_index(settings)
    product = build_engine(settings, warm_up=False)
    direct = SearchEngine(Index.load(settings.index_root), encoder, default_analyzer(), glossary=product.glossary,
                          counterparts=product.counterparts)
    assert product.params == direct.params == RankingParams() and direct.params.min_dense_evidence == 0.30
    for query in ("nuôi tôm IoT Cần Thơ", "hợp tác năng lượng", "xyzzy quux"):
        got = [[(h.id, h.score) for h in e.search(query).hits] for e in (product, direct)]
        assert got[0] == got[1], query
    assert direct.search("xyzzy quux").total == 0  # the floor holds for an engine built directly
    assert direct.rank("xyzzy quux", "en", ["vi", "ko"])[0]  # (ranking alone would list documents)
    tuned = build_engine(Settings.from_env(env={"VIKO_MIN_DENSE_EVIDENCE": "0.5"}, data_dir=settings.data_dir),
                         warm_up=False)
    assert tuned.params == dataclasses.replace(DEFAULTS, min_dense_evidence=0.5)


def test_an_ablation_is_a_replaced_record_not_module_state(index: Index) -> None:
    """Turning bridging off for one engine changes its ranking and nothing else: the module
    state of viko.search.* and every other engine rank as before."""
    before = _search_module_state()
    query = "hợp tác năng lượng"
    default = make_engine(index)
    baseline = [(s.doc_id, s.score) for s in default.rank(query, "vi", ["vi", "ko"])[0]]
    ablated = SearchEngine(index, FakeEncoder(), default_analyzer(), counterparts=MOU_LINK,
                           params=dataclasses.replace(default.params, bridge_weight=0.0))
    assert [d for d, _ in baseline][:2] == ["mou-vi", "mou-ko"]  # bridged: the translation second
    assert [s.doc_id for s in ablated.rank(query, "vi", ["vi", "ko"])[0]][-1] == "mou-ko"  # alone: last
    assert _search_module_state() == before and default.params == DEFAULTS
    assert [(s.doc_id, s.score) for s in default.rank(query, "vi", ["vi", "ko"])[0]] == baseline
    assert [(s.doc_id, s.score) for s in make_engine(index).rank(query, "vi", ["vi", "ko"])[0]] == baseline


@pytest.mark.parametrize("bad", ["", "   ", "x" * 5001])
def test_malformed_queries_get_clear_errors(engine: SearchEngine, bad: str) -> None:
    with pytest.raises(QueryError):
        engine.search(bad)
    with pytest.raises(QueryError, match="language filter"):
        engine.search("điện", lang="fr")


def test_related_lists_the_counterpart_first_then_by_similarity(index: Index) -> None:
    """chip-ko is closer in content to the agreement than its own Korean version under the fake
    encoder; the counterpart still comes first, the rest follow by similarity."""
    related = make_engine(index).related("mou-vi", limit=3)
    assert [h.id for h in related] == ["mou-ko", "chip-ko", "aqua-vi"]
    assert related[1].score > related[2].score and related[1].score > related[0].score
    assert [h.id for h in make_engine(index, Counterparts()).related("mou-vi", limit=3)] == ["chip-ko", "mou-ko", "aqua-vi"]


def test_snippet_highlights_tone_variants_and_korean_stems() -> None:
    text = "Lễ ký kết thoả thuận hợp tác tại Hải Phòng. 전라남도와 협약을 체결했다."
    spans = match_spans(text, ["thỏa", "hải_phòng", "협약", "hai"])
    assert [text[s:e] for s, e in spans] == ["thoả", "Hải Phòng", "협약"]
    snippet, spans = make_snippet("x " * 300 + "năng lượng tái tạo" + " y" * 300, ["tái"])
    assert snippet.startswith("… ") and snippet.endswith(" …") and len(snippet) < 300
    assert [snippet[s:e] for s, e in spans] == ["tái"]
    assert highlight("ab<script>", [(0, 1)]) == [("a", True), ("b<script>", False)]


def test_a_result_shows_the_passage_holding_the_query_words(tmp_path: Path) -> None:
    """Every chunk is indexed (and embedded) with the document's title, so a short tail chunk
    (contacts) is the closest and the best-scoring one for words of the title; its own text
    holds none of them. The result shows the chunk whose own text does, with them marked."""
    body = ("Hợp tác xã cần hệ thống nuôi tôm tuần hoàn cho 20 bể, tiết kiệm nước và điện. "
            + "Nhà xưởng rộng 2.000 m², có điện ba pha và giếng khoan riêng. " * 10
            + "\n\nLiên hệ: phòng kế hoạch, điện thoại 0225 000 000.")
    rows = [dict(SMALL_DOCS[0], id="ras-vi", title="Nhu cầu: hệ thống nuôi tôm tuần hoàn", text=body), *SMALL_DOCS]
    docs = [make_document(d) for d in rows]
    update_index(docs, tmp_path / "index", FakeEncoder(), default_analyzer())
    index = Index.load(tmp_path / "index")
    assert len(index.doc_rows["ras-vi"]) > 1
    meta = {d.id: DocMeta(d.title, d.url, d.type, d.date, d.source) for d in docs}
    engine = SearchEngine(index, FakeEncoder(), default_analyzer(), meta, counterparts=Counterparts())
    hit = next(h for h in engine.search("nuôi tôm tuần hoàn").hits if h.id == "ras-vi")
    assert {hit.snippet[s:e].lower() for s, e in hit.highlights} >= {"nuôi", "tôm", "tuần hoàn"}, hit.snippet
    assert hit.passage[0] == 0  # the first chunk, not the contacts
