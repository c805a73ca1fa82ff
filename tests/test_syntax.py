"""The search box's syntax (search.syntax): each operator parsed, then applied by the engine on
four small documents with the fake encoder (phrases on word boundaries, exclusions, the
catalogue filters restricting retrieval itself), plus spelling corrections and case folding."""

from pathlib import Path

import numpy as np
import pytest

from viko.corpus.counterparts import Counterparts
from viko.corpus.document import make_document
from viko.corpus.textnorm import query_language
from viko.indexer.analyze import default_analyzer
from viko.indexer.build import update_index
from viko.indexer.store import Index
from viko.search.constraints import BRUTE_FORCE_ROWS, dense_within, phrase_in
from viko.search.engine import DocMeta, QueryError, SearchEngine
from viko.search.syntax import ParsedQuery, in_range, parse

from helpers import SMALL_DOCS, FakeEncoder


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> SearchEngine:
    folder: Path = tmp_path_factory.mktemp("syntax") / "index"
    docs = [make_document(d) for d in SMALL_DOCS]
    update_index(docs, folder, FakeEncoder(), default_analyzer())
    meta = {d.id: DocMeta(d.title, d.url, d.type, d.date, d.source or "DOST") for d in docs}
    return SearchEngine(Index.load(folder), FakeEncoder(), default_analyzer(), meta, counterparts=Counterparts())


def ids(engine: SearchEngine, query: str, **kw: object) -> list[str]:
    return [h.id for h in engine.search(query, limit=20, **kw).hits]  # type: ignore[arg-type]


# -- parsing ------------------------------------------------------------------------------
def test_phrase_is_ranked_and_required() -> None:
    p = parse('"năng lượng tái tạo" Hải Phòng')
    assert p.phrases == ("năng lượng tái tạo",) and p.text == "năng lượng tái tạo Hải Phòng"
    assert parse('"unclosed words').phrases == ("unclosed words",)
    assert parse('""').phrases == () and parse('""').text == ""


def test_exclusions() -> None:
    p = parse('hợp tác -gió -"điện hạt nhân"')
    assert p.text == "hợp tác" and p.excluded == ("gió", "điện hạt nhân")
    assert parse("-5% chi phí").excluded == () and parse("-5% chi phí").text == "-5% chi phí"
    assert parse("smart-farm").text == "smart-farm" and not parse("smart-farm").excluded


@pytest.mark.parametrize(("query", "field", "value"), [
    ("type:offer", "types", ("offer",)), ("TYPE:Offer type:demand", "types", ("offer", "demand")),
    ("lang:KO", "langs", ("ko",)), ('source:"Hai Phong DOST"', "sources", ("Hai Phong DOST",)),
    ("title:RAS", "titles", ("RAS",)), ("after:2024-06", "after", "2024-06"),
    ("before:2025-01-31", "before", "2025-01-31"),
])
def test_fields(query: str, field: str, value: object) -> None:
    p = parse(query)
    assert getattr(p, field) == value and p.text == "" and p.restricts


def test_unknown_fields_and_bare_colons_are_text() -> None:
    assert parse("ISO:9001 http://example.com/a").text == "ISO:9001 http://example.com/a"
    assert parse("type: offer").text == "type: offer" and not parse("type: offer").types
    assert parse("-type:offer").text == "-type:offer"


@pytest.mark.parametrize("bad", ["after:2024-13", "before:2024-02-30", "after:2023-00", "before:24",
                                 "after:yesterday", "lang:fr", "after:2025 before:2024"])
def test_bad_values_are_errors_in_words(bad: str) -> None:
    with pytest.raises(QueryError):
        parse(bad)


def test_date_bounds() -> None:
    assert in_range("2024-06-01", "2024", "2025") and in_range("2024", "2024", "")
    assert not in_range("2025-01-01", "", "2025") and not in_range("2023-12-31", "2024", "")
    assert in_range("2024-05", "2024-05", "2024-06") and not in_range("", "2024", "")
    assert in_range("", "", "")


def test_title_alone_ranks_on_its_words() -> None:
    assert parse("title:RAS").ranked_text == "RAS" and ParsedQuery(text="x").ranked_text == "x"


# -- phrases on word boundaries ------------------------------------------------------------
def test_phrase_matches_whole_words_tone_and_case_folded() -> None:
    text = "Khả năng lượng hóa. Năng lượng tái tạo và hoà bình"
    words = ("khả_năng", "lượng_hóa", "năng_lượng", "tái_tạo", "hoà_bình")
    assert phrase_in(text, "năng lượng tái tạo", words)
    assert phrase_in(text, "NĂNG LƯỢNG", words)  # once: the second occurrence
    assert not phrase_in("Khả năng lượng hóa", "năng lượng", ("khả_năng", "lượng_hóa"))
    assert phrase_in(text, "hòa bình", words)  # the other tone placement
    assert phrase_in(text, "nang luong tai tao", words)  # typed without diacritics
    assert not phrase_in(text, "tạo và hòa", ("tái_tạo", "hoà_bình"))  # would split tái tạo
    assert phrase_in("재생에너지 협력 협약을 체결했다", "협약")
    assert not phrase_in("tái tạo", "năng lượng")


# -- applied by the engine -----------------------------------------------------------------
def test_phrase_restricts_the_results(engine: SearchEngine) -> None:
    assert ids(engine, '"nuôi tôm"') == ["aqua-vi"] and not engine.search('"nuôi tôm"').searched_as
    assert "mou-vi" in ids(engine, "năng lượng") and ids(engine, '"năng lượng" -"điện mặt trời"') == []
    # a phrase no document holds: its words are searched, and the page says so
    loose = engine.search('"tôm nuôi"')
    assert loose.total > 0 and loose.searched_as == "tôm nuôi" and loose.to_json()["rewritten"]


def test_a_phrase_in_a_title_alone_is_held_and_excluded(engine: SearchEngine) -> None:
    # the title is indexed with each chunk but is no chunk's text: these phrases are in a title only
    found = engine.search('"nuôi trồng thủy sản"')
    assert [h.id for h in found.hits] == ["aqua-vi"] and not found.searched_as
    assert ids(engine, '"인력 양성"') == ["chip-ko"]
    assert "aqua-vi" in ids(engine, "Cần Thơ IoT") and "aqua-vi" not in ids(engine, 'Cần Thơ IoT -"thủy sản"')
    assert "chip-ko" not in ids(engine, '반도체 -"보고서"')


def test_a_phrase_reaches_the_other_language_through_the_counterpart(engine: SearchEngine) -> None:
    from viko.corpus.counterparts import Counterpart

    linked = SearchEngine(engine.index, engine.encoder, engine.analyzer, engine.meta,
                          counterparts=Counterparts.of([Counterpart("mou-vi", "mou-ko", 0.9),
                                                        Counterpart("mou-ko", "mou-vi", 0.9)]))
    assert set(ids(linked, '"năng lượng tái tạo"')) == {"mou-vi", "mou-ko"}
    assert ids(engine, '"năng lượng tái tạo"') == ["mou-vi"]


def test_excluded_word_removes_documents(engine: SearchEngine) -> None:
    assert "aqua-vi" in ids(engine, "Cần Thơ IoT hợp tác")
    assert "aqua-vi" not in ids(engine, "Cần Thơ IoT hợp tác -tôm")
    assert "mou-ko" not in ids(engine, "협력 -협약")


@pytest.mark.parametrize("query", ['""', "-", '"  " -', '-""'])
def test_nothing_to_search_or_filter_by_is_an_empty_query(engine: SearchEngine, query: str) -> None:
    with pytest.raises(QueryError, match="empty"):
        engine.search(query)


def test_type_and_lang_filters(engine: SearchEngine) -> None:
    assert ids(engine, "nuôi tôm type:news") == ["aqua-vi"] and ids(engine, "nuôi tôm type:report") == []
    assert set(ids(engine, "type:agreement")) == {"mou-vi", "mou-ko"}
    assert ids(engine, "type:agreement lang:ko") == ["mou-ko"]
    assert all(h.type == "agreement" for h in engine.search("năng lượng type:agreement").hits)


def test_date_filters_list_newest_first_without_words(engine: SearchEngine) -> None:
    assert ids(engine, "after:2024") == ["chip-ko", "aqua-vi"]
    assert ids(engine, "before:2024") == ["mou-vi", "mou-ko"]  # one date: by id, as listed
    assert ids(engine, "after:2024-03 before:2024-04") == ["aqua-vi"]


def test_title_and_source_filters(engine: SearchEngine) -> None:
    assert ids(engine, "title:IoT") == ["aqua-vi"]
    assert ids(engine, "title:iot nuôi tôm") == ["aqua-vi"]  # case folded
    assert set(ids(engine, "source:dost")) == {"mou-vi", "mou-ko", "aqua-vi", "chip-ko"}
    assert ids(engine, "source:KOTRA") == []


def test_filters_restrict_retrieval_not_a_page(engine: SearchEngine) -> None:
    """The allowed rows are what dense and BM25 retrieval may return: a filtered query's
    candidates are only allowed documents, however many the unfiltered query has."""
    parsed = parse("năng lượng type:news")
    allowed = engine.allowed(parsed)
    assert allowed is not None and allowed.sum() > 0
    ranked, _ = engine.rank("năng lượng", "vi", ["vi", "ko", "other"], allowed=allowed)
    assert {s.doc_id for s in ranked} <= {"aqua-vi"}
    index = engine.index
    centred = index.centre(engine.query_vector("năng lượng"), "vi")[0]
    rows, _ = dense_within(index, centred, "vi", 5, allowed)
    assert set(index.doc_ids_of(rows)) == {"aqua-vi"} and index.size < BRUTE_FORCE_ROWS


def test_over_fetched_dense_search_finds_allowed_rows(engine: SearchEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above BRUTE_FORCE_ROWS the index is asked for more neighbours until enough pass."""
    import viko.search.constraints as constraints

    monkeypatch.setattr(constraints, "BRUTE_FORCE_ROWS", 0)
    index = engine.index
    allowed = np.zeros(index.size, bool)
    allowed[index.doc_rows["aqua-vi"]] = True
    centred = index.centre(engine.query_vector("hợp tác"), "vi")[0]
    rows, sims = constraints.dense_within(index, centred, "vi", 3, allowed)
    assert set(index.doc_ids_of(rows)) == {"aqua-vi"} and list(sims) == sorted(sims, reverse=True)


# -- spelling, accents and case ------------------------------------------------------------
def test_misspelt_words_are_searched_as_the_index_words(engine: SearchEngine) -> None:
    res = engine.search("cảmm biếnn")
    assert res.searched_as == "cảm biến" and [h.id for h in res.hits] == ["aqua-vi"]
    typed = engine.search("cảmm biếnn", exact=True)
    assert typed.total == 0 and typed.suggestions == ("cảm biến",) and typed.searched_as == ""
    assert engine.search("xqzvw plorkt").total == 0  # nonsense has no correction that matches


def test_a_word_of_one_repeated_letter_is_no_typo() -> None:
    """"aaaa bbbb" is keyboard mashing, even where "aaa" and "bbbbb" are indexed words (the
    placeholder names of anonymised rulings): it is not searched as them, only offered."""
    from viko.search import spelling

    speller = spelling.Speller({k: k for k in ("aaa", "bbbbb", "solar")}, {3: ["aaa"], 5: ["bbbbb", "solar"]})
    assert speller.correct("aaaa bbbb", typos_only=True) is None
    assert speller.correct("aaaa bbbb") == "aaa bbbbb"
    assert speller.correct("solarr", typos_only=True) == "solar"


def test_real_words_the_index_lacks_are_offered_never_searched_as_another_word(engine: SearchEngine) -> None:
    from viko.search.spelling import edits

    # "nấu" is a Vietnamese word (to cook), not a typo of an indexed word: nothing is rewritten
    assert engine.search("nấu phở ngon").searched_as == ""
    korean = engine.search("반도채")  # a Korean misspelling is offered ("did you mean"), not searched
    assert korean.total == 0 and korean.searched_as == "" and korean.suggestions == ("반도체",)
    assert edits("camm", "cam") == 1 and edits("", "ab") == 2 and edits("kitten", "sitting") == 3


def test_unaccented_query_says_how_it_was_searched(engine: SearchEngine) -> None:
    res = engine.search("nuoi tom")
    assert res.searched_as == "nuôi tôm" and res.to_json()["rewritten"] is True
    assert engine.search("nuôi tôm").searched_as == ""


def test_latin_case_is_folded_in_detection_and_search(engine: SearchEngine) -> None:
    assert query_language("Jeollanam-do") == query_language("jeollanam-do") == query_language("JEOLLANAM-DO") == "en"
    assert ids(engine, "Jeollanam-do") == ids(engine, "jeollanam-do") == ids(engine, "JEOLLANAM-DO") != []
    assert ids(engine, "iot") == ids(engine, "IoT")


def test_a_pasted_text_keeps_its_quotes_and_dashes_as_text() -> None:
    """More than PASTE_WORDS words is a paste: a quoted remark in it is not a required phrase."""
    from viko.search.syntax import PASTE_WORDS

    prose = " ".join(["lời"] * PASTE_WORDS) + ' ông nói "hôm nay thì không" -tạm biệt type:news'
    p = parse(prose)
    assert p.phrases == () and p.excluded == () and p.types == ("news",)
    assert '"hôm nay thì không"' in p.text and "-tạm" in p.text
    short = parse('ông nói "hôm nay thì không" -tạm')
    assert short.phrases == ("hôm nay thì không",) and short.excluded == ("tạm",)


def test_did_you_mean_compares_a_bounded_number_of_words() -> None:
    """An unknown word is compared with the PER_LENGTH most frequent words of each length, not
    the whole vocabulary of a large index (by_length lists keys most frequent first)."""
    from viko.search import spelling

    filler = [f"q{i:04d}" for i in range(spelling.PER_LENGTH + 100)]
    rare = spelling.Speller({k: k for k in [*filler, "solar"]}, {5: [*filler, "solar"]})
    common = spelling.Speller({k: k for k in ["solar", *filler]}, {5: ["solar", *filler]})
    assert common.closest("solarr") == "solar"
    assert rare.closest("solarr") is None
