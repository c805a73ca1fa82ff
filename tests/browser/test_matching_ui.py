"""The match page and the session planner used the way staff use them: open a demand, read
why an offer fits, lock and remove meetings, re-plan, download the agenda and the briefs."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.model]
TOKEN = "planner-token-0123456789"
ORGANISER, READER, PASSWORD = "olga", "rob", "organiser-pass-0123"
DEMAND = "hp-greenhouse-climate-demand-vi"


@pytest.fixture(scope="module")
def planner_url(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with the operator token on a private copy of the demo data (the planner writes)."""
    from viko.corpus.accounts import Accounts
    from viko.corpus.catalogue import Catalogue
    from viko.settings import Settings
    from viko.web.localserver import local_server

    folder = tmp_path_factory.mktemp("planner") / "data"
    shutil.copytree(demo_data, folder)
    with Catalogue.open(folder / "catalogue.sqlite") as cat:  # the planner is the organisers'
        Accounts(cat).add(ORGANISER, "organiser", PASSWORD)
        Accounts(cat).add(READER, "reader", PASSWORD)
    with local_server(Settings.from_env(env={}, data_dir=folder, admin_token=TOKEN,
                                          web_rate_per_minute=0, web_concurrent_per_client=0)) as url:
        yield url


@pytest.fixture
def tab(browser: Any, planner_url: str) -> Iterator[Any]:
    context = browser.new_context(base_url=planner_url, locale="en-US", viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    sign_in(page, ORGANISER)
    yield page
    context.close()


def sign_in(page: Any, name: str) -> None:
    page.goto("/login?ui=en")
    page.locator("input[name=username]").fill(name)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("#login-submit").click()
    page.wait_for_load_state()


def meetings(tab: Any) -> list[tuple[str, str]]:
    rows = tab.locator("tr.meeting")
    return [(rows.nth(i).get_attribute("data-demand"), rows.nth(i).get_attribute("data-offer")) for i in range(rows.count())]


def test_match_page_shows_the_answering_offer_with_reasons(tab: Any) -> None:
    tab.goto(f"/match/{DEMAND}?ui=en")
    first = tab.locator(".match").first
    assert "jn-greenhouse-sensor-offer-ko" in first.locator("h3 a").get_attribute("href")
    assert first.locator(".badge").inner_text() == "KO"
    assert first.locator(".terms mark").count() > 0
    first.locator("details summary").click()
    assert first.locator("details td").nth(1).is_visible()
    first.locator("h3 a").click()  # the offer's own page lists the demands it answers
    tab.wait_for_load_state()
    assert "Demands this offer answers" in tab.inner_text("main")
    assert tab.locator(f'.match h3 a[href="/match/{DEMAND}"]').count() == 1


def test_planner_lock_remove_replan_and_download(tab: Any, tmp_path: Path) -> None:
    tab.goto("/planner?ui=en")
    before = meetings(tab)
    assert len(before) >= 4
    locked_pair, removed_pair = before[0], before[1]
    row = tab.locator(f'tr.meeting[data-demand="{locked_pair[0]}"][data-offer="{locked_pair[1]}"]')
    row.locator("button[value=lock]").click()
    tab.wait_for_load_state()
    assert tab.locator("tr.meeting.locked").count() == 1
    row = tab.locator(f'tr.meeting[data-demand="{removed_pair[0]}"][data-offer="{removed_pair[1]}"]')
    row.locator("button[value=remove]").click()
    tab.wait_for_load_state()
    assert removed_pair not in meetings(tab)
    form = tab.locator("form.replan")
    form.locator("input[name=slots]").fill("2")
    form.locator("button[value=replan]").click()
    tab.wait_for_load_state()
    after = meetings(tab)
    assert locked_pair in after and removed_pair not in after
    assert tab.locator("table.schedule").count() == 2
    with tab.expect_download() as info:
        tab.locator('a[href="/api/planner/agenda.csv"]').click()
    saved = tmp_path / "agenda.csv"
    info.value.save_as(saved)
    text = saved.read_text(encoding="utf-8-sig")
    assert text.startswith("slot,time,table,demand_organisation") and locked_pair[0] in text
    with tab.expect_download() as info:
        tab.locator('a[href="/api/planner/briefs.html"]').click()
    assert info.value.suggested_filename == "briefs.html"


def test_a_stale_form_changes_nothing(tab: Any) -> None:
    """A form whose CSRF token is not this session's (a page from an earlier sign-in, or another
    site's forged form) is refused with a clear page, and the plan stays as it was."""
    tab.goto("/planner?ui=en")
    before = meetings(tab)
    row = tab.locator("tr.meeting").first
    row.locator("input[name=csrf_token]").evaluate("e => e.value = 'stale'")
    row.locator("button[value=remove]").click()
    tab.wait_for_load_state()
    assert "CSRF" in tab.inner_text("main")
    tab.goto("/planner?ui=en")
    assert meetings(tab) == before


def test_a_reader_is_offered_no_planner(browser: Any, planner_url: str) -> None:
    context = browser.new_context(base_url=planner_url, locale="en-US")
    page = context.new_page()
    try:
        sign_in(page, READER)
        assert page.locator('nav a[href="/planner"]').count() == 0
        answer = page.goto("/planner?ui=en")
        assert answer is not None and answer.status == 403 and "organiser" in page.inner_text("main")
    finally:
        context.close()


def test_briefs_print_one_a4_page_per_meeting(tab: Any, tmp_path: Path) -> None:
    """The briefs printed to PDF by headless Chromium: exactly one page per meeting."""
    import io

    from pypdf import PdfReader

    tab.goto("/api/planner?ui=en")
    count = len(tab.evaluate("() => JSON.parse(document.body.innerText).meetings"))
    assert count >= 4
    with tab.expect_download() as info:  # as staff do: download the briefs, open the file, print it
        tab.goto("/planner?ui=en")
        tab.locator('a[href="/api/planner/briefs.html"]').click()
    saved = tmp_path / "briefs.html"
    info.value.save_as(saved)
    tab.goto(saved.as_uri())
    assert tab.locator("article.brief").count() == count
    pdf = tab.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == count
    first = reader.pages[0].extract_text()
    assert "Table" in first and "09:" in first


@pytest.mark.parametrize("path", ["/planner?ui=vi", "/planner?ui=ko", f"/match/{DEMAND}?ui=vi",
                                  "/match/hp-shrimp-ras-demand-ko?ui=ko"])
def test_pages_fit_a_390px_phone(browser: Any, planner_url: str, path: str) -> None:
    context = browser.new_context(base_url=planner_url, viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        if path.startswith("/planner"):
            sign_in(page, ORGANISER)
        page.goto(path)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"{path}: {width}px wide"
        hidden = page.evaluate("() => [...document.querySelectorAll('.table-wrap')]"
                               ".filter(w => w.scrollWidth > w.clientWidth + 1).length")
        assert hidden == 0, f"{path}: {hidden} tables scroll sideways inside the page"
        if path.startswith("/planner"):
            score = page.locator("tr.meeting td.score").first
            box = score.bounding_box()
            assert box is not None and box["x"] + box["width"] <= 390  # the score column is not cut
            text = page.inner_text("main")
            assert "(optimal)" not in text and ("tối ưu" in text or "최적" in text)
    finally:
        context.close()
