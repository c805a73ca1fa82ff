"""The admin page (issue 25): `/admin` and `/api/admin/overview` show an admin the index
generation and its age, documents per language, type and visibility, jobs running and queued,
watched sources due and failing, the users and the newest audit entries; an editor is refused
(403), the anonymous visitor asked to sign in (401), and no password hash is in any answer.
The fake encoder keeps it fast (no model)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from viko.corpus import jobs, sources
from viko.corpus.accounts import Accounts
from viko.corpus.catalogue import Catalogue, utcnow
from viko.corpus.document import make_document
from viko.corpus.sources import check_source
from viko.settings import Settings
from viko.web.app import create_app

from helpers import SMALL_DOCS, FakeEncoder

PASSWORD = "correct horse battery"
HIDDEN = [
    {"id": "memo", "lang": "vi", "type": "report", "visibility": "internal", "title": "Biên bản", "text": "Biên bản nội bộ."},
    {"id": "note", "lang": "ko", "type": "news", "visibility": "group:team-a", "title": "메모", "text": "팀 메모입니다."},
]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Indexed documents of three visibilities, an admin, an editor and a reader of team-a, a
    running and a queued job, a source due and one whose last crawl failed, audit entries."""
    from viko.runtime import run_index

    folder = tmp_path_factory.mktemp("admin")
    with Catalogue.open(folder / "catalogue.sqlite") as cat:
        cat.upsert_many([make_document(d) for d in [*SMALL_DOCS, *HIDDEN]])
        accounts = Accounts(cat)
        accounts.add("ada", "admin", PASSWORD)
        accounts.add("eddie", "editor", PASSWORD)
        accounts.add("gina", "reader", PASSWORD, ("team-a",))
        for n in range(25):
            accounts.audit("eddie", "glossary add", f"term {n}")
        running = jobs.enqueue(cat, "index", "eddie")
        jobs.claim(cat, running)
        jobs.update_progress(cat, running, "embedding", 40, 100, 12.0)
        jobs.enqueue(cat, "upload", "eddie", {"files": [{"name": "a.pdf", "outcome": "queued"}]})
        due = sources.add(cat, check_source("Sở KH&CN Hải Phòng", ["https://example.org/news"]), "eddie")
        broken = sources.add(cat, check_source("KOSME", ["https://example.com/"], schedule="weekly"), "eddie")
        with cat.conn:  # `broken` ran an hour ago with failed pages and is not due before next week
            cat.conn.execute("INSERT INTO source_runs (source_id, state, started_at, finished_at, fetched, failed,"
                             " message) VALUES (?, 'done', ?, ?, 3, 2, 'two pages failed')",
                             (broken.id, utcnow(), utcnow()))
            cat.conn.execute("UPDATE sources SET next_due_at='2999-01-01T00:00:00+00:00' WHERE id=?", (broken.id,))
        assert due.id
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())
        run_index(Settings(data_dir=folder))
    return folder


@pytest.fixture
def client(data: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())
    settings = Settings(data_dir=data, web_rate_per_minute=0, web_concurrent_per_client=0, jobs_run=False)
    with TestClient(create_app(settings)) as c:
        yield c


def sign_in(client: TestClient, name: str) -> None:
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', client.get("/login").text)
    assert csrf
    answer = client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": csrf.group(1)},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text[-500:]


def password_hashes(data: Path) -> list[str]:
    with Catalogue.open(data / "catalogue.sqlite", readonly=True) as cat:
        return [r[0] for r in cat.conn.execute("SELECT password_hash FROM users")]


def test_an_admin_sees_the_overview(client: TestClient, data: Path) -> None:
    sign_in(client, "ada")
    answer = client.get("/api/admin/overview")
    assert answer.status_code == 200, answer.text
    page = answer.json()
    index = page["index"]
    assert index["generation"] and 0 <= index["age_seconds"] < 3600 and index["documents"] == 6
    assert page["documents"] == 6 and page["by_lang"] == {"vi": 3, "ko": 3}
    assert page["by_type"] == {"agreement": 2, "news": 2, "report": 2}
    assert page["by_visibility"] == {"public": 4, "internal": 1, "group:team-a": 1}
    assert page["jobs"]["running"] == 1 and page["jobs"]["queued"] == 1
    active = page["active_jobs"]
    assert [(j["kind"], j["state"]) for j in active] == [("index", "running"), ("upload", "queued")]
    assert active[0]["percent"] == 40 and active[0]["seconds_left"] == 12.0
    assert [s["name"] for s in page["sources_due"]] == ["Sở KH&CN Hải Phòng"]
    failing = page["sources_failing"]
    assert [s["name"] for s in failing] == ["KOSME"] and failing[0]["last_run"]["failed"] == 2
    assert page["users"] == [{"name": "ada", "role": "admin", "groups": [], "created_at": page["users"][0]["created_at"]},
                             {"name": "eddie", "role": "editor", "groups": [], "created_at": page["users"][1]["created_at"]},
                             {"name": "gina", "role": "reader", "groups": ["team-a"],
                              "created_at": page["users"][2]["created_at"]}]
    assert len(page["audit"]) == 20 and page["audit"][0]["target"] == "term 24"  # the newest first

    html = client.get("/admin")
    assert html.status_code == 200
    for shown in (index["generation"], "group:team-a", "KOSME", "Sở KH&amp;CN Hải Phòng", "two pages failed",
                  "gina", "term 24", 'href="/audit"', 'href="/jobs/'):
        assert shown in html.text, shown
    assert "term 4<" not in html.text  # older than the last 20
    assert 'href="/admin"' in html.text  # the nav offers it to admins


@pytest.mark.parametrize("path", ["/admin", "/api/admin/overview"])
def test_an_editor_is_refused_and_the_anonymous_asked_to_sign_in(client: TestClient, path: str) -> None:
    anonymous = client.get(path)
    assert anonymous.status_code == 401
    sign_in(client, "eddie")
    refused = client.get(path)
    assert refused.status_code == 403 and "eddie is an editor: this needs the admin role" in refused.text
    assert 'href="/admin"' not in client.get("/").text  # nor offered in the nav


def test_no_password_hash_anywhere(client: TestClient, data: Path) -> None:
    sign_in(client, "ada")
    hashes = password_hashes(data)
    assert len(hashes) == 3 and all(h.startswith("$argon2") for h in hashes)
    for path in ("/admin", "/api/admin/overview"):
        text = client.get(path).text
        assert "argon2" not in text and not any(h in text or h.split("$")[-1] in text for h in hashes), path
