"""Glossary: catalogue table seeded from the bundled TSV, matching, query expansion, TBX, CLI."""

from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from viko.cli import main
from viko.corpus.catalogue import Catalogue
from viko.corpus.glossary import (
    Entry,
    Glossary,
    GlossaryError,
    GlossaryStore,
    bundled_path,
    open_glossary,
    parse_tsv,
)
from viko.workbench.tbx import read_tbx, write_tbx

ENTRIES = [
    Entry("nông nghiệp thông minh", "스마트팜", "also 스마트 농업", "agriculture"),
    Entry("nông nghiệp", "농업"),
    Entry("Hải Phòng", "하이퐁"),
    Entry("năng lượng tái tạo", "재생에너지", domain="energy"),
]


@pytest.fixture
def cat(tmp_path: Path) -> Catalogue:
    return Catalogue.open(tmp_path / "catalogue.sqlite")


def test_bundled_glossary_seeds_once(cat: Catalogue) -> None:
    store = open_glossary(cat)
    n = len(store.entries())
    assert n > 50 and bundled_path().exists()
    first = store.entries()[0]
    assert store.remove(first.id)
    again = open_glossary(cat)  # same bundled file: a removed term stays removed
    assert len(again.entries()) == n - 1


def test_index_merges_a_newer_bundled_glossary_into_the_catalogue(tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "data"
    assert runner.invoke(main, ["--data", str(data), "glossary", "list"]).exit_code == 0  # seeded
    with Catalogue.open(data / "catalogue.sqlite") as cat:
        store = GlossaryStore(cat)
        newest = store.find("điện mặt trời", "태양광")
        assert newest is not None and store.remove(newest.id)  # as if seeded from an older file
        cat.set_meta(f"glossary_seed:{bundled_path().resolve()}", "an older file")
    assert runner.invoke(main, ["--data", str(data), "index"]).exit_code == 0
    with Catalogue.open(data / "catalogue.sqlite") as cat:
        assert GlossaryStore(cat).find("điện mặt trời", "태양광") is not None  # search sees it now


def test_add_update_remove_and_validation(cat: Catalogue) -> None:
    store = GlossaryStore(cat)
    e = store.add("  nhà kính ", "온실", note="greenhouse")
    assert (e.vi, e.ko, e.note, e.origin) == ("nhà kính", "온실", "greenhouse", "user")
    same = store.add("Nhà  kính", "온실", note="updated")  # same pair after normalisation
    assert same.id == e.id and same.note == "updated"
    assert [x.vi for x in store.entries("kính")] == ["nhà kính"]
    assert store.entries("greenhouse") == []  # note replaced
    with pytest.raises(GlossaryError):
        store.add("", "온실")
    with pytest.raises(GlossaryError):
        store.add("x" * 300, "온실")
    assert store.remove(e.id) and not store.remove(e.id)


def test_lookup_longest_first_without_overlap() -> None:
    g = Glossary(ENTRIES)
    text = "Hải Phòng phát triển nông nghiệp thông minh và nông nghiệp hữu cơ."
    found = [(text[m.start:m.end], m.entry.ko) for m in g.lookup(text, "vi")]
    assert found == [("Hải Phòng", "하이퐁"), ("nông nghiệp thông minh", "스마트팜"), ("nông nghiệp", "농업")]
    ko = "하이퐁시와 전라남도는 재생에너지 협력을 한다."
    assert [ko[m.start:m.end] for m in g.lookup(ko, "ko")] == ["하이퐁", "재생에너지"]
    assert g.lookup("Hải Phònger", "vi") == []  # word edges for Latin script


def test_expand_query_terms() -> None:
    g = Glossary(ENTRIES)
    assert g.expand_query_terms("nông nghiệp thông minh ở Hải Phòng", "vi") == ["스마트팜", "하이퐁"]
    assert g.expand_query_terms("thoả thuận năng lượng tái tạo", "vi") == ["재생에너지"]
    assert g.expand_query_terms("하이퐁시 스마트팜", "ko") == ["Hải Phòng", "nông nghiệp thông minh"]
    assert g.expand_query_terms("nothing here", "vi") == []


def test_entries_sharing_a_form_all_expand() -> None:
    """One form, several entries (반도체: chất bán dẫn and bán dẫn; rooftop solar: áp mái and
    mái nhà): a query holding the form gets every entry's other side, not the first one's."""
    g = Glossary([Entry("chất bán dẫn", "반도체"), Entry("bán dẫn", "반도체"),
                  Entry("điện mặt trời áp mái", "지붕형 태양광", en="rooftop solar"),
                  Entry("điện mặt trời mái nhà", "지붕형 태양광", en="rooftop solar; rooftop PV")])
    assert g.expand_query_terms("반도체 인력", "ko") == ["chất bán dẫn", "bán dẫn"]
    assert g.expand_query_terms("rooftop solar", "en") == ["điện mặt trời áp mái", "지붕형 태양광",
                                                           "điện mặt trời mái nhà"]
    assert [m.entry.vi for m in g.lookup("반도체", "ko")] == ["chất bán dẫn"]  # marked once


def test_bundled_glossary_covers_base_terms_not_everyday_words() -> None:
    """The bundled glossary holds the base words of the cooperation domains, not only their
    compounds, so a query typed from base words reaches the other language; the words of
    everyday queries outside those domains stay out of it (they must still find nothing)."""
    entries, problems = parse_tsv(bundled_path().read_text(encoding="utf-8").splitlines(), "bundled")
    assert not problems
    keys = [(e.vi.lower(), e.ko) for e in entries]
    assert len(keys) == len(set(keys))  # no pair twice
    g = Glossary(entries)
    expanded = set(g.expand_query_terms("태양광 패널 지붕 설치 사업", "ko"))
    assert {"mái nhà", "lắp đặt", "dự án"} <= expanded
    assert expanded & {"điện mặt trời", "năng lượng mặt trời", "tấm pin mặt trời"}
    for query, lang, wanted in (("xử lý nước thải", "vi", "폐수 처리"), ("양식장 수질", "ko", "chất lượng nước"),
                                ("cần cẩu cảng", "vi", "크레인"), ("반도체 설계", "ko", "thiết kế vi mạch"),
                                ("nhà kính", "vi", "온실"), ("smart port", "en", "cảng thông minh"),
                                ("hydrogen", "en", "수소"), ("hydro xanh", "vi", "그린수소"),
                                ("500 triệu đô la", "vi", "달러"), ("5억 달러", "ko", "đô la"),
                                ("nguồn nhân lực", "vi", "인력")):
        assert wanted in g.expand_query_terms(query, lang), query
    for query, lang in (("고양이 사진 보기", "ko"), ("오늘 날씨 어때", "ko"), ("강아지 훈련 방법", "ko"),
                        ("mua vé máy bay giá rẻ", "vi"), ("cách nấu phở bò ngon", "vi"),
                        ("recipe for chocolate cake", "en"), ("lyrics of a love song", "en")):
        assert g.expand_query_terms(query, lang) == [], query


def test_tsv_problems_are_reported() -> None:
    entries, problems = parse_tsv(["vi\tko\tnote", "a\tㄱ\tn", "only-vi", "", "# comment\tx"], "g.tsv")
    assert [(e.vi, e.ko, e.note) for e in entries] == [("a", "ㄱ", "n")]
    assert problems == ["g.tsv:3: needs both a vi and a ko term"]
    assert parse_tsv(["x\ty"], "bad.tsv")[1][0].startswith("bad.tsv:1:")


def test_tbx_roundtrip(tmp_path: Path) -> None:
    out = tmp_path / "terms.tbx"
    assert write_tbx(ENTRIES, out) == 4
    root = etree.parse(str(out)).getroot()
    assert etree.QName(root).localname == "tbx" and root.get("type") == "TBX-Basic"
    report = read_tbx(out)
    assert not report.errors and report.skipped == 0
    assert [(e.vi, e.ko, e.note, e.domain) for e in report.entries] == \
        [(e.vi, e.ko, e.note, e.domain) for e in ENTRIES]


def test_tbx_v2_with_synonyms_and_bad_files(tmp_path: Path) -> None:
    src = tmp_path / "v2.tbx"
    src.write_text("""<?xml version="1.0" encoding="UTF-8"?>
<martif type="TBX" xml:lang="en"><text><body>
 <termEntry id="t1"><descrip type="subjectField">agriculture</descrip>
  <langSet xml:lang="vi-VN"><tig><term>trang trại thông minh</term></tig></langSet>
  <langSet xml:lang="ko-KR"><ntig><termGrp><term>스마트팜</term></termGrp></ntig><tig><term>스마트 농장</term></tig></langSet>
 </termEntry>
 <termEntry id="t2"><langSet xml:lang="en"><tig><term>farm</term></tig></langSet></termEntry>
</body></text></martif>""", encoding="utf-8")
    report = read_tbx(src)
    assert [(e.vi, e.ko, e.domain) for e in report.entries] == [
        ("trang trại thông minh", "스마트팜", "agriculture"), ("trang trại thông minh", "스마트 농장", "agriculture")]
    assert report.skipped == 1
    broken = tmp_path / "broken.tbx"
    broken.write_text("<tbx><text><body><conceptEntry>", encoding="utf-8")
    assert read_tbx(broken).errors
    assert read_tbx(tmp_path / "missing.tbx").errors


def test_cli_glossary(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        r = runner.invoke(main, ["--data", data, "glossary", *args])
        return r.exit_code, r.output

    code, out = run("add", "trang trại thông minh", "스마트팜", "--note", "smart farm", "--domain", "agriculture")
    assert code == 0 and "스마트팜" in out
    entry_id = out.split(":")[0]
    code, out = run("list", "trang trại")
    assert code == 0 and "trang trại thông minh  =  스마트팜" in out and "smart farm" in out
    code, out = run("export-tbx", str(tmp_path / "g.tbx"))
    assert code == 0 and "term pairs" in out
    assert run("remove", entry_id)[0] == 0
    assert "스마트팜   (" not in run("list", "trang trại")[1]
    code, out = run("import-tbx", str(tmp_path / "g.tbx"))
    assert code == 0 and "imported" in out
    assert "trang trại thông minh" in run("list", "--json", "trang trại")[1]
    assert run("remove", "999999")[0] == 1
    assert run("add", "", "x")[0] == 2
    assert run("import-tbx", str(tmp_path / "nope.tbx"))[0] == 1
