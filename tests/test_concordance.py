"""Concordance search over the translation memory (trigram FTS5, KWIC highlights)."""

import importlib
import json
import pkgutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from viko.cli import main
from viko.corpus.catalogue import Catalogue
from viko.corpus.document import make_document
from viko.corpus.textnorm import nfc
from viko.corpus.tm import TranslationMemory, Unit, fold_key, search_key
from viko.workbench.concordance import ConcordanceError, ConcordanceHit, concordance

UNITS = [
    Unit("Hai bên ký thỏa thuận hợp tác về năng lượng tái tạo.", "양측은 재생에너지 협력 협약을 체결했다.",
         "aligned", 0.9, "mou-vi", "mou-ko", (0,), (0,)),
    Unit("Nông dân lắp cảm biến IoT trong nhà kính thông minh.", "농민들은 스마트 온실에 IoT 센서를 설치했다.",
         "aligned", 0.88, "farm-vi", "farm-ko", (2,), (1, 2)),
    Unit("Đoàn công tác thăm khu nông nghiệp công nghệ cao của nông dân.", "대표단은 농민의 첨단 농업 단지를 방문했다.",
         "mined", 1.1, "news-vi", "report-ko", (4,), (7,)),
    Unit("Khoản vay ưu đãi dành cho doanh nghiệp nhỏ.", "중소기업을 위한 우대 대출.", "tmx", 1.0, source="old.tmx"),
    # underthesea segments: đào_tạo ... tạo (alone) việc_làm; chất_lượng, sáng_tạo;
    # năng_lượng tái_tạo ... khả_năng lượng (alone) hóa (see the tests below).
    Unit("Đào tạo nghề sẽ tạo việc làm cho người dân.", "직업 훈련은 주민들에게 일자리를 만들 것이다.", "tmx", 1.0,
         source="old.tmx"),
    Unit("Chương trình nâng cao chất lượng nhân lực sáng tạo.", "창의적 인력의 질을 높이는 프로그램.", "tmx", 1.0,
         source="old.tmx"),
    Unit("Tăng năng lượng tái tạo và khả năng lượng hóa.", "재생에너지를 늘리고 계량화 능력을 높인다.", "tmx", 1.0,
         source="old.tmx"),
]


@pytest.fixture
def cat(tmp_path: Path) -> Catalogue:
    c = Catalogue.open(tmp_path / "catalogue.sqlite")
    c.upsert(make_document({"id": "mou-vi", "lang": "vi", "title": "Thỏa thuận Hải Phòng", "text": "x"}))
    with c.conn:
        TranslationMemory(c).add_many(UNITS)
    return c


def test_vietnamese_phrase_with_other_tone_placement(cat: Catalogue) -> None:
    res = concordance(cat, "thoả thuận")  # 'oả' where the text has 'ỏa'
    assert res.total == 1
    hit = res.hits[0]
    assert hit.side == "vi" and hit.unit.ko.startswith("양측은")
    s, e = hit.vi_spans[0]
    assert hit.unit.vi[s:e] == "thỏa thuận" and hit.ko_spans == ()
    assert hit.vi_title == "Thỏa thuận Hải Phòng"


def test_korean_substring_inside_word_with_particle(cat: Catalogue) -> None:
    res = concordance(cat, "협약")  # two syllables: shorter than a trigram
    assert res.total == 1 and res.hits[0].side == "ko"
    s, e = res.hits[0].ko_spans[0]
    assert res.hits[0].unit.ko[s:e] == "협약"
    assert concordance(cat, "재생에너지 협력").total == 1


def test_a_korean_amount_is_not_found_inside_another_number(tmp_path: Path) -> None:
    c = Catalogue.open(tmp_path / "catalogue.sqlite")
    with c.conn:
        TranslationMemory(c).add_many([
            Unit("Ngân sách 6,5 tỷ đồng.", "예산 65억 동.", "tmx", 1.0, source="a.tmx"),
            Unit("Khoảng 500 triệu won.", "약 5억 원.", "tmx", 1.0, source="a.tmx")])
    assert [h.unit.ko for h in concordance(c, "5억").hits] == ["약 5억 원."]


def test_latin_words_match_whole_words_on_either_side(cat: Catalogue) -> None:
    res = concordance(cat, "iot")
    assert res.total == 1 and res.hits[0].side == "vi"
    assert concordance(cat, "an").total == 0  # not inside 'năng' or 'khoản'


def test_unaccented_query_finds_accented_text(cat: Catalogue) -> None:
    res = concordance(cat, "nong nghiep")
    assert res.total == 1
    s, e = res.hits[0].vi_spans[0]
    assert res.hits[0].unit.vi[s:e] == "nông nghiệp"



def test_search_key_normalises_tones_and_keeps_accents() -> None:
    """Concordance relies on it: the tone-placement variants meet, an unaccented query does
    not (it goes through fold_key and the vi_fold column), and offsets stay offsets."""
    assert search_key("Thoả Thuận") == search_key("thỏa thuận") == "thỏa thuận"
    assert search_key("Hoà bình") == search_key("hòa bình")
    assert search_key("hợp tác") != search_key("hop tac")
    assert fold_key("Hợp Tác") == fold_key("hop tac") == "hop tac"
    assert search_key("재생에너지 협력") == "재생에너지 협력"
    for unit in UNITS:
        assert len(search_key(unit.vi)) == len(nfc(unit.vi)) == len(fold_key(unit.vi))


def test_one_search_key_for_memory_glossary_and_queries(cat: Catalogue) -> None:
    """The key the memory stores, the glossary matches on and a query is put in is one
    function: a second search_key in the corpus or the workbench (another behaviour, such as
    folding accents) fails here, as does a stored key that is not what a query would use."""
    import viko.corpus
    import viko.workbench

    found = {}
    for package in (viko.corpus, viko.workbench):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            key = getattr(importlib.import_module(info.name), "search_key", None)
            if key is not None:
                found[info.name] = f"{key.__module__}.{key.__qualname__}"
    assert {"viko.corpus.tm", "viko.corpus.glossary", "viko.workbench.concordance"} <= set(found)
    assert set(found.values()) == {"viko.corpus.tm.search_key"}, found
    rows = cat.conn.execute("SELECT vi, ko, vi_key, ko_key, vi_fold FROM tm_units").fetchall()
    assert len(rows) == len(UNITS)
    for vi, ko, vi_key, ko_key, vi_fold in rows:
        assert (vi_key, ko_key, vi_fold) == (search_key(vi), search_key(ko), fold_key(vi))

def test_ordering_and_paging(cat: Catalogue) -> None:
    res = concordance(cat, "nông dân")
    assert [h.unit.origin for h in res.hits] == ["aligned", "mined"]  # mined after aligned
    page = concordance(cat, "nông dân", limit=1, offset=1)
    assert page.total == 2 and page.hits[0].unit.origin == "mined"
    only_ko = concordance(cat, "nông dân", lang="ko")
    assert only_ko.total == 0


def marked(hit: ConcordanceHit) -> list[str]:
    return [hit.unit.vi[s:e] for s, e in hit.vi_spans]


def test_a_syllable_inside_a_vietnamese_word_is_no_match(cat: Catalogue) -> None:
    res = concordance(cat, "tạo")  # its own word once; inside đào tạo, tái tạo, sáng tạo elsewhere
    assert res.total == 1
    hit = res.hits[0]
    assert hit.unit.vi.startswith("Đào tạo nghề") and marked(hit) == ["tạo"]
    assert hit.vi_spans == ((hit.unit.vi.index(" tạo việc") + 1, hit.unit.vi.index(" việc")),)
    lone = concordance(cat, "lượng")  # inside năng lượng, chất lượng
    assert not any(h.unit.vi.startswith(("Hai bên", "Chương trình")) for h in lone.hits)
    assert concordance(cat, "lượng tái").total == 0  # starts and ends inside words
    assert concordance(cat, "đào tạo").total == 1 and concordance(cat, "sáng tạo").total == 1


def test_phrase_on_word_boundaries(cat: Catalogue) -> None:
    res = concordance(cat, "năng lượng")
    assert res.total == 2 and all(marked(h) == ["năng lượng"] for h in res.hits)
    both = next(h for h in res.hits if h.unit.vi.startswith("Tăng"))
    assert both.vi_spans == ((5, 15),)  # not "năng lượng" across khả_năng | lượng
    assert both.to_json()["vi_spans"] == [[5, 15]]
    whole = concordance(cat, "năng lượng tái tạo")
    assert whole.total == 2 and all(marked(h) == ["năng lượng tái tạo"] for h in whole.hits)


def test_unaccented_query_on_word_boundaries(cat: Catalogue) -> None:
    res = concordance(cat, "nang luong")
    assert res.total == 2 and all(marked(h) == ["năng lượng"] for h in res.hits)
    tao = concordance(cat, "tao")
    assert tao.total == 1 and marked(tao.hits[0]) == ["tạo"] and tao.hits[0].unit.vi.startswith("Đào tạo nghề")
    luong = concordance(cat, "luong")
    assert not any(h.unit.vi.startswith(("Hai bên", "Chương trình")) for h in luong.hits)


def test_bad_queries_are_clear_errors(cat: Catalogue) -> None:
    for bad in ("", "   ", "x" * 500):
        with pytest.raises(ConcordanceError):
            concordance(cat, bad)
    with pytest.raises(ConcordanceError):
        concordance(cat, "nông", lang="fr")
    assert concordance(cat, 'quote " and % _ \\').total == 0  # no SQL or FTS syntax leaks


def test_units_survive_replacement_of_one_pair(cat: Catalogue) -> None:
    tm = TranslationMemory(cat)
    tm.replace_pair("mou-vi", "mou-ko", [Unit("Điều một.", "제1조.", vi_doc="mou-vi", ko_doc="mou-ko")])
    assert concordance(cat, "thỏa thuận").total == 0
    assert concordance(cat, "제1조").total == 1
    assert concordance(cat, "iot").total == 1


def test_cli_concordance_json(tmp_path: Path, cat: Catalogue) -> None:
    data = tmp_path  # the fixture's catalogue lives here
    out = CliRunner().invoke(main, ["--data", str(data), "concordance", "--json", "협력"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    assert payload["total"] == 1 and payload["hits"][0]["ko_spans"] == [[10, 12]]
    text = CliRunner().invoke(main, ["--data", str(data), "concordance", "협력"])
    assert text.exit_code == 0 and "1 translation units" in text.output
    bad = CliRunner().invoke(main, ["--data", str(data), "concordance", " "])
    assert bad.exit_code == 2
