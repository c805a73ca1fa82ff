import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from viko.cli import main
from viko.settings import Settings
from web.app import create_app

pytestmark = pytest.mark.model

EVIL = '"><img src=x onerror=alert(1)><script>alert(1)</script>'


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    from click.testing import CliRunner

    from tests.conftest import SMALL_DOCS

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


def test_document_page_has_counterpart_or_related(client: TestClient) -> None:
    page = client.get("/api/doc/mou-vi").json()
    assert page["title"].startswith("Thỏa thuận")
    linked = [page["counterpart"]["id"]] if page["counterpart"] else []
    assert "mou-ko" in linked + [h["id"] for h in page["related"]]
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
    assert client.get("/api/search", params={"q": "x" * 600}).status_code == 400
    assert client.get("/api/search", params={"q": "điện", "limit": 1000}).status_code == 400
    assert client.get("/api/search", params={"q": "điện", "lang": "fr"}).status_code == 422
    assert client.get("/", params={"q": "x" * 600}).status_code == 400


def test_status_and_openapi(client: TestClient) -> None:
    assert client.get("/api/status").json()["documents"] == 5
    assert "/api/search" in client.get("/openapi.json").json()["paths"]
    assert client.get("/status").status_code == 200
