"""Queries as people type them (pure logic, no model): language detection of unaccented
Vietnamese and English, diacritic restoration from the index's words, English glossary
forms, word-level highlights, reference centring and the relevance floor."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from viko.corpus.document import make_document
from viko.corpus.glossary import Entry, Glossary, parse_tsv, with_english
from viko.corpus.textnorm import detect_language, looks_unaccented_vietnamese, query_language
from viko.indexer import centring
from viko.indexer.analyze import default_analyzer
from viko.indexer.build import update_index
from viko.indexer.lexical import LexicalIndex
from viko.indexer.store import Index
from viko.search import relevance
from viko.search.accents import AccentTable
from viko.search.expansion import expanded_terms, file_glossary, translated_terms
from viko.search.params import DEFAULTS, RankingParams
from viko.search.ranked import Scored
from viko.search.relevance import (
    above_floor,
    dense_similarity,
    lexical_docs,
    near_best,
    term_coverage,
)
from viko.search.retriever import LocalRetriever
from viko.search.snippets import match_spans

from helpers import SMALL_DOCS, FakeEncoder


@pytest.mark.parametrize("text, lang", [
    ("dien mat troi ap mai", "vi"), ("Hai Phong", "vi"), ("Kien Thuy", "vi"), ("Lach Huyen", "vi"),
    ("HAI PHONG", "vi"), ("điện mặt trời", "vi"), ("rooftop solar", "en"), ("smart farm", "en"),
    ("IoT", "en"), ("ESS EPC MOU", "en"), ("the cat is on the mat", "en"), ("태양광 패널", "ko"),
    ("12345", "other"), ("Привет мир", "other"),
    ("Jeollanam-do", "en"), ("jeollanam-do", "en"), ("JEOLLANAM-DO", "en"),  # a hyphenated name, any case
    ("ba-ria vung-tau", "vi"),
    # short Vietnamese queries with a loanword: a syllable no English word spells decides
    ("hydro xanh", "vi"), ("drone nong nghiep", "vi"), ("san xuat hydro", "vi"),
    ("green hydrogen", "en"), ("xenon lamp", "en"), ("khaki pants", "en"), ("pho recipe", "en"),
    ("robot cleaning", "en"),
])
def test_query_language(text: str, lang: str) -> None:
    assert query_language(text) == lang


@pytest.mark.parametrize("text, unaccented", [
    ("Tesla chet nam nao?", True),  # a name first: left out of the count
    ("Sua luoc an bao nhieu trong mot ngay?", True),  # "an", "the", "to": Vietnamese syllables too
    ("Hinh thuc trung phat than the pho bien nhu the nao trong qua khu?", True),
    ("Killer Pig Mauls Chinese Farmer to Death", False),  # Title Case English: mostly "names"
    ("And Women Need to Wield It.", False),  # "And" is English however it is written
    ("the cat is on the mat", False),
])
def test_unaccented_vietnamese_beside_names_and_english(text: str, unaccented: bool) -> None:
    assert looks_unaccented_vietnamese(text) is unaccented


def test_documents_keep_their_language_rules() -> None:
    assert detect_language("A report written in English about rooftop solar power.") == "other"
    assert detect_language("hop tac phat trien nong nghiep cong nghe cao") == "vi"
    assert not looks_unaccented_vietnamese("Hải Phòng")  # accented: the ordinary rule decides


def test_diacritics_restored_from_the_index_words() -> None:
    terms = [["điện", "mặt", "trời", "mặt_trời", "áp", "mái", "áp_mái"], ["mất", "mất", "mất"], ["mất", "mát"],
             ["sóc", "trăng", "sóc_trăng"]]
    table = AccentTable.from_lexicon(LexicalIndex.build(terms))
    # "mất" is the more frequent syllable, but the word "mặt trời" decides "mat troi".
    assert table.restore("dien mat troi ap mai") == "điện mặt trời áp mái"
    assert table.restore("Soc Trang, Ca Mau") == "Sóc Trăng, Ca Mau"  # unknown words stay as typed
    assert table.restore("mat") == "mất"
    assert table.restore("rooftop solar") == "rooftop solar"  # not Vietnamese: unchanged
    assert table.restore("cua cac") == "của các"  # function words come from the stopword list


def test_function_and_question_words_restore_the_same_way_in_every_process() -> None:
    import subprocess
    import sys

    # "nhưng"/"những" and "do"/"đó" are stopwords spelt alike; "gỉ", "đầu", "ái" are indexed words
    script = ("from viko.indexer.lexical import LexicalIndex; from viko.search.accents import AccentTable; "
              "t = AccentTable.from_lexicon(LexicalIndex.build([['gỉ', 'đầu', 'ái', 'sắt']])); "
              "print(t.restore('nhung do la gi? dau? ai?'))")
    seen = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout.strip() for seed in range(6)}
    assert seen == {"những đó là gì? đâu? ai?"}


def test_ambiguous_syllables_take_the_form_their_context_is_associated_with() -> None:
    # "đối" is everywhere, so it shares more chunks with "bóng" (4) than "đội" does (3); but
    # every chunk of "đội" holds "bóng": association, not frequency, decides
    chunks = ([["đội", "bóng"]] * 3 + [["đối", "bóng"]] * 4 + [["đối", "thủ"]] * 5 + [["đối"]] * 21)
    table = AccentTable.from_lexicon(LexicalIndex.build(chunks))
    assert table.restore("doi bong") == "đội bóng"
    assert table.restore("doi thu") == "đối thủ"
    assert table.restore("doi") == "đối"  # no context: the most frequent form


def test_english_glossary_forms_expand_to_both_languages() -> None:
    entries, problems = parse_tsv(["vi\tko\tnote\ten", "điện mặt trời áp mái\t지붕형 태양광\tenergy\trooftop solar; rooftop PV",
                                   "Hải Phòng\t하이퐁\tplace"], "t.tsv")
    assert not problems and entries[0].en == "rooftop solar; rooftop PV" and entries[1].en == ""
    glossary = Glossary(entries)
    assert glossary.expand_query_terms("Rooftop PV in Vietnam", "en") == ["điện mặt trời áp mái", "지붕형 태양광"]
    assert glossary.expand_query_terms("Hải Phòng", "vi") == ["하이퐁"]  # vi/ko unchanged
    terms = expanded_terms(default_analyzer(), glossary, "rooftop solar", "en")
    assert {"rooftop", "solar", "áp_mái", "지붕", "điện_mặt_trời_áp_mái"} <= set(terms)


def test_old_glossary_files_load_and_catalogue_entries_get_english() -> None:
    entries, problems = parse_tsv(["vi\tko\tnote", "Hải Phòng\t하이퐁\tplace"], "old.tsv")
    assert not problems and entries == [Entry("Hải Phòng", "하이퐁", "place", "", "file")]
    kept = [Entry("Điện mặt trời", "태양광 발전", origin="user", id=7)]
    files = [Entry("điện mặt trời", "태양광 발전", en="solar power")]
    assert with_english(kept, files)[0].en == "solar power" and with_english(kept, files)[0].id == 7
    bundled = file_glossary()[0]
    assert "하이퐁" in bundled.expand_query_terms("Hai Phong port", "en")


def test_highlights_keep_vietnamese_words_whole() -> None:
    text = "Tăng năng lượng tái tạo, đào tạo kỹ sư, nâng cao chất lượng và sáng tạo. Cảm biến IoT ở Hải Phòng."
    terms = ["năng", "lượng", "tái", "tạo", "năng_lượng", "tái_tạo", "iot", "hải", "phòng"]
    words = ["năng_lượng", "tái_tạo", "đào_tạo", "kỹ_sư", "chất_lượng", "sáng_tạo", "cảm_biến", "hải_phòng"]
    marked = [text[s:e] for s, e in match_spans(text, terms, words)]
    assert marked == ["năng lượng", "tái tạo", "IoT", "Hải Phòng"]
    # A glossary phrase is one unit, and an unaccented term still marks its accented form.
    assert [text[s:e] for s, e in match_spans(text, ["năng_lượng_tái_tạo"], words)] == ["năng lượng tái tạo"]
    assert [text[s:e] for s, e in match_spans(text, ["hai_phong"], words)] == ["Hải Phòng"]
    # A query word is not marked where it would split one of the text's words.
    other = "Tăng năng lượng tái tạo và khả năng lượng hóa."
    spans = match_spans(other, ["năng_lượng"], ["năng_lượng", "tái_tạo", "khả_năng", "lượng_hóa"])
    assert spans == [(5, 15)]


@pytest.mark.parametrize("text, terms, words, marked", [
    # 설치 -> lắp đặt, 지붕 -> mái nhà, 패널 -> tấm pin: a translation's syllable is never marked alone
    ("Thiết bị đặt trong container, lắp trên xe", ["설치", "lắp", "đặt", "lắp_đặt"], [], []),
    ("Đã lắp đặt hệ thống", ["설치", "lắp", "đặt", "lắp_đặt"], ["lắp_đặt", "hệ_thống"], ["lắp đặt"]),
    ("Xưởng nhà sơ chế, quản lý pin", ["mái_nhà", "mái", "nhà", "tấm", "pin", "tấm_pin"], ["sơ_chế", "quản_lý"], []),
    ("Bà Lan, nhà sáng lập", ["smart", "farm", "nhà", "kính", "nhà_kính"], ["sáng_lập"], []),
    # the query's own multi-syllable word: "Hải Phòng" does not mark "Phòng" of "Phòng Hợp tác"
    ("Phòng Hợp tác quốc tế, Hải Phòng", ["hải", "phòng", "hải_phòng"], ["hợp_tác", "quốc_tế", "hải_phòng"],
     ["Hải Phòng"]),
    ("phòng thí nghiệm", ["phòng", "thí", "nghiệm", "thí_nghiệm"], ["thí_nghiệm"], ["phòng", "thí nghiệm"]),
])
def test_highlights_never_split_a_query_word_or_glossary_phrase(text: str, terms: list[str], words: list[str],
                                                                marked: list[str]) -> None:
    assert [text[s:e] for s, e in match_spans(text, terms, words)] == marked


@pytest.mark.parametrize("query, lang, text, marked", [
    ("5억 달러", "ko", "65억 달러와 5억 달러, 1,5억 원. 억울하다", ["달러", "5억", "달러"]),
    ("1조 2천억 원", "ko", "1조 2천억 원과 2천억 원", ["1조 2천억"]),
    ("20 triệu người", "vi", "인구 2000만 명, 30 triệu USD", ["2000만"]),  # the value, across languages
    ("500 triệu USD", "vi", "Dự án 500 triệu USD, 30 triệu người và 500 tỷ đồng", ["500 triệu", "USD"]),
    ("억", "ko", "65억 달러", ["억"]),  # a scale word asked alone is a word
])
def test_an_amount_is_marked_whole_and_no_part_of_another(query: str, lang: str, text: str,
                                                          marked: list[str]) -> None:
    from viko.indexer.analyze import default_analyzer

    terms = default_analyzer().query_tokens(query, lang)
    assert [text[s:e] for s, e in match_spans(text, terms)] == marked


def test_a_glossary_phrase_of_the_other_language_is_marked_whole() -> None:
    # 파운드 -> "bảng Anh": "anh" (his) alone was marked, the phrase never
    from viko.indexer.analyze import default_analyzer
    from viko.search.expansion import expand, file_glossary

    marked = expand(default_analyzer(), file_glossary(None)[0], "1100만 파운드", "ko").marked
    text = "Đế chế kinh doanh của anh ký hợp đồng 11 triệu bảng Anh."
    assert [text[s:e] for s, e in match_spans(text, marked)] == ["11 triệu", "bảng Anh"]


def test_a_one_syllable_word_of_a_korean_translation_is_marked_only_inside_it() -> None:
    # nguồn nhân lực -> "인적 자원" (analysed 인 + 자원): "인" marked every 인력, 확인 and 인천
    from viko.indexer.analyze import default_analyzer
    from viko.search.expansion import expand, file_glossary

    marked = expand(default_analyzer(), file_glossary(None)[0], "nguồn nhân lực", "vi").marked
    assert "인" not in marked
    text = "인천 공항 확인, 인적 자원 개발과 인적자원 관리"
    assert [text[s:e] for s, e in match_spans(text, marked)] == ["인적 자원", "인적자원"]


def test_acronyms_joined_by_the_segmenter_do_not_hide_the_query_words() -> None:
    from viko.indexer.analyze import default_analyzer
    from viko.search.expansion import NoExpansion, expand

    found = expand(default_analyzer(), NoExpansion(), "nuôi tôm IoT Cần Thơ", "vi")
    assert "tôm" in found.marked and "iot" in found.marked and "cần_thơ" in found.marked
    assert not any("iot" in t and "_" in t for t in found.marked)
    assert found.own == tuple(t for t in found.terms)  # BM25 scores every term, joined or not


def test_reference_centroid_shrinks_toward_the_corpus() -> None:
    reference = np.ones(4, np.float32)
    corpus = np.zeros((200, 4), np.float32)
    assert np.allclose(centring.centroid(corpus[:0], reference, 4, weight=200), reference)
    assert np.allclose(centring.centroid(corpus, reference, 4, weight=200), reference / 2)
    assert np.allclose(centring.centroid(corpus, None, 4), 0.0)
    assert np.allclose(centring.centroid(corpus[:3], reference, 4, weight=0), 0.0)


def test_one_rule_for_a_query_in_another_language() -> None:
    ref = {"vi": np.array([1, 0, 0], np.float32), "ko": np.array([0, 1, 0], np.float32),
           "en": np.array([0, 0, 1], np.float32)}
    cents = {"vi": np.array([2, 0, 0], np.float32), "ko": np.array([0, 2, 0], np.float32)}
    got = centring.query_centroid("en", cents, ref, ["vi", "ko"], 3)
    assert np.allclose(got, [0.5, 0.5, 1.0])  # English reference + the indexed languages' offset
    assert np.allclose(centring.query_centroid("vi", cents, ref, ["vi", "ko"], 3), cents["vi"])
    assert np.allclose(centring.query_centroid("other", cents, {}, ["vi", "ko"], 3), [1, 1, 0])


def test_shrunk_stats() -> None:
    assert centring.shrunk_stats(1.0, 2.0, 5, (0.0, 1.0), weight=0) == (1.0, 2.0)
    mean, std = centring.shrunk_stats(1.0, 2.0, 20, (0.0, 1.0), weight=20)
    assert mean == pytest.approx(0.5) and std == pytest.approx(np.sqrt(2.5))


# -- the relevance floor -------------------------------------------------------------------
UNREACHABLE = RankingParams(min_dense_evidence=2.0)  # no cosine passes: the other rules decide
@pytest.fixture
def small_index(tmp_path: Path) -> Index:
    update_index([make_document(d) for d in SMALL_DOCS], tmp_path / "index", FakeEncoder(), default_analyzer())
    return Index.load(tmp_path / "index")


@pytest.fixture
def retriever(small_index: Index) -> LocalRetriever:
    return LocalRetriever(small_index, {})


def _items(index: Index) -> list[Scored]:
    return [Scored(d, index.doc_lang[d], 1.0, index.doc_rows[d][0]) for d in index.doc_ids]


def test_floor_keeps_lexical_bridged_and_dense_evidence_only(small_index: Index, retriever: LocalRetriever) -> None:
    items = _items(small_index)
    terms = default_analyzer().query_tokens("nuôi tôm Cần Thơ", "vi")
    assert lexical_docs(retriever, terms, 0.2) == {"aqua-vi"}
    # Asked about some documents only (the floor's candidates): the same answer for those.
    assert lexical_docs(retriever, terms, 0.2, among={"aqua-vi", "chip-ko", "gone"}) == {"aqua-vi"}
    assert lexical_docs(retriever, terms, 0.2, among={"chip-ko"}) == set()
    far = np.zeros(small_index.manifest.dim, np.float32)
    far[0] = 1.0
    nobody: dict[str, str] = {}
    kept = above_floor(retriever, items, terms, far, "vi", nobody.get, params=UNREACHABLE)
    assert [k.doc_id for k in kept] == ["aqua-vi"]
    bridged = above_floor(retriever, items, terms, far, "vi", {"chip-ko": "aqua-vi"}.get, params=UNREACHABLE)
    assert [k.doc_id for k in bridged] == ["aqua-vi", "chip-ko"]
    # Dense evidence: the query is a document's own chunk, so its centred cosine is 1.
    own = small_index.vectors[small_index.doc_rows["mou-ko"][0]]
    sims = dense_similarity(retriever, own, "ko", items)
    assert sims[[i.doc_id for i in items].index("mou-ko")] == pytest.approx(1.0, abs=1e-5)
    dense = above_floor(retriever, items, [], own, "ko", nobody.get, params=RankingParams(min_dense_evidence=0.99))
    assert [k.doc_id for k in dense] == ["mou-ko"]


def test_floor_dense_cosine_must_also_stand_above_everyday_text(small_index: Index, retriever: LocalRetriever) -> None:
    """A cosine over `min_dense_evidence` is a match only when the query's cosine with everyday
    text of the language stays `min_dense_z` deviations below it: in a mixed collection an
    offset shared by a whole language reaches the cosine and the everyday text alike."""
    own = small_index.vectors[small_index.doc_rows["mou-ko"][0]]  # mou-ko's cosine is 1
    items = _items(small_index)
    nobody: dict[str, str] = {}
    params = RankingParams(min_dense_evidence=0.99, min_background_z=float("inf"), min_support_z=float("inf"))
    shared_offset = lambda lang: (0.9, 0.1)  # noqa: E731 - 1 deviation up
    clear = lambda lang: (0.5, 0.1)  # noqa: E731 - 5 deviations up
    assert above_floor(retriever, items, [], own, "ko", nobody.get, params=params, background=shared_offset) == []
    for background in (clear, None):  # without a background the cosine decides alone
        kept = above_floor(retriever, items, [], own, "ko", nobody.get, params=params, background=background)
        assert [k.doc_id for k in kept] == ["mou-ko"]


def test_floor_background_rule(small_index: Index, retriever: LocalRetriever) -> None:
    items = _items(small_index)
    own = small_index.vectors[small_index.doc_rows["mou-ko"][0]]
    nobody: dict[str, str] = {}
    # Far above everyday text of every language: kept even under an unreachable cosine floor.
    kept = above_floor(retriever, items, [], own, "ko", nobody.get, params=UNREACHABLE,
                       background=lambda lang: (0.0, 0.1))
    assert [k.doc_id for k in kept] == ["mou-ko"]
    none = above_floor(retriever, items, [], own, "ko", nobody.get, params=UNREACHABLE,
                       background=lambda lang: (0.9, 1.0))
    assert none == []


def test_floor_supporting_dense_evidence_needs_a_meaningful_query_and_a_best_match(
        small_index: Index, retriever: LocalRetriever, monkeypatch: pytest.MonkeyPatch) -> None:
    """Between the supporting and the strong background deviations (here 3), only the document
    of a language highest above everyday text passes, wherever it ranks, and only when the
    query has evidence somewhere: a real cross-language match in a small collection is kept,
    nonsense still gets nothing."""
    own = small_index.vectors[small_index.doc_rows["mou-ko"][0]]
    nobody: dict[str, str] = {}
    terms = default_analyzer().query_tokens("nuôi tôm Cần Thơ", "vi")
    three = lambda lang: (0.7, 0.1)  # noqa: E731 - the best chunk's cosine 1.0 is 3 deviations up
    items = sorted(_items(small_index), key=lambda s: s.doc_id != "mou-ko")  # mou-ko ranked first
    kept = above_floor(retriever, items, terms, own, "ko", nobody.get, params=UNREACHABLE, background=three)
    assert {k.doc_id for k in kept} == {"mou-ko", "aqua-vi"}
    # kept on supporting evidence alone: a possible match, and said to be one; lexical: a match
    assert {k.doc_id: k.possible for k in kept} == {"mou-ko": True, "aqua-vi": False}
    # No evidence anywhere (no lexical match at all): the deviation alone is not enough.
    assert above_floor(retriever, items, [], own, "ko", nobody.get, params=UNREACHABLE, background=three) == []
    # Ranked behind another Korean document (put first by a shared word or its counterpart's
    # score): the Korean document highest above everyday text still passes, the other does not.
    chip = next(i for i in items if i.doc_id == "chip-ko")
    late = [chip] + [i for i in items if i is not chip]
    kept = above_floor(retriever, late, terms, own, "ko", nobody.get, params=UNREACHABLE, background=three)
    assert {k.doc_id for k in kept} == {"mou-ko", "aqua-vi"}
    # Two Korean documents over the supporting deviations (2.55 and 3), apart by more than
    # near_best_dense: one passes, the one higher above everyday text.
    sims = {"mou-ko": 1.0, "chip-ko": 0.955}
    fixed = np.array([sims.get(i.doc_id, 0.0) for i in late], np.float32)
    monkeypatch.setattr(relevance, "dense_similarity", lambda *_a: fixed)
    kept = above_floor(retriever, late, terms, own, "ko", nobody.get, params=UNREACHABLE, background=three)
    assert {k.doc_id for k in kept} == {"mou-ko", "aqua-vi"}


def test_floor_keeps_supported_documents_near_their_languages_best() -> None:
    """A second cross-language match as close to the query as the kept one passes on
    supporting evidence; one further away, one below the supporting deviations, or one of a
    language that keeps nothing does not."""
    kept_sim, z = 0.20, DEFAULTS.min_support_z + 0.5
    rows = [("best-vi", "vi", True, kept_sim, z + 2),
            ("close-vi", "vi", False, kept_sim - DEFAULTS.near_best_dense / 2, z),
            ("far-vi", "vi", False, kept_sim - 2 * DEFAULTS.near_best_dense, z),
            ("weak-vi", "vi", False, kept_sim, DEFAULTS.min_support_z - 0.5),
            ("alone-ko", "ko", False, kept_sim + 0.1, z)]
    items = [Scored(doc, lang, 1.0, 0) for doc, lang, _, _, _ in rows]
    near = near_best(items, [r[2] for r in rows], [r[3] for r in rows], [r[4] for r in rows])
    assert [item.doc_id for item, ok in zip(items, near, strict=True) if ok] == ["best-vi", "close-vi"]


def test_lexical_evidence_must_cover_the_query(small_index: Index, retriever: LocalRetriever) -> None:
    """A chunk holding the query's words carries all their weight; words the collection has
    never seen count as the most specific, so a match on a few words of a long query is not
    evidence, however small the collection."""
    analyzer = default_analyzer()
    terms = analyzer.query_tokens("nuôi tôm Cần Thơ", "vi")
    cover = term_coverage(retriever, terms)
    assert cover.max() == pytest.approx(1.0, abs=1e-5)
    assert lexical_docs(retriever, terms, 0.2, terms, 0.3) == {"aqua-vi"}
    longer = analyzer.query_tokens("nuôi tôm mua vé xem bóng đá giá rẻ ở sân vận động", "vi")
    assert lexical_docs(retriever, longer, 0.2) == {"aqua-vi"}  # the ratio alone lets it in
    assert lexical_docs(retriever, longer, 0.2, longer, 0.3) == set()
    # Asked for some rows or documents only (the floor's candidates at scale): the same answers.
    rows = np.asarray([3, 0, small_index.size - 1])
    assert np.allclose(term_coverage(retriever, longer, rows),
                       term_coverage(retriever, longer)[rows])
    everyone = set(small_index.doc_ids)
    for query in (terms, longer):
        assert lexical_docs(retriever, query, 0.2, query, 0.3, among=everyone) == \
            lexical_docs(retriever, query, 0.2, query, 0.3)


def test_a_query_word_is_held_where_its_glossary_translation_is(small_index: Index, retriever: LocalRetriever) -> None:
    """태양광 발전 asked of a Vietnamese text saying "điện mặt trời": both Korean words are held
    through their translation (all of its words, not any one syllable), each counted once."""
    analyzer = default_analyzer()
    glossary = file_glossary()[0]
    rows = {small_index.chunks[r].doc_id: r for r in range(small_index.size)}
    for query, share in (("태양광 발전", 1.0), ("태양광 발전 인공지능 반도체", 0.3)):
        own = analyzer.query_tokens(query, "ko")
        translated = translated_terms(analyzer, glossary, query, "ko")
        assert frozenset({"điện", "mặt", "trời", "mặt_trời"}) in translated["태양광"]  # all held, not any
        plain = term_coverage(retriever, own)
        cover = term_coverage(retriever, own, translated=translated)
        assert plain[rows["mou-vi"]] == 0.0  # no Korean word in a Vietnamese text
        assert cover[rows["mou-vi"]] == pytest.approx(share, abs=0.15) if share < 1 else cover[rows["mou-vi"]] > 0.99
        assert cover[rows["aqua-vi"]] == 0.0  # "điện" or "mặt" alone would not do
        assert cover.max() <= 1.0 + 1e-6  # a translation never counts more than the word it translates


def test_relevance_does_not_import_the_engine() -> None:
    """The floor and the engine used to import each other; the record they share lives in
    search.ranked, so the arrows run one way (engine -> relevance -> ranked)."""
    import ast

    tree = ast.parse((Path(__file__).parent.parent / "search" / "relevance.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "viko.search.engine" not in imported and "viko.search.ranked" in imported


def test_accented_text_is_never_restored() -> None:
    assert not looks_unaccented_vietnamese("Các nhánh là gì?")  # only plain accents (á, à, ì)
    table = AccentTable.from_lexicon(LexicalIndex.build([["cac", "nhanh"]]))
    assert table.restore("Các nhánh là gì?") == "Các nhánh là gì?"



def test_a_korean_compound_counts_where_its_parts_are(tmp_path: Path) -> None:
    """Kiwi reads 그린수소 alone as one noun and as 그린 + 수소 inside a sentence: a query of the
    word alone still finds the document that says it in a sentence, on its words."""
    from viko.search.engine import SearchEngine
    from viko.search.expansion import NoExpansion, decompounded, expand

    known = {"그린", "수소", "온실", "가스", "과", "일", "국제", "협력단", "한국"}.__contains__
    assert decompounded("그린수소", known) == ("그린", "수소")
    assert decompounded("한국국제협력단", known) == ("한국", "국제", "협력단")
    assert decompounded("과일", known) == ()  # one-syllable parts would stand for any word
    assert decompounded("그린수소", None) == () and decompounded("수소", known) == ()
    found = expand(default_analyzer(), NoExpansion(), "그린수소", "ko", known)
    assert set(found.terms) >= {"그린", "수소"} and {"그린", "수소"} in found.translated["그린수소"]
    docs = [make_document(d) for d in (
        {"id": "h2", "lang": "ko", "text": "전라남도는 그린수소를 생산하는 실증 설비를 가동한다."},
        {"id": "port", "lang": "ko", "text": "하이퐁시와 협력하여 항만 물류를 개선한다."},
        {"id": "farm", "lang": "vi", "text": "Hai bên hợp tác về nông nghiệp thông minh."})]
    update_index(docs, tmp_path / "index", FakeEncoder(), default_analyzer())
    engine = SearchEngine(Index.load(tmp_path / "index"), FakeEncoder(), default_analyzer(), glossary=NoExpansion())
    assert [h.id for h in engine.search("그린수소").hits] == ["h2"]
