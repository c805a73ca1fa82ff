"""`viko add`: folders of office files, overrides, and a bad file never stops the batch."""

import json
from pathlib import Path

from click.testing import CliRunner

from viko.cli import main
from viko.corpus.catalogue import Catalogue
from viko.corpus.dedup import indexable_documents, sources_of
from viko.corpus.ingest import Overrides, ingest_paths

from fixtures import make_fixtures as mk
from fixtures.server import FixtureSite


def write_folder(root: Path) -> Path:
    folder = root / "docs"
    (folder / "sub").mkdir(parents=True)
    for name, blob in mk.fixture_files().items():
        (folder / ("sub" if name.endswith(".hwp") else "") / name).write_bytes(blob)
    (folder / "tin.html").write_text(FixtureSite().page("tin-tuc/nong-nghiep.html"), encoding="utf-8")
    (folder / "ghi-chu.txt").write_text("Ghi chú họp\nHai bên thống nhất lịch làm việc tháng sau.", encoding="utf-8")
    (folder / "anh.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)  # not a supported suffix: ignored
    (folder / ".hidden.txt").write_text("bí mật", encoding="utf-8")
    (folder / "hong.docx").write_bytes(b"PK\x03\x04 this is not really a zip")
    return folder


def test_folder_is_ingested_recursively_with_reasons(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    cat = Catalogue.open(tmp_path / "c.sqlite")
    report = ingest_paths(cat, [folder, tmp_path / "missing.pdf"])
    by_name = {Path(o.path).name: o for o in report.outcomes}
    assert "anh.jpg" not in by_name and ".hidden.txt" not in by_name
    assert by_name["ban-scan.pdf"].outcome == "skipped" and "no text layer" in by_name["ban-scan.pdf"].reason
    assert by_name["ruling-distribution.hwp"].outcome == "skipped"
    assert by_name["hong.docx"].outcome == "skipped" and "zip" in by_name["hong.docx"].reason
    assert by_name["missing.pdf"].outcome == "failed"
    stored = {n for n, o in by_name.items() if o.outcome == "added"}
    assert {"bao-cao-2024.pdf", "bien-ban-ghi-nho.docx", "jeonnam-press.hwpx", "ruling.hwp", "tin.html",
            "ghi-chu.txt"} <= stored
    doc = cat.get(by_name["bien-ban-ghi-nho.docx"].doc_id)
    assert doc is not None and doc.type == "agreement" and doc.lang == "vi"
    # No file:// URL naming the machine's folders: the path inside the folder that was added.
    assert doc.url == "" and doc.extra["path"] == "bien-ban-ghi-nho.docx"
    assert cat.get(by_name["ruling.hwp"].doc_id).extra["path"] == "sub/ruling.hwp"  # type: ignore[union-attr]
    # the two HWPX files and the two HWP files carry the same text: exact duplicates
    first, second = by_name["jeonnam-press-nomanifest.hwpx"], by_name["jeonnam-press.hwpx"]  # folder order
    assert second.reason == f"exact duplicate of {first.doc_id}"
    assert [s.kind for s in sources_of(cat, second.doc_id)] == ["canonical", "exact"]
    indexed = {d.id for d in indexable_documents(cat)}
    assert first.doc_id in indexed and second.doc_id not in indexed
    again = ingest_paths(cat, [folder])
    assert again.counts()["unchanged"] == report.stored and again.stored == report.stored


def test_type_and_language_overrides(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    cat = Catalogue.open(tmp_path / "c.sqlite")
    report = ingest_paths(cat, [folder / "ghi-chu.txt"], Overrides(doc_type="report", source="Sở KH&CN"))
    doc = cat.get(report.outcomes[0].doc_id)
    assert doc is not None and (doc.type, doc.source, doc.lang) == ("report", "Sở KH&CN", "vi")
    # The language is detected unless given: this text reads as Korean; then the user says Vietnamese.
    text = "Bản dịch\n전라남도와 하이퐁시는 재생에너지 협약을 체결했다."
    (folder / "ban-dich-1.txt").write_text(text, encoding="utf-8")
    (folder / "ban-dich-2.txt").write_text(text + " (2)", encoding="utf-8")
    detected = cat.get(ingest_paths(cat, [folder / "ban-dich-1.txt"]).outcomes[0].doc_id)
    told = cat.get(ingest_paths(cat, [folder / "ban-dich-2.txt"], Overrides(lang="vi")).outcomes[0].doc_id)
    assert detected is not None and detected.lang == "ko"
    assert told is not None and told.lang == "vi"


def test_cli_add_and_get(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    data = str(tmp_path / "data")
    runner = CliRunner()
    out = runner.invoke(main, ["--data", data, "add", "--type", "agreement", str(folder / "sub")])
    assert out.exit_code == 0 and "2 added" in out.output and "distribution" in out.output
    out = runner.invoke(main, ["--data", data, "add", str(tmp_path / "nothing-here.pdf")])
    assert out.exit_code == 1 and "no such file" in out.output
    path = str(folder / "sub" / "ruling.hwp")  # a local file is found by its path
    got = json.loads(runner.invoke(main, ["--data", data, "get", "--json", path]).output)
    assert got["type"] == "agreement" and got["lang"] == "ko" and got["extra"]["format"] == "hwp"
