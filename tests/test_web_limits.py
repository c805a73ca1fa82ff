"""Heavy or hostile requests cannot take the web app down: bounded views, streamed export,
per-client limits, token rules, auth before validation, safe links, escaped ids, and a
request id on every error. The fake encoder keeps it fast (no model)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from viko.corpus.catalogue import Catalogue
from viko.corpus.document import make_document
from viko.corpus.tm import TranslationMemory, Unit
from viko.settings import Settings
from viko.web.app import create_app
from viko.web.limits import ClientLimiter
from viko.web.shared import admin_token, id_path, safe_url, token_warning
from viko.workbench.tmx import tmx_chunks

from helpers import FakeEncoder

TOKEN = "a-token-long-enough-1234"
LONG_TEXT = "\n".join(f"Đoạn {i}: hợp tác năng lượng tái tạo giữa hai tỉnh, lần thứ {i}." for i in range(40))
ODD_IDS = ["a/../b", "../up", "x y?z#1"]


def sentences(n: int, word: str) -> str:
    return "\n".join(f"{word} {i} là câu số {i}." for i in range(n))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from viko.runtime import run_index

    folder = tmp_path_factory.mktemp("limits")
    docs = [{"id": "long", "lang": "vi", "title": "Dài", "text": LONG_TEXT, "url": "https://example.vn/dai"},
            {"id": "js", "lang": "vi", "title": "Liên kết lạ", "text": "Nội dung có liên kết lạ.",
             "url": "javascript:alert(1)"},
            {"id": "pa", "lang": "vi", "title": "Cặp A", "text": sentences(12, "Câu"), "segmented": True},
            {"id": "pb", "lang": "ko", "title": "쌍 B", "text": sentences(12, "문장"), "segmented": True},
            *({"id": i, "lang": "vi", "title": f"Mã {i}", "text": f"Tài liệu có mã lạ {i}."} for i in ODD_IDS)]
    with Catalogue.open(folder / "catalogue.sqlite") as cat:
        cat.upsert_many([make_document(d) for d in docs])
        with cat.conn:
            TranslationMemory(cat).add_many([Unit(f"Câu {i}.", f"문장 {i}.", "aligned", 0.9, "pa", "pb", (i,), (i,))
                                             for i in range(1200)])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())
        run_index(Settings(data_dir=folder))
    return folder


@pytest.fixture
def make_client(data: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())

    def make(**overrides: object) -> TestClient:
        values: dict[str, object] = {"data_dir": data, "admin_token": TOKEN, "web_doc_page_chars": 400,
                                     "web_align_max_sentences": 5, "web_rate_per_minute": 0, **overrides}
        return TestClient(create_app(Settings(**values)), raise_server_exceptions=False)  # type: ignore[arg-type]

    return make


@pytest.fixture
def client(make_client) -> TestClient:  # type: ignore[no-untyped-def]
    return make_client()


def test_long_document_is_paged_with_a_link_to_the_full_text(client: TestClient) -> None:
    first = client.get("/api/doc/long").json()
    assert first["page"] == 1 and first["pages"] > 3 and len(first["text"]) <= 400
    assert first["text_chars"] == len(LONG_TEXT) and first["paragraphs"][0]["text"].startswith("Đoạn 0:")
    second = client.get("/api/doc/long", params={"page": 2}).json()
    assert second["page"] == 2 and second["paragraphs"][0]["start"] > first["paragraphs"][-1]["start"]
    html = client.get("/doc/long", params={"page": 2, "ui": "en"}).text
    assert f"Page 2 of {first['pages']}" in html and 'href="/text/long"' in html and "Đoạn 0:" not in html
    full = client.get("/text/long")
    assert full.status_code == 200 and full.text == LONG_TEXT and full.headers["content-type"].startswith("text/plain")
    assert client.get("/api/doc/long", params={"page": 999}).json()["page"] == first["pages"]


def test_alignment_on_request_is_bounded(client: TestClient) -> None:
    page = client.get("/api/align", params={"a": "pa", "b": "pb"}).json()
    assert len(page["a_sentences"]) == 5 and len(page["b_sentences"]) == 5
    assert page["a_total"] == 12 and "only the first 5 sentences" in page["cut"]
    assert "only the first 5 sentences" in client.get("/align", params={"a": "pa", "b": "pb"}).text


def test_tmx_export_is_streamed_in_pieces(client: TestClient) -> None:
    units = [Unit(f"Câu {i}.", f"문장 {i}.", "aligned", 0.9) for i in range(1200)]
    pieces = list(tmx_chunks(iter(units), batch=500))
    assert len(pieces) == 3 and all(pieces)
    assert len(etree.fromstring(b"".join(pieces)).findall("body/tu")) == 1200
    with client.stream("GET", "/api/export.tmx") as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/x-tmx+xml")
        assert "content-length" not in response.headers  # streamed, not built whole
        body = b"".join(response.iter_bytes())
    assert len(etree.fromstring(body).findall("body/tu")) == 1200


def test_expensive_routes_are_rate_limited_per_client(make_client) -> None:  # type: ignore[no-untyped-def]
    limited = make_client(web_rate_per_minute=3)
    assert [limited.get("/text/long").status_code for _ in range(3)] == [200, 200, 200]
    refused = limited.get("/api/doc/long")
    assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
    assert limited.get("/status").status_code == 200  # cheap pages are not counted


def test_limiter_window_and_concurrency() -> None:
    limiter = ClientLimiter(per_minute=2, concurrent=1)
    assert limiter.acquire("a", now=0.0) == 0.0
    assert limiter.acquire("a", now=1.0) == 1.0  # one running already
    limiter.release("a")
    assert limiter.acquire("a", now=1.0) == 0.0 and limiter.acquire("b", now=1.0) == 0.0
    limiter.release("a")
    assert limiter.acquire("a", now=2.0) == 58.0  # two in the last minute: wait for the oldest
    assert limiter.acquire("a", now=61.0) == 0.0


def test_token_needs_sixteen_non_space_characters(make_client) -> None:  # type: ignore[no-untyped-def]
    for weak in ("short-token", " " * 20, "a b c d e f g h i j"):
        settings = Settings(admin_token=weak)
        assert admin_token(settings) == "" and "16" in token_warning(settings)
        app = make_client(admin_token=weak)
        r = app.post("/api/glossary", json={"vi": "a", "ko": "가"}, headers={"X-Viko-Token": weak})
        assert r.status_code == 403 and "16" in r.json()["detail"]
    assert admin_token(Settings(admin_token=TOKEN)) == TOKEN and token_warning(Settings(admin_token=TOKEN)) == ""


def test_token_is_checked_before_the_input(client: TestClient, make_client) -> None:  # type: ignore[no-untyped-def]
    bad = {"a": "pa", "b": "pb", "decision": "maybe"}
    assert client.post("/align/decide", data=bad, follow_redirects=False).status_code == 401
    assert make_client(admin_token="").post("/align/decide", data=bad).status_code == 403
    assert client.post("/align/decide", data={**bad, "token": TOKEN}).status_code == 400
    assert client.post("/api/counterpart", json={"decision": "maybe"}).status_code == 401
    assert client.post("/glossary", data={"remove": "x"}).status_code == 401
    assert client.post("/api/admin/delete/x").status_code == 401


def test_only_http_urls_become_links() -> None:
    assert safe_url("javascript:alert(1)") == "" and safe_url(" JavaScript:alert(1)") == ""
    assert safe_url("data:text/html,x") == "" and safe_url("https://example.vn/a") == "https://example.vn/a"


def test_javascript_url_is_shown_not_linked(client: TestClient) -> None:
    html = client.get("/doc/js").text
    assert 'href="javascript:' not in html and "javascript:alert(1)" in html
    assert 'href="https://example.vn/dai"' in client.get("/doc/long").text


@pytest.mark.parametrize("doc_id", ODD_IDS)
def test_ids_with_slashes_and_dots_work_in_links(client: TestClient, doc_id: str) -> None:
    assert "/" not in id_path(doc_id)
    page = client.get("/doc/" + id_path(doc_id))
    assert page.status_code == 200 and f"Mã {doc_id}" in page.text
    align = client.get("/align", params={"a": doc_id, "b": "pb"}).text
    assert f'href="/doc/{id_path(doc_id)}"' in align


def test_errors_carry_a_logged_request_id(client: TestClient, monkeypatch: pytest.MonkeyPatch,
                                          caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom in the document page")

    monkeypatch.setattr("viko.web.document.document_page", broken)
    with caplog.at_level(logging.INFO, logger="viko.web"):
        html = client.get("/doc/long")
        api = client.get("/api/doc/long")
    rid = html.headers["x-request-id"]
    assert html.status_code == 500 and rid in html.text and "text/html" in html.headers["content-type"]
    assert api.status_code == 500 and api.json()["request_id"] == api.headers["x-request-id"]
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert rid in failures[0].getMessage() and "boom in the document page" in str(failures[0].exc_info)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(line.startswith(f"{rid} GET /doc/long 500 ") and line.endswith("ms") for line in lines)


def test_status_lists_recent_crawls(tmp_path: Path) -> None:
    from viko.corpus.fetch import FetchResult
    from viko.corpus.frontier import Frontier, Scope

    with Catalogue.open(tmp_path / "catalogue.sqlite") as cat:
        frontier = Frontier(cat, Scope(), set())
        frontier.log(FetchResult(url="https://a.vn/x", final_url="https://a.vn/x", status=200), "stored", "added")
        frontier.log(FetchResult(url="https://a.vn/y", final_url="https://a.vn/y", status=404), "failed", "HTTP 404")
        cat.conn.commit()
    app = TestClient(create_app(Settings(data_dir=tmp_path, admin_token=TOKEN)))
    # the crawl log names documents and sources of every visibility: admins only
    anonymous = app.get("/api/status").json()
    assert anonymous["crawl_outcomes"] == {} and anonymous["recent_crawls"] == []
    assert "https://a.vn/y" not in app.get("/status", params={"ui": "en"}).text
    admin = {"X-Viko-Token": TOKEN}
    page = app.get("/api/status", headers=admin).json()
    assert page["crawl_outcomes"] == {"stored": 1, "failed": 1}
    assert [(c["url"], c["outcome"], c["http_status"]) for c in page["recent_crawls"]] == [
        ("https://a.vn/y", "failed", 404), ("https://a.vn/x", "stored", 200)]
    html = app.get("/status", params={"ui": "en"}, headers=admin).text
    assert "https://a.vn/y" in html and "failed (HTTP 404)" in html and "No crawls yet" not in html


# One handler per page serves its HTML path and its /api/ path: the same parameter check,
# the same defaults and the same data in both formats.
SAME_ANSWER = [
    ("/", "/api/search", {"q": "hợp tác", "limit": 1000}, 400),  # over VIKO_MAX_LIMIT
    ("/", "/api/search", {"q": "hợp tác", "offset": 50_000}, 400),
    ("/", "/api/search", {"q": "hợp tác", "page": 5000}, 400),  # the offset it means is too far
    ("/", "/api/search", {"q": "x" * 5001}, 400),
    ("/", "/api/search", {"q": "hợp tác", "lang": "fr"}, 422),
    ("/", "/api/search", {"q": "hợp tác", "sort": "random"}, 422),
    ("/", "/api/search", {"q": "hợp tác", "year": "abc"}, 422),  # a facet value no click makes
    ("/", "/api/search", {"q": "hợp tác", "limit": 0}, 422),
    ("/concordance", "/api/concordance", {"q": "Câu", "limit": 500}, 422),
    ("/concordance", "/api/concordance", {"q": "Câu", "lang": "fr"}, 422),
    ("/doc/long", "/api/doc/long", {"page": -1}, 422),
    ("/doc/nope", "/api/doc/nope", {}, 404),
    ("/align", "/api/align", {"a": "nope"}, 404),
    ("/match/x", "/api/match/x", {"limit": 0}, 422),
]


@pytest.mark.parametrize(("html_path", "api_path", "params", "status"), SAME_ANSWER)
def test_both_formats_refuse_the_same_requests(client: TestClient, html_path: str, api_path: str,
                                               params: dict[str, object], status: int) -> None:
    html = client.get(html_path, params=params | {"ui": "en"})  # type: ignore[arg-type]
    api = client.get(api_path, params=params)  # type: ignore[arg-type]
    assert (html.status_code, api.status_code) == (status, status), (html.text[-300:], api.text)
    assert html.headers["content-type"].startswith("text/html") and api.json()["detail"]


def test_both_formats_use_the_same_default_page_size(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(page_size=2)
    api = client.get("/api/search", params={"q": "tài liệu"}).json()
    assert api["limit"] == 2 and len(api["hits"]) == 2 and api["total"] > 2
    assert html_hit_ids(client.get("/", params={"q": "tài liệu"}).text) == [h["id"] for h in api["hits"]]
    second = client.get("/api/search", params={"q": "tài liệu", "page": 2}).json()
    assert second["offset"] == 2 and second["limit"] == 2


@pytest.mark.parametrize("params", [{"q": "tài liệu có mã"}, {"q": "tài liệu", "limit": 1, "page": 2},
                                    {"q": "tài liệu", "sort": "date", "lang": "vi"}, {"q": "tài liệu", "offset": 1}])
def test_page_and_api_list_the_same_documents_in_the_same_order(client: TestClient, params: dict[str, object]) -> None:
    api = client.get("/api/search", params=params).json()  # type: ignore[arg-type]
    assert api["hits"], api
    assert html_hit_ids(client.get("/", params=params).text) == [h["id"] for h in api["hits"]]  # type: ignore[arg-type]


def test_a_blank_request_is_an_empty_page_but_an_api_error(client: TestClient) -> None:
    for html_path, api_path in (("/", "/api/search"), ("/concordance", "/api/concordance"), ("/align", "/api/align")):
        assert client.get(html_path).status_code == 200
        for params in ({}, {"q": " ", "a": ""}):
            answer = client.get(api_path, params=params)
            assert answer.status_code == 400 and answer.json()["detail"], api_path


def html_hit_ids(html: str) -> list[str]:
    from urllib.parse import unquote

    return [unquote(m) for m in re.findall(r'<li class="hit"[^>]*>\s*<h3><a href="/doc/([^"?#]+)', html)]
