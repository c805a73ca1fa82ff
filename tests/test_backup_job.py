"""Backups as background jobs (issue 25): an admin's `POST /api/backup` queues a job that the
server's runner takes to done, leaving a complete backup (backup.json, every checksum right) in
a new folder of backup_dir named by the UTC time; the admin page's form does the same with its
CSRF token; an editor is refused (403), the anonymous asked to sign in (401); a backup_dir
inside the data directory is the job's failure with its reason. Migration 0015 lets a catalogue
made before it hold backup jobs, its jobs kept. The fake encoder keeps the index fast."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from viko.backup import BACKUP_MANIFEST, verify
from viko.corpus import jobs
from viko.corpus.accounts import Accounts
from viko.corpus.catalogue import Catalogue, _migrations
from viko.settings import Settings
from viko.web.app import create_app

from helpers import indexed_small_collection

PASSWORD = "correct horse battery"
DEADLINE = 120.0  # seconds a job may take on a loaded 2-core machine
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """Indexed documents, an admin and an editor with API tokens."""
    folder = tmp_path_factory.mktemp("backup-job") / "data"
    yield folder, indexed_small_collection(folder, {"ada": "admin", "ed": "editor"}, PASSWORD)


def client_for(data_dir: Path, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(data_dir=data_dir, web_rate_per_minute=0, web_concurrent_per_client=0,
                                          jobs_poll_seconds=0.2, **settings)))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_finished(client: TestClient, job_id: int, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}", headers=headers).json()
        if job["state"] in ("done", "failed"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {DEADLINE} s: {job}")


def test_an_admin_takes_a_backup_through_the_api(data: tuple[Path, dict[str, str]]) -> None:
    folder, tokens = data
    assert Settings(data_dir=folder).backup_root == folder.absolute().parent / "backups"  # the default
    with client_for(folder) as client:  # startup starts the job runner
        answer = client.post("/api/backup", headers=bearer(tokens["ada"]))
        assert answer.status_code == 202, answer.text
        job = wait_finished(client, answer.json()["job"], bearer(tokens["ada"]))
    assert job["state"] == "done", job
    assert job["kind"] == "backup"
    taken = [p for p in (folder.parent / "backups").iterdir() if p.is_dir()]
    assert len(taken) == 1 and re.fullmatch(r"\d{8}T\d{6}Z(-job\d+)?", taken[0].name)
    assert (taken[0] / BACKUP_MANIFEST).is_file() and not (taken[0] / "backup.partial").exists()
    manifest = verify(taken[0])  # every checksum matches
    assert manifest.generation and any(f.path == "catalogue.sqlite" for f in manifest.files)
    assert str(taken[0]) in job["message"]
    with Catalogue.open(folder / "catalogue.sqlite") as cat:
        stored = jobs.get(cat, job["id"])
        assert stored is not None and stored.detail["folder"] == str(taken[0])
        assert stored.detail["backup"]["files"] == len(manifest.files)
        assert any(e.action == "backup" and e.actor == "ada" for e in Accounts(cat).audit_log(10))


def test_editors_and_the_anonymous_are_refused(data: tuple[Path, dict[str, str]]) -> None:
    folder, tokens = data
    with client_for(folder, jobs_run=False) as client:
        assert client.post("/api/backup", headers=bearer(tokens["ed"])).status_code == 403
        assert client.post("/api/backup").status_code == 401
        assert client.post("/admin/backup", follow_redirects=False).status_code == 401
    with Catalogue.open(folder / "catalogue.sqlite") as cat:
        assert not [j for j in jobs.recent(cat) if j.kind == "backup" and j.actor != "ada"]


def test_the_admin_form_needs_its_csrf_token_and_opens_the_job(data: tuple[Path, dict[str, str]]) -> None:
    folder, _ = data
    with client_for(folder, jobs_run=False) as client:
        login = client.get("/login").text
        client.post("/login", data={"username": "ada", "password": PASSWORD, "next": "/",
                                    "csrf_token": csrf_of(login)}, follow_redirects=False)
        page = client.get("/admin").text
        assert 'action="/admin/backup"' in page and "Take a backup" in client.get(
            "/admin", headers={"Accept-Language": "en"}).text
        assert client.post("/admin/backup", follow_redirects=False).status_code == 403  # no CSRF token
        answer = client.post("/admin/backup", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
        assert answer.status_code == 303 and re.fullmatch(r"/jobs/\d+", answer.headers["location"])
        queued = client.get("/api" + answer.headers["location"]).json()
        assert queued["kind"] == "backup" and queued["state"] == "queued"


def test_a_backup_dir_inside_the_data_directory_fails_with_why(data: tuple[Path, dict[str, str]]) -> None:
    folder, tokens = data
    with client_for(folder, backup_dir=str(folder / "backups")) as client:
        answer = client.post("/api/backup", headers=bearer(tokens["ada"]))
        job = wait_finished(client, answer.json()["job"], bearer(tokens["ada"]))
    assert job["state"] == "failed" and "must not contain each other" in job["message"], job
    assert not (folder / "backups").exists() or not any((folder / "backups").rglob(BACKUP_MANIFEST))


def test_migration_0015_keeps_the_jobs_of_an_older_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.sqlite"
    conn = sqlite3.connect(path)  # a catalogue as it was before 0015, with a job in it
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for version, _name, sql in _migrations():
        if version < 15:
            conn.executescript("BEGIN;" + sql + f";INSERT INTO schema_version VALUES ({version});COMMIT;")
    conn.execute("INSERT INTO jobs (kind, actor, created_at, message) VALUES ('index', 'ed', 'then', 'old')")
    conn.commit()
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO jobs (kind, created_at) VALUES ('backup', 'now')")
    conn.close()
    with Catalogue.open(path) as cat:
        old = jobs.get(cat, 1)
        assert old is not None and (old.kind, old.actor, old.message) == ("index", "ed", "old")
        assert jobs.enqueue(cat, "backup", "ada") == 2
        assert [j.kind for j in jobs.recent(cat)] == ["backup", "index"]
        assert cat.conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name='jobs_state'").fetchone()[0] == 1


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the form"
    return found.group(1)
