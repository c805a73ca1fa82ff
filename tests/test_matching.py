"""Offer/demand records, sector inference, spreadsheet import and the matcher's logic
(fake encoder: instant, deterministic)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from viko.corpus.catalogue import Catalogue
from viko.corpus.document import make_document
from viko.corpus.glossary import Entry, Glossary
from viko.indexer.analyze import default_analyzer
from viko.indexer.build import update_index
from viko.indexer.store import Index
from viko.matching.match import Matcher, MatchError
from viko.matching.records import (
    RecordError,
    infer_sectors,
    labelled_fields,
    record_from_document,
    records_from_documents,
)
from viko.matching.spreadsheet import SpreadsheetError, import_records, read_rows

from helpers import FakeEncoder

DEMAND_VI = {
    "id": "d-shrimp", "type": "demand", "lang": "vi",
    "title": "Nhu cầu công nghệ: giám sát chất lượng nước ao nuôi tôm",
    "text": "Đơn vị có nhu cầu: Công ty Thủy sản Vĩnh Châu (tỉnh Sóc Trăng)\nLĩnh vực: Nuôi trồng thủy sản\n"
            "Nội dung nhu cầu: cảm biến oxy hòa tan DO, pH và cảnh báo IoT cho ao nuôi tôm.\n"
            "Liên hệ: Ông Việt, ĐT: 0299 3555 482",
}
OFFER_WATER = {
    "id": "o-water", "type": "offer", "lang": "ko", "title": "[기술 공급] 양식장 수질 모니터링",
    "text": "공급 기업: (주)아쿠아센싱 (전라남도 완도군)\n분야: 수산양식\n"
            "새우 양식장의 용존산소 DO, pH 센서와 IoT 경보. 새우 양식 수질 관리. 속짱 양식장 실증.\n연락처: 전화 +82 61 555 5537",
}
OFFER_FEED = {
    "id": "o-feed", "type": "offer", "lang": "ko", "title": "[기술 공급] 새우 배합사료",
    "text": "공급 기업: (주)바다사료 (전라남도 여수시)\n흰다리새우 배합사료, 사료 계수 개선. 새우 양식.",
}
OFFER_SOLAR = {
    "id": "o-solar", "type": "offer", "lang": "vi", "title": "Chào bán công nghệ: điện mặt trời mái nhà",
    "text": "Đơn vị chào bán: Công ty Năng lượng Nam Bộ, thành phố Cần Thơ\nThi công điện mặt trời mái nhà xưởng.",
}
NEWS = {"id": "n-1", "type": "news", "lang": "vi", "title": "Tin tức", "text": "Một bản tin về nuôi tôm."}


def doc(record: dict[str, str]):  # type: ignore[no-untyped-def]
    return make_document(dict(record))


def test_labelled_lines_in_both_languages() -> None:
    vi = labelled_fields(DEMAND_VI["text"])
    assert vi["organisation"] == "Công ty Thủy sản Vĩnh Châu (tỉnh Sóc Trăng)"
    assert vi["sector"] == "Nuôi trồng thủy sản"
    assert vi["contact"].startswith("Ông Việt")
    ko = labelled_fields(OFFER_WATER["text"])
    assert ko["organisation"] == "(주)아쿠아센싱 (전라남도 완도군)" and ko["sector"] == "수산양식"
    assert labelled_fields("기관: 전남대학교\n분야: 반도체") == {"organisation": "전남대학교", "sector": "반도체"}


def test_sector_inference_vi_ko_en() -> None:
    assert infer_sectors("hệ thống nuôi tôm tuần hoàn, ao nuôi")[0] == "aquaculture"
    assert infer_sectors("컨테이너 터미널과 항만 물류")[0] == "port_logistics"
    assert infer_sectors("semiconductor training")[0] == "semiconductors_training"
    assert infer_sectors("một văn bản không nói gì") == ()


def test_record_fields_metadata_first_then_labels_then_inferred() -> None:
    rec = record_from_document(doc(DEMAND_VI))
    assert (rec.kind, rec.sector, rec.region) == ("demand", "aquaculture", "tỉnh Sóc Trăng")
    with_meta = record_from_document(doc({**OFFER_SOLAR, "organisation": "Nam Bo Energy", "sector": "energy"}))
    assert with_meta.organisation == "Nam Bo Energy" and with_meta.sectors == ("energy",)
    inferred = record_from_document(doc(OFFER_FEED))
    assert inferred.sector == "aquaculture" and inferred.region == "전라남도 여수시"
    with pytest.raises(RecordError, match="news"):
        record_from_document(doc(NEWS))
    assert [r.id for r in records_from_documents([doc(NEWS), doc(OFFER_FEED)])] == ["o-feed"]


def test_csv_import_keeps_unknown_columns_and_skips_a_bad_row(tmp_path: Path) -> None:
    sheet = tmp_path / "offers.csv"
    sheet.write_text(
        "title,text,organisation,sector,region,contact,lang,booth\n"
        "Cảm biến nước,Cảm biến DO cho ao tôm,Sơn Trà IoT,aquaculture,Đà Nẵng,0236 3555 902,vi,B12\n"
        ",no title here,X,,,,en,\n"
        "수상 태양광,수상 태양광 부유체,(주)해솔에너지,energy,전라남도,+82 61,ko,A3\n", encoding="utf-8")
    with Catalogue.open(tmp_path / "c.sqlite") as cat:
        report = import_records(cat, sheet, "offer")
        docs = list(cat.iter_documents())
    assert (report.added, len(report.errors)) == (2, 1)
    assert report.errors[0][0] == 3 and "title" in report.errors[0][1]
    assert {d.type for d in docs} == {"offer"}
    water = next(d for d in docs if d.lang == "vi")
    assert water.extra["booth"] == "B12" and water.extra["organisation"] == "Sơn Trà IoT"
    assert record_from_document(water).region == "Đà Nẵng"


def test_xlsx_import_and_bad_files(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Title", "Text", "Organisation", "Lang"])
    sheet.append(["Nhu cầu ESS", "Hệ thống lưu trữ năng lượng cho nhà máy", "Cơ khí Đông Hải", "vi"])
    sheet.append([None, None, None, None])
    book.save(tmp_path / "demands.xlsx")
    with Catalogue.open(tmp_path / "c.sqlite") as cat:
        report = import_records(cat, tmp_path / "demands.xlsx", "demand")
        assert report.added == 1 and not report.errors
        (tmp_path / "x.csv").write_text("name,body\na,b\n", encoding="utf-8")
        bad = import_records(cat, tmp_path / "x.csv", "demand")
        assert bad.ok == 0 and "title" in bad.errors[0][1]
    with pytest.raises(SpreadsheetError):
        list(read_rows(tmp_path / "notes.txt"))


def test_excel_csv_variants_semicolons_cp949_and_two_description_columns(tmp_path: Path) -> None:
    """Excel writes semicolons where the comma is the decimal mark, and Korean Excel's "CSV" is
    CP949; a description column however qualified is text, and two of them are joined."""
    semi = tmp_path / "demands.csv"
    semi.write_text("STT;Tên doanh nghiệp;Nhu cầu công nghệ;Mô tả chi tiết;Lĩnh vực\n"
                    "1;HTX Thới Lai;Máy sấy nông sản;Sấy xoài, chuối bằng năng lượng mặt trời, 2 tấn/mẻ;Nông nghiệp\n"
                    "2;Công ty B;;;Năng lượng\n", encoding="utf-8-sig")
    rows = list(read_rows(semi))
    assert [n for n, _ in rows] == [2, 3]
    assert rows[0][1]["title"] == "Máy sấy nông sản" and rows[0][1]["organisation"] == "HTX Thới Lai"
    assert rows[0][1]["text"] == "Sấy xoài, chuối bằng năng lượng mặt trời, 2 tấn/mẻ"
    korean = tmp_path / "offers.csv"
    korean.write_bytes("기술명,기업명,기술 개요,내용 요약\n스마트 관개,(주)물길,\"점적 관개 자동 제어, 물 30% 절감\","
                       "태양광 펌프 연계\n".encode("cp949"))
    with Catalogue.open(tmp_path / "c.sqlite") as cat:
        report = import_records(cat, korean, "offer")
        (doc,) = list(cat.iter_documents())
    assert report.added == 1 and not report.errors
    assert doc.title == "스마트 관개" and doc.text == "점적 관개 자동 제어, 물 30% 절감\n\n태양광 펌프 연계"
    (tmp_path / "latin1.csv").write_bytes(b"Nhu c\xe2u c\xf4ng ngh\xea\nNu\xf4i t\xf4m\n")  # Windows-1252
    with pytest.raises(SpreadsheetError, match="is not UTF-8"):
        list(read_rows(tmp_path / "latin1.csv"))


def test_jsonl_import_sets_the_type(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"id": "x1", "text": "Cần hệ thống tưới", "title": "Tưới"}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    with Catalogue.open(tmp_path / "c.sqlite") as cat:
        assert import_records(cat, path, "demand").added == 1
        assert cat.get("x1").type == "demand"  # type: ignore[union-attr]


@pytest.fixture
def matcher(tmp_path: Path) -> Matcher:
    docs = [doc(r) for r in (DEMAND_VI, OFFER_WATER, OFFER_FEED, OFFER_SOLAR, NEWS)]
    update_index(docs, tmp_path / "index", FakeEncoder(), default_analyzer())
    glossary = Glossary([Entry("nuôi tôm", "새우 양식", "aquaculture: shrimp farming"),
                         Entry("Sóc Trăng", "속짱", "place: province")])
    return Matcher(Index.load(tmp_path / "index"), records_from_documents(docs), glossary)


def test_match_explains_with_terms_sector_and_passages(matcher: Matcher) -> None:
    result = matcher.match("d-shrimp", limit=5)
    out = result.to_json()
    assert out["id"] == "d-shrimp" and out["kind"] == "demand"
    assert [m["id"] for m in out["matches"]] == ["o-water", "o-feed", "o-solar"]  # type: ignore[index]
    best = result.matches[0]
    assert set(best.why.shared) >= {"DO", "IoT", "pH"}
    assert ("nuôi tôm", "새우 양식") in best.why.glossary
    assert best.why.sectors == ("aquaculture",) and best.why.region == "전라남도 완도군"
    assert best.why.passages and best.why.passages[0].own and best.why.passages[0].other
    assert result.matches[-1].why.sectors == ()


def test_reverse_direction_and_errors(matcher: Matcher) -> None:
    assert [m.record.id for m in matcher.match("o-feed").matches] == ["d-shrimp"]
    with pytest.raises(MatchError):
        matcher.match("n-1")
    with pytest.raises(RecordError):
        matcher.pair("o-feed", "o-water")
    scores = matcher.score_matrix(["d-shrimp"], ["o-water", "o-solar"])
    assert scores.shape == (1, 2) and scores[0, 0] > scores[0, 1]


def test_places_are_not_term_evidence(matcher: Matcher) -> None:
    glossary_terms = {ko for m in matcher.match("d-shrimp").matches for _vi, ko in m.why.glossary}
    assert "속짱" not in glossary_terms


def test_import_records_command_reports_bad_rows(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from viko.cli import main

    sheet = tmp_path / "demands.csv"
    sheet.write_text("title,text,lang\nNhu cầu drone,Cần drone phun thuốc cho lúa,vi\n,missing title,vi\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--data", str(tmp_path / "d"), "import-records", str(sheet), "--type", "demand"])
    assert result.exit_code == 0 and "1 added" in result.stdout and f"{sheet}:3" in result.stderr
    bad = CliRunner().invoke(main, ["--data", str(tmp_path / "d"), "import-records", str(tmp_path / "x.pdf"), "--type", "offer"])
    assert bad.exit_code == 1


def test_registration_sheet_with_vietnamese_columns_title_row_and_merged_cells(tmp_path: Path) -> None:
    """The sheet organisers keep: a merged title row above the header, Vietnamese column names,
    a sector written once in a merged cell for two rows, no text column."""
    from openpyxl import Workbook

    from viko.matching.spreadsheet import column_mapping

    book = Workbook()
    sheet = book.active
    sheet.append(["DANH SÁCH NHU CẦU CÔNG NGHỆ – PHIÊN KẾT NỐI 2025", None, None, None])
    sheet.merge_cells("A1:D1")
    sheet.append(["STT", "Tên doanh nghiệp", "Nhu cầu công nghệ", "Lĩnh vực"])
    sheet.append([1, "Công ty Thủy sản Vĩnh Châu", "Cảm biến oxy hòa tan cho ao nuôi tôm", "Thủy sản"])
    sheet.append([2, "HTX Quốc Tuấn", "Điều khiển nhà kính tự động", None])
    sheet.merge_cells("D3:D4")
    book.save(tmp_path / "dang-ky.xlsx")
    row, mapping = column_mapping(tmp_path / "dang-ky.xlsx")
    assert row == 2 and ("Tên doanh nghiệp", "organisation") in mapping and ("Nhu cầu công nghệ", "title") in mapping
    with Catalogue.open(tmp_path / "c.sqlite") as cat:
        report = import_records(cat, tmp_path / "dang-ky.xlsx", "demand")
        records = {r.organisation: r for r in records_from_documents(cat.iter_documents())}
    assert report.added == 2 and not report.errors
    assert records["HTX Quốc Tuấn"].title == "Điều khiển nhà kính tự động"
    assert records["HTX Quốc Tuấn"].sectors == ("aquaculture",)  # the merged cell counts for both rows
    ko = tmp_path / "ko.csv"
    ko.write_text("기업명,기술명,분야,언어\n(주)아쿠아센싱,양식장 수질 모니터링,수산양식,ko\n", encoding="utf-8")
    assert [name for _, name in column_mapping(ko)[1]] == ["organisation", "title", "sector", "lang"]


def test_labelled_lines_keep_to_their_field() -> None:
    """The region is an address, not a remark after it; the organisation line loses the address."""
    text = ("Đơn vị chào bán: Công ty TNHH Công nghệ sinh học Mekong Xanh (thành phố Cần Thơ), phát triển cùng "
            "nhóm nghiên cứu của Trường Đại học Cần Thơ\nMô tả: chế phẩm vi sinh Bacillus cho ao nuôi tôm.")
    rec = record_from_document(doc({"id": "o-bac", "type": "offer", "lang": "vi", "title": "Vi sinh", "text": text}))
    assert (rec.organisation, rec.region) == ("Công ty TNHH Công nghệ sinh học Mekong Xanh", "thành phố Cần Thơ")
    rec = record_from_document(doc({"id": "d-x", "type": "demand", "lang": "vi", "title": "ESS", "text":
                                    "Đơn vị có nhu cầu: Công ty cổ phần Cơ khí Đông Hải, khu công nghiệp Nam Cầu Kiền, "
                                    "thành phố Hải Phòng\n"}))
    assert (rec.organisation, rec.region) == ("Công ty cổ phần Cơ khí Đông Hải", "thành phố Hải Phòng")


def test_parties_join_translations_of_one_organisation_only() -> None:
    from viko.matching.parties import Parties

    vi = record_from_document(doc({**DEMAND_VI}))
    ko = record_from_document(doc({"id": "d-shrimp-ko", "type": "demand", "lang": "ko", "title": "[기술 수요] 새우 양식장 수질",
                                   "text": "수요 기업: 빈쩌우수산\n연락처: 전화 +84 299 3555 482"}))
    other = record_from_document(doc({"id": "d-other", "type": "demand", "lang": "ko", "title": "수질",
                                      "text": "수요 기업: 다른 회사\n연락처: 전화 +82 61 555 0000"}))
    parties = Parties.build([vi, ko, other], [("d-shrimp", "d-shrimp-ko", False), ("d-shrimp", "d-other", False)])
    assert [m.id for m in parties.of("d-shrimp-ko").members] == ["d-shrimp", "d-shrimp-ko"]  # type: ignore[union-attr]
    assert parties.of("d-other").id == "d-other"  # type: ignore[union-attr]
    confirmed = Parties.build([vi, other], [("d-shrimp", "d-other", True)])
    assert len(confirmed) == 1
    grouped = Parties.build([vi.__class__(**{**vi.__dict__, "group": "g1"}), other.__class__(**{**other.__dict__, "group": "G1"})])
    assert len(grouped) == 1 and grouped.of("d-other").id == "d-shrimp"  # type: ignore[union-attr]


def test_agenda_cells_from_registration_forms_cannot_be_formulas(monkeypatch: pytest.MonkeyPatch) -> None:
    """Organisation names and titles come from forms strangers fill in: agenda.csv and
    agenda.xlsx write a would-be formula as text."""
    import csv
    import io

    from openpyxl import load_workbook

    from viko.matching import agenda, agenda_xlsx

    row = {key: "" for key in agenda.AGENDA_COLUMNS}
    row.update(slot=1, time="09:00–09:20", table=1, demand_organisation='=HYPERLINK("http://x","y")',
               offer_title_vi="+84 1234", score=0.9)
    monkeypatch.setattr(agenda, "agenda_rows", lambda day: [row])
    monkeypatch.setattr(agenda_xlsx, "agenda_rows", lambda day: [row])
    monkeypatch.setattr(agenda_xlsx, "party_lines", lambda day: [])
    written = next(csv.DictReader(io.StringIO(agenda.agenda_csv(None).lstrip("\ufeff"))))  # type: ignore[arg-type]
    assert written["demand_organisation"] == "'=HYPERLINK(\"http://x\",\"y\")" and written["offer_title_vi"] == "'+84 1234"
    sheet = load_workbook(io.BytesIO(agenda_xlsx.agenda_xlsx(None)))["Agenda"]  # type: ignore[arg-type]
    values = [cell.value for cell in sheet[2]]
    assert "'=HYPERLINK(\"http://x\",\"y\")" in values and 1 in values and not any(
        isinstance(v, str) and v.startswith("=") for v in values)
