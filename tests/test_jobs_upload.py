"""Uploads in the browser and through the API, run as background jobs (issue 25, items 1-2):
the job's id, its progress reaching done, each file's outcome and reason (a hostile file
refused with its own), the uploaded document found by search with its visibility, refusals
(anonymous 401, a reader 403, a session without its CSRF token 403), and a job left running by
a killed server marked failed when the next runner starts. The server's own job runner does
the work (a TestClient used as a context manager runs the app's startup); the fake encoder
keeps the index fast."""

from __future__ import annotations

import csv
import io
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from viko.corpus import jobs
from viko.corpus.accounts import Accounts
from viko.corpus.catalogue import Catalogue
from viko.jobs import INTERRUPTED, RUNNER_LOCK, JobRunner, Tracker
from viko.locking import data_lock
from viko.settings import Settings
from viko.web.app import create_app

import hostile
from helpers import FakeEncoder, indexed_small_collection

PASSWORD = "correct horse battery"
UNIQUE = "Zorblaxtrom"  # a word no other document holds
DEADLINE = 120.0  # seconds a job may take on a loaded 2-core machine
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """Four documents indexed, an editor, another editor and a reader, each with an API token."""
    folder = tmp_path_factory.mktemp("uploads")
    yield folder, indexed_small_collection(folder, {"ed": "editor", "eve": "editor", "rita": "reader"}, PASSWORD)


@pytest.fixture
def server(data: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())
    settings = Settings(data_dir=data[0], web_rate_per_minute=0, web_concurrent_per_client=0, jobs_poll_seconds=0.2)
    with TestClient(create_app(settings)) as client:  # startup starts the job runner; shutdown stops it
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_done(client: TestClient, job_id: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}", headers=headers or {}).json()
        if job["state"] in ("done", "failed"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {DEADLINE} s: {job}")


def sign_in(client: TestClient, name: str) -> str:
    """Signs the client in; the CSRF token its forms carry."""
    form = client.get("/login").text
    answer = client.post("/login", data={"username": name, "password": PASSWORD, "next": "/",
                                         "csrf_token": csrf_of(form)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]
    return csrf_of(client.get("/upload").text)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the form"
    return found.group(1)


def test_an_upload_is_stored_indexed_and_searchable(server: TestClient, data: tuple[Path, dict[str, str]]) -> None:
    tokens = data[1]
    text = f"Hợp tác {UNIQUE} về năng lượng hydro xanh giữa Đà Nẵng và Ulsan, tuabin gió ngoài khơi.".encode()
    files = [("files", ("hydro.txt", text, "text/plain")),
             ("files", ("bomb.docx", hostile.docx_with_part(100), "application/octet-stream")),
             ("files", ("setup.exe", b"MZ\x90\x00", "application/octet-stream"))]
    answer = server.post("/api/upload", headers=bearer(tokens["ed"]), files=files,
                         data={"visibility": "internal", "type": "report"})
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["job"]
    assert answer.json()["url"] == f"/jobs/{job_id}"

    job = wait_done(server, job_id, bearer(tokens["ed"]))
    assert job["state"] == "done", job
    assert (job["kind"], job["actor"], job["percent"], job["done"]) == ("upload", "ed", 100, job["total"])
    assert job["seconds_left"] is None and "index:" in job["message"]
    outcome = {f["name"]: f for f in job["files"]}
    assert outcome["hydro.txt"]["outcome"] == "added" and outcome["hydro.txt"]["doc_id"]
    assert outcome["bomb.docx"]["outcome"] == "skipped" and "64 MB" in outcome["bomb.docx"]["reason"]
    assert outcome["setup.exe"]["outcome"] == "skipped" and "not a supported type (.exe)" in outcome["setup.exe"]["reason"]
    assert str(data[0]) not in str(job)  # no server folder in what the API shows

    found = server.get("/api/search", params={"q": UNIQUE}, headers=bearer(tokens["rita"])).json()
    assert [h["id"] for h in found["hits"]] == [outcome["hydro.txt"]["doc_id"]] and found["hits"][0]["type"] == "report"
    assert server.get("/api/search", params={"q": UNIQUE}).json()["total"] == 0  # internal: not for the anonymous

    again = server.post("/api/upload", headers=bearer(tokens["ed"]), files=[("files", ("hydro.txt", text, "text/plain"))],
                        data={"visibility": "internal", "type": "report"})
    same = wait_done(server, again.json()["job"], bearer(tokens["ed"]))
    assert [f["outcome"] for f in same["files"]] == ["unchanged"]  # the same file is the same document
    with Catalogue.open(data[0] / "catalogue.sqlite") as cat:
        audit = [e for e in Accounts(cat).audit_log() if e.action == "upload"]
    assert audit[-1].actor == "ed" and "hydro.txt" in audit[-1].detail and "bomb.docx" in audit[-1].detail


def test_who_may_upload_and_see_a_job(server: TestClient, data: tuple[Path, dict[str, str]]) -> None:
    tokens = data[1]
    files = [("files", ("note.txt", b"Ghi chu ngan ve hop tac.", "text/plain"))]
    assert server.post("/api/upload", files=files).status_code == 401
    refused = server.post("/api/upload", headers=bearer(tokens["rita"]), files=files)
    assert refused.status_code == 403 and "editor" in refused.json()["detail"]
    assert server.get("/upload").status_code == 401
    assert server.get("/upload", headers=bearer(tokens["rita"])).status_code == 403

    job_id = server.post("/api/upload", headers=bearer(tokens["ed"]), files=files).json()["job"]
    wait_done(server, job_id, bearer(tokens["ed"]))
    assert server.get(f"/api/jobs/{job_id}").status_code == 401
    assert server.get(f"/api/jobs/{job_id}", headers=bearer(tokens["rita"])).status_code == 403
    assert server.get(f"/api/jobs/{job_id}", headers=bearer(tokens["eve"])).json()["files"][0]["name"] == "note.txt"
    assert job_id not in [j["id"] for j in server.get("/api/jobs", headers=bearer(tokens["rita"])).json()["jobs"]]
    assert job_id in [j["id"] for j in server.get("/api/jobs", headers=bearer(tokens["eve"])).json()["jobs"]]
    assert server.get("/api/jobs/999999", headers=bearer(tokens["ed"])).status_code == 404

    empty = server.post("/api/upload", headers=bearer(tokens["ed"]), files=[("files", ("x.bin", b"1", "text/plain"))])
    assert empty.status_code == 400 and "not a supported type" in empty.json()["detail"]
    bad = server.post("/api/upload", headers=bearer(tokens["ed"]), files=files, data={"visibility": "secret"})
    assert bad.status_code == 400 and "public, internal or group:NAME" in bad.json()["detail"]


def test_the_upload_page_with_a_session(server: TestClient, data: tuple[Path, dict[str, str]]) -> None:
    csrf = sign_in(server, "ed")
    page = server.get("/upload").text
    assert 'type="file" name="files" id="files" multiple' in page and 'href="/jobs"' in page
    sheet = io.StringIO()
    writer = csv.writer(sheet)
    writer.writerow(["Tên công nghệ", "Tên doanh nghiệp", "Lĩnh vực"])
    writer.writerow([f"Công nghệ {UNIQUE} lọc nước mặn", "Công ty Nước Sạch", "môi trường"])
    writer.writerow(["", "Công ty Không Tên", "năng lượng"])  # no title: rejected with its reason
    files = [("files", ("offers.csv", sheet.getvalue().encode(), "text/csv"))]
    no_csrf = server.post("/upload", files=files, data={"records": "offer"}, follow_redirects=False)
    assert no_csrf.status_code == 403 and "CSRF" in no_csrf.text
    sent = server.post("/upload", files=files, data={"records": "offer", "visibility": "group",
                                                     "group": "partners", "csrf_token": csrf}, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"].startswith("/jobs/")
    job_id = int(sent.headers["location"].rsplit("/", 1)[1])
    job = wait_done(server, job_id)
    assert job["state"] == "done" and job["files"][0]["outcome"] == "added"
    assert "1 offers: 1 added" in job["files"][0]["reason"] and "row 3: the title is empty" in job["files"][0]["reason"]
    shown = server.get(f"/jobs/{job_id}")
    assert shown.status_code == 200 and 'data-state="done"' in shown.text and "Refresh" not in shown.headers
    assert "offers.csv" in shown.text and "row 3: the title is empty" in shown.text
    with Catalogue.open(data[0] / "catalogue.sqlite") as cat:
        row = cat.conn.execute("SELECT type, visibility FROM documents WHERE title LIKE ?", (f"%{UNIQUE} lọc%",)).fetchone()
    assert tuple(row) == ("offer", "group:partners")
    listing = server.get("/jobs").text
    assert f'href="/jobs/{job_id}"' in listing and 'href="/upload"' in listing


def test_progress_estimates_the_time_left_from_the_rate(tmp_path: Path) -> None:
    with Catalogue.open(tmp_path / "catalogue.sqlite") as cat:
        job = jobs.claim(cat, jobs.enqueue(cat, "index", "ed"))
        assert job is not None
        tracker = Tracker(cat, job, threading.Event())
        tracker("embedding", 0, 100)
        tracker.since -= 10.0  # ten seconds ago
        assert tracker.seconds_left(time.monotonic(), 25, 100) == pytest.approx(30.0, abs=0.5)  # 25 in 10 s: 75 in 30 s
        tracker("embedding", 100, 100)
        stored = jobs.get(cat, job.id)
        assert stored is not None and (stored.stage, stored.done, stored.total) == ("embedding", 100, 100)
        tracker.cancel.set()
        with pytest.raises(Exception, match="cancelled"):
            tracker("embedding", 1, 2)


def test_a_job_left_running_by_a_killed_server_fails_at_the_next_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, jobs_poll_seconds=0.1)
    with Catalogue.open(settings.catalogue_path) as cat:
        job_id = jobs.enqueue(cat, "index", "ed")
        assert jobs.claim(cat, job_id) is not None  # running, and its process is gone
    with data_lock(tmp_path, name=RUNNER_LOCK):  # another live runner (a worker process) holds the jobs
        other = JobRunner(settings)
        other.start()
        time.sleep(0.5)
        other.stop(5)
        with Catalogue.open(settings.catalogue_path) as cat:
            assert jobs.get(cat, job_id).state == "running"  # type: ignore[union-attr]  # not this runner's to judge
    runner = JobRunner(settings)
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with Catalogue.open(settings.catalogue_path) as cat:
                job = jobs.get(cat, job_id)
            if job is not None and job.state != "running":
                break
            time.sleep(0.1)
    finally:
        runner.stop(5)
    assert job is not None and job.state == "failed" and job.message == INTERRUPTED and job.finished_at


def test_a_job_waits_for_another_index_run_and_a_stopping_server_cancels_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())
    settings = Settings(data_dir=tmp_path, jobs_poll_seconds=0.1)
    with Catalogue.open(settings.catalogue_path) as cat:
        job_id = jobs.enqueue(cat, "index", "ed")
    runner = JobRunner(settings)
    with data_lock(tmp_path):  # `viko index` is running
        runner.start()
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with Catalogue.open(settings.catalogue_path) as cat:
                    job = jobs.get(cat, job_id)
                if job is not None and job.stage == "waiting for the index":
                    break
                time.sleep(0.1)
            assert job is not None and job.state == "running" and "another `viko index` is running" in job.message
            assert str(tmp_path) not in job.message  # the server's folders are not shown
        finally:
            runner.stop(0.5)  # the job cannot finish in time: cancelled
    with Catalogue.open(settings.catalogue_path) as cat:
        job = jobs.get(cat, job_id)
    assert job is not None and job.state == "failed" and job.message.startswith("cancelled")
