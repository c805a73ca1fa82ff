"""Uploading in the browser (issue 25): an editor signs in, drops two files on the upload
page's drop zone, sends them, and watches the job page reload itself until the job is done,
each file with its outcome; the uploaded document opens from there. A server of its own on a
small data directory (the fake encoder: the job indexes in seconds), not the shared demo."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from viko.settings import Settings

from helpers import FakeEncoder, indexed_small_collection

pytestmark = pytest.mark.timeout(300)
PASSWORD = "correct horse battery"
TEXT = "Biên bản ghi nhớ về hợp tác đào tạo kỹ sư bán dẫn giữa Bắc Ninh và Gumi, ký năm 2025."


@pytest.fixture(scope="module")
def upload_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from viko.web.localserver import local_server

    folder = tmp_path_factory.mktemp("browser-upload")
    indexed_small_collection(folder, {"ed": "editor"}, PASSWORD)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())
        settings = Settings.from_env(env={}, data_dir=folder, web_rate_per_minute=0, web_concurrent_per_client=0,
                                     jobs_poll_seconds=0.2)
        with local_server(settings) as url:
            yield url


def test_an_editor_uploads_files_and_watches_the_job_finish(browser: Any, upload_url: str) -> None:
    context = browser.new_context(base_url=upload_url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto("/login?next=/upload")
        page.fill("input[name=username]", "ed")
        page.fill("input[name=password]", PASSWORD)
        page.click("#login-submit")
        page.wait_for_url("**/upload")
        assert page.locator("nav a[href='/jobs']").count() == 1  # the editor's links

        dropped = page.evaluate_handle("""(texts) => {
            const data = new DataTransfer();
            data.items.add(new File([texts[0]], "ban-dan.txt", {type: "text/plain"}));
            data.items.add(new File(["%PDF-1.4 broken"], "hong.pdf", {type: "application/pdf"}));
            return data;
        }""", [TEXT])
        page.dispatch_event("#drop", "drop", {"dataTransfer": dropped})
        assert page.eval_on_selector("#files", "input => input.files.length") == 2
        page.select_option("select[name=visibility]", "internal")
        page.click("#upload-submit")
        page.wait_for_url("**/jobs/*")

        page.wait_for_selector("#job-state[data-state=done]", timeout=180_000)  # the page reloads itself
        rows = {page.inner_text(f"table.files tr:nth-child({i}) td:first-child"):
                page.inner_text(f"table.files tr:nth-child({i}) td:nth-child(2)") for i in (1, 2)}
        assert rows == {"ban-dan.txt": "added", "hong.pdf": "skipped"}
        assert "unreadable PDF" in page.inner_text("table.files")
        page.click("table.files a")
        assert "Bắc Ninh" in page.inner_text("main")
    finally:
        context.close()
