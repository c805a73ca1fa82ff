import json
from pathlib import Path

from viko.corpus.catalogue import Catalogue
from viko.corpus.document import guess_type, make_document
from viko.corpus.importer import import_jsonl

MIGRATIONS = Path(__file__).resolve().parent.parent / "corpus" / "migrations"


def test_import_reports_bad_lines_and_keeps_the_rest(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "a", "text": "Hợp tác năng lượng tái tạo", "title": "Tin"}, ensure_ascii=False),
        "{not json",
        json.dumps({"text": "no id"}),
        json.dumps({"id": "b", "text": ""}),
        json.dumps({"id": "c", "text": "재생에너지 협약", "date": "yesterday"}, ensure_ascii=False),
        json.dumps({"id": "d", "text": "재생에너지 협약", "lang": "fr"}, ensure_ascii=False),
        "",
        json.dumps({"id": "e", "text": "전라남도 양해각서", "date": "2023-07-30T08:00:00+07:00"}, ensure_ascii=False),
    ]
    path = tmp_path / "docs.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b'{"id": "f", "text": "\xff\xfe"}\n')
    with Catalogue.open(tmp_path / "cat.sqlite") as cat:
        report = import_jsonl(cat, path)
        assert (report.added, len(report.errors)) == (2, 6)
        by_line = dict(report.errors)
        assert "invalid JSON" in by_line[2]
        assert "'id' is required" in by_line[3]
        assert "'text' is required" in by_line[4]
        assert "ISO 8601" in by_line[5]
        assert "'lang'" in by_line[6]
        assert "UTF-8" in by_line[9]
        a, e = cat.get("a"), cat.get("e")
        assert a is not None and a.lang == "vi"
        assert e is not None and (e.lang, e.date, e.type) == ("ko", "2023-07-30", "agreement")


def test_reimport_updates_and_reports_unchanged(tmp_path: Path, small_jsonl: Path) -> None:
    with Catalogue.open(tmp_path / "cat.sqlite") as cat:
        assert import_jsonl(cat, small_jsonl).added == 4
        again = import_jsonl(cat, small_jsonl)
        assert (again.added, again.updated, again.unchanged) == (0, 0, 4)
        changed = tmp_path / "changed.jsonl"
        changed.write_text(json.dumps({"id": "aqua-vi", "text": "Nội dung mới về thủy sản"}, ensure_ascii=False))
        assert import_jsonl(cat, changed).updated == 1
        doc = cat.get("aqua-vi")
        assert doc is not None and doc.text == "Nội dung mới về thủy sản"
        assert cat.counts()["lang"] == {"vi": 2, "ko": 2}


def test_missing_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    with Catalogue.open(tmp_path / "cat.sqlite") as cat:
        report = import_jsonl(cat, tmp_path / "nope.jsonl")
    assert report.ok == 0 and "cannot read" in report.errors[0][1]


def test_type_rules() -> None:
    assert guess_type("Biên bản ghi nhớ hợp tác", "") == "agreement"
    assert guess_type("전라남도-하이퐁 업무협약서", "") == "agreement"
    assert guess_type("Báo cáo kết quả dự án điện gió", "") == "report"
    assert guess_type("스마트팜 기술 수요 조사", "") == "demand"
    assert guess_type("Hải Phòng đón đoàn doanh nghiệp", "") == "news"
    # The title decides; a body that mentions an agreement does not make one.
    exports = "Trong chín tháng, xuất khẩu cà phê tăng 35%. Hiệp định thương mại tự do giúp giảm thuế."
    assert guess_type("Xuất khẩu cà phê sang Hàn Quốc tăng mạnh", exports) == "news"
    # Without a title, the first line is the document's own heading.
    assert guess_type("", "Biên bản ghi nhớ hợp tác\nHai bên thống nhất...") == "agreement"
    assert guess_type("", "Hai bên gặp nhau\nSau đó ký biên bản ghi nhớ") == "news"
    assert make_document({"id": "x", "text": "보고서", "type": "Report"}).type == "report"


def test_catalogue_is_wal_and_versioned(tmp_path: Path) -> None:
    with Catalogue.open(tmp_path / "cat.sqlite") as cat:
        assert cat.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        # every bundled migration applied, each recorded once
        bundled = sorted(int(p.name[:4]) for p in MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.sql"))
        recorded = [r[0] for r in cat.conn.execute("SELECT version FROM schema_version ORDER BY version")]
        assert len(bundled) >= 2 and recorded == bundled and cat.schema_version() == bundled[-1]
    with Catalogue.open(tmp_path / "cat.sqlite") as cat:  # reopening applies nothing twice
        assert [r[0] for r in cat.conn.execute("SELECT version FROM schema_version ORDER BY version")] == bundled
