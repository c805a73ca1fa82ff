"""The records import page (`/matching/import`) and its API (`POST /api/matching/import`): a
registration sheet with Vietnamese column names, a title row and merged cells is previewed
(the column mapping, the records, the rejected rows) without storing anything, then imported;
a wrong token stores nothing; a bad file is a 400 that says why. The fake encoder keeps it fast."""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook

from viko.corpus.catalogue import Catalogue
from viko.corpus.document import make_document
from viko.settings import Settings
from viko.web.app import create_app

from helpers import FakeEncoder

TOKEN = "an-import-token-long-enough-42"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["STT", "Tên doanh nghiệp", "Nhu cầu công nghệ", "Lĩnh vực", "Địa phương", "Người liên hệ", "Ghi chú"]
MAPPING = [("STT", "stt", "extra"), ("Tên doanh nghiệp", "organisation", "field"),
           ("Nhu cầu công nghệ", "title", "field"), ("Lĩnh vực", "sector", "field"),
           ("Địa phương", "region", "field"), ("Người liên hệ", "contact", "field"), ("Ghi chú", "ghi chú", "extra")]


def registration_sheet() -> bytes:
    """A sheet as organisers keep it: a merged title row above the header, the sector written
    once in a cell merged over two rows, and a row without its demand (rejected: row 6)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["DANH SÁCH NHU CẦU CÔNG NGHỆ – HẢI PHÒNG 2025"])
    sheet.merge_cells("A1:G1")
    sheet.append(HEADER)
    sheet.append([1, "Công ty TNHH Đồ Sơn Xanh", "Hệ thống nuôi tôm tuần hoàn RAS", "Thủy sản", "Hải Phòng",
                  "0912 345 678", "cần gấp"])
    sheet.append([2, "HTX Thủy sản Cát Hải", "Chế phẩm sinh học xử lý nước ao nuôi", None, "Hải Phòng", "", ""])
    sheet.merge_cells("D3:D4")
    sheet.append([3, "Cảng Nam Đình Vũ", "Phần mềm quản lý bãi container", "Cảng biển", "Hải Phòng", "", ""])
    sheet.append([4, "Công ty CP Cơ khí Kiến An", None, "Cơ khí", "Hải Phòng", "", ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from viko.runtime import run_index

    folder = tmp_path_factory.mktemp("import-web")
    offer = {"id": "solar-offer-ko", "lang": "ko", "type": "offer", "title": "지붕 태양광",
             "text": "지붕 태양광 발전 설비를 공급합니다.\n분야: 에너지"}
    with Catalogue.open(folder / "catalogue.sqlite") as cat:
        cat.upsert_many([make_document(offer)])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())
        run_index(Settings(data_dir=folder))
    return folder


@pytest.fixture
def data(indexed: Path, tmp_path: Path) -> Path:
    """A private copy per test: imports write to the catalogue."""
    folder = tmp_path / "data"
    shutil.copytree(indexed, folder)
    return folder


@pytest.fixture
def make_client(data: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())

    def make(**overrides: object) -> TestClient:
        values: dict[str, object] = {"data_dir": data, "admin_token": TOKEN, "web_rate_per_minute": 0, **overrides}
        return TestClient(create_app(Settings(**values)), raise_server_exceptions=False)  # type: ignore[arg-type]

    return make


@pytest.fixture
def client(make_client) -> TestClient:  # type: ignore[no-untyped-def]
    return make_client()


def count(data: Path) -> int:
    with Catalogue.open(data / "catalogue.sqlite", readonly=True) as cat:
        return cat.count()


def staged(data: Path) -> list[Path]:
    root = data / "matching" / "uploads"
    return sorted(root.iterdir()) if root.is_dir() else []


def sheet_file(name: str = "dang-ky.xlsx", body: bytes | None = None, media: str = XLSX) -> dict[str, object]:
    return {"file": (name, registration_sheet() if body is None else body, media)}


def api(client: TestClient, query: str, token: str = TOKEN, **files: object):  # type: ignore[no-untyped-def]
    return client.post(f"/api/matching/import?{query}", headers={"Authorization": f"Bearer {token}"},
                       files=files or sheet_file())  # type: ignore[arg-type]


def test_page_previews_the_mapping_storing_nothing_then_imports(client: TestClient, data: Path) -> None:
    before = count(data)
    form = {"kind": "demand", "token": TOKEN, "action": "preview"}
    page = client.post("/matching/import", data=form, files=sheet_file())  # type: ignore[arg-type]
    assert page.status_code == 200, page.text
    html = page.text
    for column in HEADER:
        assert column in html
    assert "Column names on row 2" in html and "kept as extra" in html and "<code>organisation</code>" in html
    assert "Hệ thống nuôi tôm tuần hoàn RAS" in html and "Phần mềm quản lý bãi container" in html
    assert "3 records would be imported (3 new); rows rejected: 1" in html
    assert re.search(r"<td>6</td><td>the title is empty</td>", html)
    assert count(data) == before  # the preview stored nothing
    key = re.search(r'name="staged" value="([0-9a-f]{32})"', html)
    assert key and [p.name for p in staged(data)] == [key.group(1)]

    done = client.post("/matching/import", data={"kind": "demand", "token": TOKEN, "action": "import",
                                                 "staged": key.group(1)})
    assert done.status_code == 200, done.text
    assert "Imported: 3 added, 0 updated, 0 unchanged, 1 skipped." in done.text
    assert count(data) == before + 3
    assert staged(data) == []  # the kept upload is gone once imported
    again = client.post("/matching/import", data={"kind": "demand", "token": TOKEN, "action": "import",
                                                  "staged": key.group(1)})
    assert again.status_code == 400 and "no longer kept" in again.text


def test_api_dry_run_answers_the_mapping_and_rows_then_stores(client: TestClient, data: Path) -> None:
    before = count(data)
    preview = api(client, "kind=demand&dry_run=1")
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert [(c["column"], c["field"], c["use"]) for c in body["columns"]] == MAPPING
    assert body["header_row"] == 2 and body["text_from_columns"] and body["dry_run"] and not body["stored"]
    assert body["records"] == 3 and body["new"] == 3 and body["rejected"] == [{"row": 6, "error": "the title is empty"}]
    rows = {r["row"]: r for r in body["rows"]}
    assert sorted(rows) == [3, 4, 5]
    assert rows[3]["organisation"] == "Công ty TNHH Đồ Sơn Xanh" and rows[3]["region"] == "Hải Phòng"
    assert rows[3]["sectors"] == rows[4]["sectors"] == ["aquaculture"]  # the merged sector cell covers row 4
    assert count(data) == before and staged(data) == []

    stored = api(client, "kind=demand")
    assert stored.status_code == 200, stored.text
    result = stored.json()
    assert (result["added"], result["updated"], result["unchanged"], result["stored"]) == (3, 0, 0, True)
    assert result["summary"] == "3 added, 0 updated, 0 unchanged, 1 skipped"
    assert count(data) == before + 3
    with Catalogue.open(data / "catalogue.sqlite", readonly=True) as cat:
        docs = {d.title: d for d in cat.iter_documents() if d.source == "dang-ky.xlsx"}
    assert {d.type for d in docs.values()} == {"demand"}
    assert docs["Chế phẩm sinh học xử lý nước ao nuôi"].extra["sector"] == "Thủy sản"
    assert "Tên doanh nghiệp: HTX Thủy sản Cát Hải" in docs["Chế phẩm sinh học xử lý nước ao nuôi"].text
    again = api(client, "kind=demand&dry_run=1").json()
    assert again["new"] == 0 and all(r["exists"] for r in again["rows"])
    assert api(client, "kind=demand").json()["unchanged"] == 3


def test_a_wrong_token_stores_nothing(client: TestClient, make_client, data: Path) -> None:  # type: ignore[no-untyped-def]
    before = count(data)
    assert api(client, "kind=demand", token="not-the-token-at-all-000").status_code == 401
    assert client.post("/api/matching/import?kind=demand", files=sheet_file()).status_code == 401  # type: ignore[arg-type]
    form = {"kind": "demand", "token": "not-the-token-at-all-000", "action": "import"}
    page = client.post("/matching/import", data=form, files=sheet_file())  # type: ignore[arg-type]
    assert page.status_code == 401
    assert count(data) == before and staged(data) == []
    closed = make_client(admin_token="")
    assert api(closed, "kind=demand").status_code == 403
    assert closed.post("/matching/import", data={**form, "token": TOKEN},
                       files=sheet_file()).status_code == 403  # type: ignore[arg-type]
    assert count(data) == before


@pytest.mark.parametrize(("name", "body", "reason"), [
    ("list.pdf", b"%PDF-1.4", "use a .csv, .tsv, .xlsx or .jsonl file"),
    ("list.csv", b"", "list.csv is empty"),
    ("list.csv", "Tên doanh nghiệp,Lĩnh vực\nĐồ Sơn Xanh,Thủy sản\n".encode(), "the header row has no title column"),
    ("list.csv", "Nhu cầu công nghệ\nNuôi tôm\n".encode("utf-16"), "is not UTF-8"),
    ("list.xlsx", b"PK\x03\x04 not really a workbook", "is not an XLSX workbook"),
    ("list.csv", "Nhu cầu công nghệ,Lĩnh vực\n,Thủy sản\n".encode(), "no row of list.csv can be imported: row 2: "),
])
def test_a_bad_file_is_a_400_with_the_reason(client: TestClient, data: Path, name: str, body: bytes,
                                             reason: str) -> None:
    before = count(data)
    answer = api(client, "kind=offer", file=(name, body, "application/octet-stream"))
    assert answer.status_code == 400 and reason in answer.json()["detail"], answer.text
    assert str(data) not in answer.text and "/tmp" not in answer.text  # no server path in the reason
    form = {"kind": "offer", "token": TOKEN, "action": "preview"}
    page = client.post("/matching/import", data=form, files={"file": (name, body, "application/octet-stream")})
    assert page.status_code == 400 and reason in page.text.replace("&#39;", "'")
    assert count(data) == before and staged(data) == []


def test_a_type_column_cannot_change_the_kind(client: TestClient, data: Path) -> None:
    sheet = "Tên công nghệ,Type,Lĩnh vực\nPin lưu trữ cho nhà xưởng,Hardware,Năng lượng\n".encode()
    body = api(client, "kind=offer", file=("offers.csv", sheet, "text/csv")).json()
    assert [(c["column"], c["use"]) for c in body["columns"]] == [("Tên công nghệ", "field"), ("Type", "ignored"),
                                                                  ("Lĩnh vực", "field")]
    with Catalogue.open(data / "catalogue.sqlite", readonly=True) as cat:
        assert [d.type for d in cat.iter_documents() if d.source == "offers.csv"] == ["offer"]


def test_pages_link_and_limits(client: TestClient, make_client, data: Path) -> None:  # type: ignore[no-untyped-def]
    anonymous = make_client(admin_token="")
    form_page = anonymous.get("/matching/import", params={"ui": "en"})
    assert form_page.status_code == 200 and 'type="file"' not in form_page.text
    assert "sign-in" in form_page.text and "viko import-records" in form_page.text
    assert 'href="/matching/import"' not in anonymous.get("/matching").text
    # nothing a visitor may not use is offered: the link is for who may import, not for anyone
    # on a server with a token
    assert 'href="/matching/import"' not in client.get("/matching").text
    assert 'type="file"' not in client.get("/matching/import").text
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert 'href="/matching/import"' in client.get("/matching", headers=bearer).text
    page = client.get("/matching/import?ui=vi", headers=bearer)
    assert page.status_code == 200 and 'type="file"' in page.text and "Xem trước" in page.text
    # An upload may be larger than the ordinary body limit (1 KiB here), up to its own.
    big = ("Nhu cầu công nghệ,Mô tả\n" + "".join(f"Nhu cầu {i},{'mô tả dài ' * 20}\n" for i in range(40))).encode()
    small_limit = make_client(web_max_body_kb=1)
    assert small_limit.post("/api/glossary", content=b"x" * 4096).status_code == 413
    answer = api(small_limit, "kind=demand&dry_run=1", file=("big.csv", big, "text/csv"))
    assert answer.status_code == 200 and answer.json()["records"] == 40 and len(answer.json()["rows"]) == 40


def test_kept_uploads_expire(client: TestClient, data: Path) -> None:
    form = {"kind": "offer", "token": TOKEN, "action": "preview"}
    sheet = "Tên công nghệ\nPin lưu trữ\n".encode()
    html = client.post("/matching/import", data=form, files={"file": ("a.csv", sheet, "text/csv")}).text
    key = re.search(r'name="staged" value="([0-9a-f]{32})"', html)
    assert key
    old = staged(data)[0]
    os.utime(old, (0, 0))
    done = client.post("/matching/import", data={**form, "action": "import", "staged": key.group(1)})
    assert done.status_code == 400 and "no longer kept" in done.text and staged(data) == []
    bad_key = client.post("/matching/import", data={**form, "action": "import", "staged": "../../catalogue.sqlite"})
    assert bad_key.status_code == 400 and (data / "catalogue.sqlite").exists()


def test_an_xlsx_beyond_the_extraction_budget_is_refused_unopened(make_client, data: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import zipfile

    body = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(registration_sheet())) as source, \
            zipfile.ZipFile(body, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            out.writestr(item, source.read(item))
        out.writestr("xl/media/padding.bin", b"\0" * 3_000_000)  # 3 MB inflated, a few KB on the wire

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("openpyxl opened a workbook beyond the budget")

    monkeypatch.setattr("openpyxl.load_workbook", never)
    answer = api(make_client(extract_max_mb=1), "kind=demand&dry_run=1", file=("big.xlsx", body.getvalue(), XLSX))
    assert answer.status_code == 400 and answer.json()["detail"] == "big.xlsx expands beyond 1 MB: not extracted"


def test_jsonl_records_take_the_chosen_kind(client: TestClient, data: Path) -> None:
    lines = ['{"id": "ess-offer-vi", "lang": "vi", "title": "Pin lưu trữ", "text": "Pin lưu trữ cho nhà xưởng."}',
             '{"id": "broken"']
    file = ("offers.jsonl", "\n".join(lines).encode(), "application/jsonl")
    body = api(client, "kind=offer&dry_run=1", file=file).json()
    assert body["columns"] == [] and body["records"] == 1 and body["rows"][0]["row"] == 0
    assert body["rejected"][0]["row"] == 2 and "invalid JSON" in body["rejected"][0]["error"]
    assert api(client, "kind=offer", file=file).json()["added"] == 1
    with Catalogue.open(data / "catalogue.sqlite", readonly=True) as cat:
        stored = cat.get("ess-offer-vi")
    assert stored is not None and stored.type == "offer"
