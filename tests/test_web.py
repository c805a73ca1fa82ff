import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from viko.cli import main
from viko.settings import Settings
from viko.web.app import create_app

pytestmark = pytest.mark.model

EVIL = '"><img src=x onerror=alert(1)><script>alert(1)</script>'
TOKEN = "s3cret-admin-token-0123"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    from click.testing import CliRunner

    from helpers import SMALL_DOCS

    folder = tmp_path_factory.mktemp("web")
    docs = [*SMALL_DOCS, {"id": "evil", "lang": "vi", "title": EVIL, "text": "Tài liệu thử " + EVIL}]
    src = folder / "docs.jsonl"
    src.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in docs), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["--data", str(folder), "import", str(src)]).exit_code == 0
    assert runner.invoke(main, ["--data", str(folder), "index"]).exit_code == 0
    return TestClient(create_app(Settings.from_env(data_dir=folder)))


def test_search_page_and_api_agree(client: TestClient) -> None:
    html = client.get("/", params={"q": "재생에너지 협약"})
    assert html.status_code == 200 and "mou-vi" in html.text and "<mark>" in html.text
    assert "default-src 'self'" in html.headers["content-security-policy"]
    api = client.get("/api/search", params={"q": "재생에너지 협약", "limit": 2}).json()
    assert {h["id"] for h in api["hits"]} == {"mou-ko", "mou-vi"}
    # one handler, one model: the page lists the API's documents, in the API's order
    for q in ("재생에너지 협약", "hợp tác"):
        every = client.get("/api/search", params={"q": q}).json()
        listed = re.findall(r'<li class="hit"[^>]*>\s*<h3><a href="/doc/([^"?#]+)', client.get("/", params={"q": q}).text)
        assert listed == [h["id"] for h in every["hits"]] and len(listed) >= 2, q


def test_document_page_has_counterpart_or_related(client: TestClient) -> None:
    page = client.get("/api/doc/mou-vi").json()
    assert page["title"].startswith("Thỏa thuận")
    assert page["counterpart"]["id"] == "mou-ko" and "mou-ko" not in [h["id"] for h in page["related"]]
    assert client.get("/doc/mou-vi").status_code == 200


def test_unknown_document_is_404(client: TestClient) -> None:
    assert client.get("/doc/nope").status_code == 404
    assert client.get("/api/doc/nope").status_code == 404


def test_user_text_is_escaped(client: TestClient) -> None:
    page = client.get("/", params={"q": EVIL})
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    doc = client.get("/doc/evil")
    assert "<img src=x" not in doc.text and "&lt;img src=x" in doc.text


def test_bounds_and_errors(client: TestClient) -> None:
    assert client.get("/api/search", params={"q": "x" * 5001}).status_code == 400
    assert client.get("/api/search", params={"q": "điện", "limit": 1000}).status_code == 400
    assert client.get("/api/search", params={"q": "điện", "lang": "fr"}).status_code == 422
    assert client.get("/", params={"q": "x" * 5001}).status_code == 400


def test_status_and_openapi(client: TestClient) -> None:
    assert client.get("/api/status").json()["documents"] == 5
    assert "/api/search" in client.get("/openapi.json").json()["paths"]
    assert client.get("/status").status_code == 200


def test_facets_filter_sort_and_page(client: TestClient) -> None:
    full = client.get("/api/search", params={"q": "hợp tác"}).json()
    types = {f["value"]: f["count"] for f in full["facets"]["type"]}
    assert full["total"] >= 2 and sum(types.values()) == full["total"]
    only = client.get("/api/search", params={"q": "hợp tác", "type": "agreement"}).json()
    assert only["total"] == types["agreement"] and all(h["type"] == "agreement" for h in only["hits"])
    both = client.get("/api/search", params={"q": "hợp tác", "type": "agreement", "lang": "ko"}).json()
    assert all(h["lang"] == "ko" and h["type"] == "agreement" for h in both["hits"])
    dated = client.get("/api/search", params={"q": "hợp tác", "sort": "date"}).json()
    dates = [h["date"] for h in dated["hits"] if h["date"]]
    assert dates == sorted(dates, reverse=True)
    second = client.get("/api/search", params={"q": "hợp tác", "limit": 1, "page": 2}).json()
    assert second["offset"] == 1 and second["hits"][0]["id"] == full["hits"][1]["id"]


def test_cross_language_hit_shows_its_own_passage(client: TestClient) -> None:
    hits = client.get("/api/search", params={"q": "재생에너지 협약"}).json()["hits"]
    vi = next(h for h in hits if h["id"] == "mou-vi")
    assert "năng lượng" in vi["snippet"] and vi["counterpart_id"] == "mou-ko"


def test_nonsense_query_gets_zero_results_and_help(client: TestClient) -> None:
    api = client.get("/api/search", params={"q": "xyzzy qwertz"}).json()
    assert api["total"] == 0 and api["hits"] == []
    html = client.get("/", params={"q": "xyzzy qwertz", "ui": "en"})
    assert html.status_code == 200 and "No document matches" in html.text
    filtered = client.get("/", params={"q": "hợp tác", "year": "1999", "ui": "en"})
    assert "Remove the filters to see" in filtered.text


def test_misspelled_word_offers_closest_terms(client: TestClient) -> None:
    # words that match nothing as typed are searched as the index's closest words, and say so
    page = client.get("/api/search", params={"q": "cảmm biếnn"}).json()
    assert page["total"] >= 1 and page["rewritten"] and page["searched_as"] == "cảm biến"
    typed = client.get("/api/search", params={"q": "cảmm biếnn", "exact": 1}).json()
    assert typed["total"] == 0 and not typed["rewritten"] and typed["suggestions"] == ["cảm biến"]


def test_interface_language_switch_and_default(client: TestClient) -> None:
    ko = client.get("/", params={"ui": "ko"})
    assert '<html lang="ko">' in ko.text and "검색어" in ko.text and "viko_ui=ko" in ko.headers["set-cookie"]
    assert '<html lang="ko">' in client.get("/status").text  # remembered by the cookie
    client.cookies.clear()
    vi = client.get("/", headers={"Accept-Language": "vi-VN,vi;q=0.9,en;q=0.5"})
    assert '<html lang="vi">' in vi.text and "Tìm kiếm" in vi.text
    assert '<html lang="en">' in client.get("/", headers={"Accept-Language": "fr"}).text


def test_document_page_marks_best_passage(client: TestClient) -> None:
    html = client.get("/doc/aqua-vi", params={"q": "cảm biến IoT"}).text
    assert 'class="best" id="best"' in html and "<mark>" in html
    api = client.get("/api/doc/aqua-vi", params={"q": "cảm biến IoT"}).json()
    assert any(p["best"] for p in api["paragraphs"])


def test_unknown_pages_are_html_404_and_api_json_404(client: TestClient) -> None:
    page = client.get("/doc/" + EVIL)
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "<img src=x" not in page.text
    assert client.get("/no/such/page").status_code == 404
    assert client.get("/api/doc/nope").json()["detail"].startswith("no document")


def test_page_bounds_have_clear_messages(client: TestClient) -> None:
    r = client.get("/api/search", params={"q": "điện", "offset": 50_000})
    assert r.status_code == 400 and "offset" in r.json()["detail"]
    assert client.get("/api/search", params={"q": "điện", "sort": "random"}).status_code == 422
    html = client.get("/", params={"q": "x" * 5001, "ui": "en"})
    assert html.status_code == 400 and "the limit is 5000" in html.text
    far = client.get("/", params={"q": "hợp tác", "page": 99, "ui": "en"})
    assert far.status_code == 200 and "There are no results on this page" in far.text


def test_admin_actions_need_a_token_and_a_post(tmp_path: Path) -> None:
    line = json.dumps({"id": "new-vi", "lang": "vi", "title": "Mới", "text": "Tài liệu mới về điện gió."})
    closed = TestClient(create_app(Settings.from_env(env={}, data_dir=tmp_path)))
    assert closed.post("/api/admin/import", content=line).status_code == 403
    assert closed.get("/api/admin/index").status_code == 405
    app = TestClient(create_app(Settings.from_env(env={}, data_dir=tmp_path, admin_token=TOKEN)))
    assert app.post("/api/admin/import", content=line, headers={"Authorization": "Bearer nope"}).status_code == 401
    done = app.post("/api/admin/import", content=line + "\n{bad json\n", headers={"Authorization": f"Bearer {TOKEN}"})
    assert done.status_code == 200 and done.json()["added"] == 1 and done.json()["errors"][0]["line"] == 2
    assert app.post("/api/admin/index", headers={"X-Viko-Token": TOKEN}).json()["documents"] == 1
    assert app.get("/api/search", params={"q": "điện gió"}).json()["hits"][0]["id"] == "new-vi"
    assert app.post("/api/admin/delete/new-vi", headers={"X-Viko-Token": TOKEN}).status_code == 200
    assert app.post("/api/admin/delete/new-vi", headers={"X-Viko-Token": TOKEN}).status_code == 404


def test_status_shows_index_and_crawls(client: TestClient) -> None:
    page = client.get("/api/status").json()
    assert page["by_lang_type"]["vi"]["agreement"] == 1 and page["index"]["model"]
    assert page["crawl_outcomes"] == {} and page["recent_crawls"] == []
    html = client.get("/status", params={"ui": "en"}).text
    assert "No crawls yet" in html  # this data directory was imported, never crawled


def test_everything_is_served_locally(client: TestClient) -> None:
    for url in ("/", "/?q=điện", "/doc/mou-vi", "/status", "/docs"):
        html = client.get(url).text
        assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', html), url
        assert "<style" not in html and " style=" not in html and "<script>" not in html, url
    assert "/api/search" in client.get("/docs").text


def test_admin_index_while_another_run_holds_the_lock_is_a_conflict(tmp_path: Path) -> None:
    from viko.locking import data_lock

    app = TestClient(create_app(Settings.from_env(env={}, data_dir=tmp_path, admin_token=TOKEN)))
    with data_lock(tmp_path):  # as a running `viko index` would
        busy = app.post("/api/admin/index", headers={"X-Viko-Token": TOKEN})
    assert busy.status_code == 409
    assert "viko index" in busy.json()["detail"]


def test_query_syntax_is_the_same_in_the_page_and_the_api(client: TestClient) -> None:
    api = client.get("/api/search", params={"q": "type:agreement"}).json()
    assert {h["id"] for h in api["hits"]} == {"mou-vi", "mou-ko"}
    page = client.get("/", params={"q": "type:agreement", "ui": "en"})
    assert page.status_code == 200 and "mou-vi" in page.text and "chip-ko" not in page.text
    bad = client.get("/api/search", params={"q": "after:2024-13"})
    assert bad.status_code == 400 and "not a date" in bad.json()["detail"]
    assert 'class="syntax"' in page.text and "<details" in page.text  # the help popover, no script


def test_date_range_facet(client: TestClient) -> None:
    api = client.get("/api/search", params={"q": "type:agreement", "after": "2023-07", "before": "2024"}).json()
    assert {h["id"] for h in api["hits"]} == {"mou-vi", "mou-ko"} and api["after"] == "2023-07"
    none = client.get("/api/search", params={"q": "type:agreement", "after": "2024"}).json()
    assert none["total"] == 0 and none["unfiltered_total"] == 2
    assert client.get("/api/search", params={"q": "x", "before": "soon"}).status_code == 422


def test_export_every_result_as_csv_and_xlsx(client: TestClient) -> None:
    import io

    from openpyxl import load_workbook

    found = client.get("/api/search", params={"q": "after:2020", "limit": 1}).json()
    csv_text = client.get("/api/search.csv", params={"q": "after:2020", "limit": 1})
    assert csv_text.status_code == 200 and csv_text.headers["x-viko-total"] == str(found["total"])
    lines = csv_text.text.lstrip("\ufeff").strip().splitlines()
    assert lines[0].startswith("rank,id,lang,title,type,date") and len(lines) == found["total"] + 1 == 5
    assert lines[0].endswith(",possible") and all("possible" in h for h in found["hits"])
    assert "attachment" in csv_text.headers["content-disposition"]
    xlsx = client.get("/api/search.xlsx", params={"q": "after:2020", "lang": "ko"})
    book = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    rows = list(book["results"].values)
    assert rows[0][:3] == ("rank", "id", "lang") and {r[2] for r in rows[1:]} == {"ko"} and len(rows) == 3
    assert client.get("/api/search.csv", params={"q": ""}).status_code == 400


def test_export_cells_are_never_formulas() -> None:
    from viko.corpus.formats.cells import safe_cell
    from viko.web.search_export import to_csv

    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and safe_cell("-1") == "'-1" and safe_cell(3) == 3
    assert "'=cmd" in to_csv([{"id": "x", "title": "=cmd|' /C calc'!A0"}]).decode("utf-8")
