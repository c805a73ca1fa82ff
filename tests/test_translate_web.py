"""Workbench pages and /api/ calls: alignment, concordance, glossary, counterpart decisions."""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from viko.corpus.catalogue import Catalogue
from viko.corpus.document import make_document
from viko.corpus.tm import TranslationMemory, Unit
from viko.settings import Settings
from viko.web.app import create_app

TOKEN = "s3cret-token-for-tests"


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    cat = Catalogue.open(tmp_path / "catalogue.sqlite")
    cat.upsert_many([
        make_document({"id": "v", "lang": "vi", "segmented": True, "title": "Nông nghiệp",
                       "text": "alpha bravo charlie\ndelta echo foxtrot\ngolf hotel india"}),
        make_document({"id": "k", "lang": "ko", "segmented": True, "title": "농업",
                       "text": "alpha bravo charlie\ndelta echo foxtrot golf hotel india"}),
    ])
    with cat.conn:
        TranslationMemory(cat).add_many([
            Unit("Hợp tác nông nghiệp thông minh.", "스마트 농업 협력.", "aligned", 0.9, "v", "k", (0,), (0,))])
    cat.close()
    from helpers import FakeEncoder

    monkeypatch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())
    settings = Settings(data_dir=tmp_path, admin_token=TOKEN)
    return TestClient(create_app(settings))


def test_alignment_page_and_api(client: TestClient) -> None:
    r = client.get("/api/align", params={"a": "v", "b": "k"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(x["a"], x["b"]) for x in body["links"]] == [([0], [0]), ([1, 2], [1])]
    assert body["rows"][1]["kind"] == "2-1" and body["status"] == "given"
    # each link says whether it reads as a translation, and the page counts the sentences that do
    assert [x["strong"] for x in body["links"]] == [r["strong"] for r in body["rows"]]
    held = sum(len(x["a"]) + len(x["b"]) for x in body["links"] if x["strong"])
    assert body["strong_sentences"] == held and body["strong_cosine"] == 0.83
    html = client.get("/align", params={"a": "v", "b": "k"})
    assert html.status_code == 200 and "delta echo foxtrot golf hotel india" in html.text and "2-1" in html.text
    assert f"{held} of 5 sentences in strong links" in " ".join(html.text.split())
    assert html.text.count('<span class="weak-note">weak</span>') == sum(not x["strong"] for x in body["links"])
    assert client.get("/api/align", params={"a": "nope"}).status_code == 404
    assert client.get("/api/align", params={"a": "v"}).status_code == 404  # no counterpart known yet
    assert client.get("/align").status_code == 200


def test_concordance_page_api_and_tmx(client: TestClient) -> None:
    r = client.get("/api/concordance", params={"q": "nông nghiệp"})
    assert r.status_code == 200
    hit = r.json()["hits"][0]
    assert hit["vi"][hit["vi_spans"][0][0]:hit["vi_spans"][0][1]] == "nông nghiệp"
    assert hit["vi_title"] == "Nông nghiệp" and hit["ko_title"] == "농업"
    assert client.get("/api/concordance", params={"q": " "}).status_code == 400
    html = client.get("/concordance", params={"q": "협력"})
    assert html.status_code == 200 and "<mark>협력</mark>" in html.text
    # Vietnamese matches fall on the analyser's words: "nông" alone is inside "nông nghiệp".
    assert client.get("/api/concordance", params={"q": "nông"}).json()["total"] == 0
    html = client.get("/concordance", params={"q": "nong nghiep"})
    assert html.status_code == 200 and "<mark>nông nghiệp</mark>" in html.text
    tmx = client.get("/api/export.tmx", params={"q": "협력"})
    assert tmx.status_code == 200 and len(etree.fromstring(tmx.content).findall("body/tu")) == 1


def test_glossary_api_needs_token(client: TestClient) -> None:
    entry = {"vi": "trang trại thông minh", "ko": "스마트팜", "note": "smart farm"}
    assert client.post("/api/glossary", json=entry).status_code == 401
    r = client.post("/api/glossary", json=entry, headers={"X-Viko-Token": TOKEN})
    assert r.status_code == 200 and r.json()["ko"] == "스마트팜"
    entry_id = r.json()["id"]
    listed = client.get("/api/glossary", params={"q": "trang trại thông minh"}).json()
    assert [e["id"] for e in listed["entries"]] == [entry_id] and not listed["editable"]  # anonymous
    listed = client.get("/api/glossary", params={"q": "trang trại thông minh"}, headers={"X-Viko-Token": TOKEN}).json()
    assert [e["id"] for e in listed["entries"]] == [entry_id] and listed["editable"]
    exp = client.get("/api/glossary/expand", params={"q": "trang trại thông minh ở Hải Phòng", "lang": "vi"}).json()
    assert "스마트팜" in exp["terms"]
    page = client.get("/glossary", params={"q": "trang"})
    assert page.status_code == 200 and "스마트팜" in page.text
    form = client.post("/glossary", data={"remove": entry_id, "token": "wrong"}, follow_redirects=False)
    assert form.status_code == 401
    form = client.post("/glossary", data={"remove": entry_id, "token": TOKEN}, follow_redirects=False)
    assert form.status_code == 303
    assert client.delete(f"/api/glossary/{entry_id}", headers={"X-Viko-Token": TOKEN}).status_code == 404
    assert client.post("/api/glossary", json={"vi": "", "ko": "x"}, headers={"X-Viko-Token": TOKEN}).status_code == 422


def test_counterpart_decisions_over_api(client: TestClient) -> None:
    decision = {"doc_id": "v", "other_id": "k", "decision": "confirmed"}
    assert client.post("/api/counterpart", json=decision).status_code == 401
    assert client.post("/api/counterpart", json=decision, headers={"X-Viko-Token": TOKEN}).status_code == 200
    got = client.get("/api/counterpart/k").json()
    assert got["other_id"] == "v" and got["status"] == "confirmed"
    page = client.get("/api/align", params={"a": "v"}).json()  # b now comes from the confirmed link
    assert page["b"]["id"] == "k" and page["status"] == "confirmed"
    bad = dict(decision, other_id="v")
    assert client.post("/api/counterpart", json=bad, headers={"X-Viko-Token": TOKEN}).status_code == 400
    assert client.get("/api/counterpart/none").status_code == 404
    json.dumps(got)


def test_editing_disabled_without_token(tmp_path: Path) -> None:
    client = TestClient(create_app(Settings(data_dir=tmp_path)))
    r = client.post("/api/glossary", json={"vi": "a", "ko": "가"}, headers={"X-Viko-Token": "x"})
    assert r.status_code == 403
    page = client.get("/glossary").text
    assert "sign-in" in page and "viko glossary add" in page and 'method="post"' not in page
