"""Watched sources (issue 25, item 3) against the fixture site on 127.0.0.1: `viko sources
run-due` crawls a due source and indexes it, the documents get the source's type and
visibility, a second run asks with the pages' validators and counts them unchanged (304),
the history keeps each run's counts and failures with reasons; the server's own job runner
crawls a source registered through the API. The network policy is relaxed for loopback as
tests/test_crawl.py does (VIKO_CRAWL_ALLOW_PRIVATE), and the fake encoder keeps indexing fast."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from viko.cli import main
from viko.corpus.accounts import Accounts
from viko.corpus.catalogue import Catalogue
from viko.settings import Settings
from viko.web.app import create_app

from fixtures.server import FixtureSite
from helpers import FakeEncoder

LOOPBACK = {"VIKO_CRAWL_ALLOW_PRIVATE": "1", "VIKO_CRAWL_DELAY": "0", "VIKO_CRAWL_TIMEOUT": "2",
            "VIKO_CRAWL_RETRIES": "0"}
DEADLINE = 120.0
pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def site() -> Iterator[FixtureSite]:
    with FixtureSite() as served:
        yield served


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())
    for name, value in LOOPBACK.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()

    def viko(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, ["--data", str(tmp_path / "data"), *args])
        assert result.exit_code == code, (result.output, result.exception)
        return result.output

    return viko


def documents(data: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(data / "catalogue.sqlite") as conn:
        return [tuple(r) for r in conn.execute("SELECT url, type, visibility FROM documents ORDER BY url")]


def test_run_due_crawls_incrementally_and_keeps_the_history(cli: Any, site: FixtureSite, tmp_path: Path) -> None:
    data = tmp_path / "data"
    out = cli("sources", "add", "jeonnam", site.url("/ko/"), site.url("/changing.html"), "--max-depth", "1",
              "--exclude", "/lich|/slow", "--type", "report", "--visibility", "group:partners", "--schedule", "weekly")
    assert "added source 1 'jeonnam' (weekly, group:partners)" in out

    first = cli("sources", "run-due")
    assert "job 1 done: jeonnam:" in first and "index: indexed" in first
    stored = documents(data)
    assert len(stored) >= 5 and {(kind, vis) for _url, kind, vis in stored} == {("report", "group:partners")}
    assert any(url.endswith("/ko/mou.html") for url, _k, _v in stored)
    assert "no source is due" in cli("sources", "run-due")  # weekly: next week

    with sqlite3.connect(data / "catalogue.sqlite") as conn:
        conn.execute("UPDATE sources SET next_due_at='2000-01-01T00:00:00+00:00'")  # a week has passed
    site.version = 2  # /changing.html was edited meanwhile
    asked = len(site.requests)
    assert "job 2 done" in cli("sources", "run-due")
    conditional = [h for path, h in site.requests[asked:] if path == "/ko/mou.html"]
    assert conditional and conditional[0].get("if-none-match")  # asked with the page's validator
    assert len(documents(data)) == len(stored)

    runs = [json.loads(line) for line in cli("sources", "history", "jeonnam", "--json").splitlines()]
    assert [r["state"] for r in runs] == ["done", "done"]
    second, first_run = runs
    assert (first_run["new"], first_run["changed"], first_run["unchanged"]) == (len(stored), 0, 0)
    assert (second["new"], second["changed"], second["unchanged"]) == (0, 1, len(stored) - 1)
    assert second["not_modified"] >= 1 and second["fetched"] == first_run["fetched"]
    for run in runs:
        reasons = {f["url"].replace(site.url(""), ""): (f["outcome"], f["reason"]) for f in run["failures"]}
        assert reasons["/private/noi-bo.html"] == ("skipped", "disallowed by robots.txt")
        assert run["failed"] == sum(outcome == "failed" for outcome, _ in reasons.values())
    text = cli("sources", "history", "1")
    assert "0 new, 1 changed" in text and "disallowed by robots.txt" in text
    assert "jeonnam  [weekly, group:partners]" in cli("sources", "list")
    assert "removed source 1" in cli("sources", "remove", "jeonnam")
    assert "no watched sources" in cli("sources", "list") and len(documents(data)) == len(stored)


def test_bad_sources_are_refused_with_reasons(cli: Any) -> None:
    assert "not a regular expression" in cli("sources", "add", "x", "http://example.org/", "--include", "(", code=2)
    assert "not an http(s) URL" in cli("sources", "add", "x", "ftp://example.org/", code=2)
    assert "public, internal or group:NAME" in cli("sources", "add", "x", "http://example.org/", "--visibility",
                                                    "secret", code=2)
    cli("sources", "add", "x", "http://example.org/")
    assert "exists" in cli("sources", "add", "x", "http://example.org/b", code=2)
    assert "no source 'nope'" in cli("sources", "history", "nope", code=1)


def test_the_servers_runner_crawls_a_source_registered_through_the_api(site: FixtureSite, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())
    settings = Settings(data_dir=tmp_path, web_rate_per_minute=0, web_concurrent_per_client=0, jobs_poll_seconds=0.2,
                        crawl_allow_private=1, crawl_delay=0.0, crawl_timeout=2.0, crawl_retries=0)
    with Catalogue.open(settings.catalogue_path) as cat:
        accounts = Accounts(cat)
        accounts.add("ed", "editor", "correct horse battery")
        accounts.add("rita", "reader", "correct horse battery")
        editor, reader = {"Authorization": "Bearer " + accounts.new_token("ed")}, \
            {"Authorization": "Bearer " + accounts.new_token("rita")}
    body = {"name": "ko pages", "seeds": [site.url("/ko/")], "max_depth": 1, "exclude": "/lich|/slow",
            "visibility": "internal", "schedule": "daily"}
    with TestClient(create_app(settings)) as client:
        assert client.post("/api/sources", json=body).status_code == 401
        assert client.post("/api/sources", json=body, headers=reader).status_code == 403
        assert client.get("/api/sources", headers=reader).status_code == 403
        bad = client.post("/api/sources", json={**body, "schedule": "monthly"}, headers=editor)
        assert bad.status_code == 400 and "hourly, daily or weekly" in bad.json()["detail"]
        made = client.post("/api/sources", json=body, headers=editor)
        assert made.status_code == 201, made.text
        source_id = made.json()["id"]
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            shown = client.get(f"/api/sources/{source_id}", headers=editor).json()
            if shown["runs"] and shown["runs"][0]["state"] != "running":
                break
            time.sleep(0.2)
        run = shown["runs"][0]
        assert run["state"] == "done" and run["new"] >= 3 and run["job_id"], run
        job = client.get(f"/api/jobs/{run['job_id']}", headers=editor).json()
        assert job["kind"] == "crawl" and job["source"] == "ko pages" and job["counts"]["new"] == run["new"]
        assert {vis for _u, _k, vis in documents(tmp_path)} == {"internal"}
        assert shown["source"]["next_due_at"] > shown["source"]["last_run_at"]  # a day later

        changed = client.put(f"/api/sources/{source_id}", json={**body, "visibility": "group:ko"}, headers=editor)
        assert changed.status_code == 200 and changed.json()["visibility"] == "group:ko"
        assert {vis for _u, _k, vis in documents(tmp_path)} == {"group:ko"}  # its documents follow at once
        assert "ko pages" in client.get("/sources", headers=editor).text
        assert client.delete(f"/api/sources/{source_id}", headers=editor).json() == {"removed": source_id}
        assert client.get(f"/api/sources/{source_id}", headers=editor).status_code == 404
    with Catalogue.open(settings.catalogue_path) as cat:
        actions = [e.action for e in Accounts(cat).audit_log()]
    assert {"source add", "source update", "source remove"} <= set(actions)
