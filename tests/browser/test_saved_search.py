"""Saving a search in the browser (issue 25): a reader signs in, searches, saves the search with
the page's own form, finds it on /saved, and opens its private feed link as a feed reader
would (no cookie: the link's token alone), read with feedparser; a document imported and
indexed afterwards is "new since your last visit" on /saved and the feed's newest entry. A
server of its own on a small data directory (the fake encoder: indexing takes seconds)."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest

from viko.corpus.accounts import Accounts
from viko.corpus.catalogue import Catalogue
from viko.corpus.document import make_document
from viko.settings import Settings

from helpers import SMALL_DOCS, FakeEncoder

pytestmark = pytest.mark.timeout(300)
PASSWORD = "correct horse battery"
WORD = "velkorin"
NOTE = {"id": "note-1", "lang": "vi", "type": "news", "title": "Dự án velkorin khởi động",
        "text": f"Dự án {WORD} khởi động tại Hải Phòng. Dự án {WORD} đào tạo kỹ sư."}
LATER = {"id": "note-2", "lang": "vi", "type": "news", "title": "Dự án velkorin mở rộng",
         "text": f"Dự án {WORD} mở rộng sang Cần Thơ. Dự án {WORD} có đối tác mới."}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    from viko.runtime import run_index
    from viko.web.localserver import local_server

    folder = tmp_path_factory.mktemp("browser-saved")
    with Catalogue.open(folder / "catalogue.sqlite") as cat:
        cat.upsert_many([make_document(d) for d in [*SMALL_DOCS, NOTE]])
        Accounts(cat).add("gina", "reader", PASSWORD)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())
        run_index(Settings(data_dir=folder))
        settings = Settings.from_env(env={}, data_dir=folder, web_rate_per_minute=0, web_concurrent_per_client=0,
                                     jobs_run=False)
        with local_server(settings) as url:
            yield url, folder


def read_feed(url: str) -> feedparser.FeedParserDict:
    with urllib.request.urlopen(url, timeout=30) as answer:  # loopback only
        assert answer.status == 200 and answer.headers["Content-Type"].startswith("application/atom+xml")
        feed = feedparser.parse(answer.read())
    assert not feed.bozo, feed.get("bozo_exception")
    return feed


def test_a_reader_saves_a_search_and_opens_its_feed(browser: Any, served: tuple[str, Path]) -> None:
    from viko.runtime import run_index

    url, folder = served
    context = browser.new_context(base_url=url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"/login?next=/%3Fq%3D{WORD}%26lang%3Dvi")
        page.fill("input[name=username]", "gina")
        page.fill("input[name=password]", PASSWORD)
        page.click("#login-submit")
        page.wait_for_url(f"**/?q={WORD}&lang=vi")
        assert page.locator(".results .hit").count() == 1
        page.fill("#saved-name", "velkorin news")
        with page.expect_navigation():
            page.click("#save-search button[type=submit]")
        feed_url = str(page.locator("#fresh-feed a.feed-link").get_attribute("href"))
        assert feed_url.startswith(f"{url}/saved/") and "token=" in feed_url

        page.click("nav a[href='/saved']")
        page.wait_for_url("**/saved")
        row = page.locator("tr.saved-search", has_text="velkorin news")
        assert row.locator(".new-count").inner_text() == "0"
        assert page.locator("a.feed-link").count() == 0  # the link was shown once

        feed = read_feed(feed_url)
        assert [e.link for e in feed.entries] == [f"{url}/doc/note-1"] and feed.feed.title == "viko: velkorin news"

        time.sleep(1.1)  # the catalogue's times have one-second steps
        with pytest.MonkeyPatch.context() as patch, Catalogue.open(folder / "catalogue.sqlite") as cat:
            cat.upsert_many([make_document(LATER)])
            patch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())
            run_index(Settings(data_dir=folder))
        page.reload()
        assert row.locator(".new-count").inner_text() == "1"
        newest = read_feed(feed_url).entries
        assert [e.link for e in newest] == [f"{url}/doc/note-2", f"{url}/doc/note-1"]
        assert newest[0].title == LATER["title"] and WORD in newest[0].summary

        row.locator("a.open").click()
        page.wait_for_url("**/saved/*")
        assert page.locator(".hits .hit h3 a").all_inner_texts() == [LATER["title"]]
        page.goto("/saved")
        assert page.locator("tr.saved-search .new-count").inner_text() == "0"  # seen
    finally:
        context.close()
