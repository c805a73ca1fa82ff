"""Operations in the browser (issue 25): an admin signs in, clicks "Take a backup" on the admin
page and watches the job page reload itself until the backup is done (a complete folder with
backup.json beside the data directory); an editor registers a watched source through the form
on /sources and finds it listed. A server of its own on a small data directory (the fake
encoder), not the shared demo; the source's seed is a loopback URL and need not be crawled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from viko.settings import Settings

from helpers import FakeEncoder, indexed_small_collection

pytestmark = pytest.mark.timeout(300)
PASSWORD = "correct horse battery"
SOURCE = "Sở KH&CN thử nghiệm"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(the server's URL, its data directory)."""
    from viko.web.localserver import local_server

    folder = tmp_path_factory.mktemp("browser-admin-ops") / "data"
    indexed_small_collection(folder, {"ada": "admin", "ed": "editor"}, PASSWORD)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())
        settings = Settings.from_env(env={}, data_dir=folder, web_rate_per_minute=0, web_concurrent_per_client=0,
                                     jobs_poll_seconds=0.2)
        with local_server(settings) as url:
            yield url, folder


def signed_in(browser: Any, url: str, name: str, target: str) -> tuple[Any, Any]:
    context = browser.new_context(base_url=url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"/login?next={target}")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"**{target}")
    return context, page


def test_an_admin_takes_a_backup_from_the_admin_page(browser: Any, served: tuple[str, Path]) -> None:
    url, folder = served
    context, page = signed_in(browser, url, "ada", "/admin")
    try:
        page.click("text=Take a backup")
        page.wait_for_url("**/jobs/*")
        page.wait_for_selector("#job-state[data-state=done]", timeout=180_000)  # the page reloads itself
        assert "Backup" in page.inner_text("h1")
        taken = [p for p in (folder.parent / "backups").iterdir() if p.is_dir()]
        assert len(taken) == 1 and (taken[0] / "backup.json").is_file()
        assert str(taken[0]) in page.inner_text("main")
    finally:
        context.close()


def test_an_editor_registers_a_source(browser: Any, served: tuple[str, Path]) -> None:
    url, _ = served
    context, page = signed_in(browser, url, "ed", "/sources")
    try:
        page.fill("#add-source input[name=name]", SOURCE)
        page.fill("#add-source textarea[name=seeds]", "http://127.0.0.1:9/tin-tuc")
        page.select_option("#add-source select[name=schedule]", "weekly")
        page.click("#add-source button[type=submit]")
        page.wait_for_url("**/sources/*")
        page.goto("/sources")
        listed = page.inner_text("table.sources")
        assert SOURCE in listed and "http://127.0.0.1:9/tin-tuc" in listed
    finally:
        context.close()
