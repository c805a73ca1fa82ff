"""Signing in and out the way people do, and what each role is offered: the header says who is
signed in, an editor gets the glossary form and a reader none, a refused action (a reader's
crafted form, a form whose CSRF token went stale) ends on a clear 403 page, and signing out
makes the visitor anonymous again."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.model]
PASSWORD = "correct-horse-battery-staple"
PEOPLE = {"erin": "editor", "rob": "reader"}
INTERNAL = "hp-jn-renewable-mou-vi"  # made internal: anonymous visitors never see it


@pytest.fixture(scope="module")
def accounts_url(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo data (a private copy) with an editor, a reader and one internal document."""
    from click.testing import CliRunner

    from viko.cli import main
    from viko.settings import Settings
    from viko.web.localserver import local_server

    folder = tmp_path_factory.mktemp("accounts") / "data"
    shutil.copytree(demo_data, folder)
    runner = CliRunner()
    for name, role in PEOPLE.items():
        done = runner.invoke(main, ["--data", str(folder), "user", "add", name, "--role", role, "--password-stdin"],
                             input=PASSWORD + "\n")
        assert done.exit_code == 0, done.output
    done = runner.invoke(main, ["--data", str(folder), "visibility", INTERNAL, "internal"])
    assert done.exit_code == 0, done.output
    with local_server(Settings.from_env(env={}, data_dir=folder, web_rate_per_minute=0,
                                          web_concurrent_per_client=0)) as url:
        yield url


@pytest.fixture
def tab(browser: Any, accounts_url: str) -> Iterator[Any]:
    context = browser.new_context(base_url=accounts_url, locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def sign_in(tab: Any, name: str, password: str = PASSWORD) -> Any:
    tab.goto("/login?ui=en&next=/glossary")
    tab.fill("input[name=username]", name)
    tab.fill("input[name=password]", password)
    with tab.expect_navigation() as landed:
        tab.click("#login-submit")
    return landed.value


def post_form(tab: Any, action: str, fields: dict[str, str]) -> Any:
    """Submit a form the page does not offer, as a person could craft it (same site)."""
    with tab.expect_navigation() as landed:
        tab.evaluate("""([action, fields]) => {
            const form = document.createElement("form");
            form.method = "post"; form.action = action;
            for (const [name, value] of Object.entries(fields)) {
                const input = document.createElement("input");
                input.type = "hidden"; input.name = name; input.value = value; form.appendChild(input);
            }
            document.body.appendChild(form); form.submit();
        }""", [action, fields])
    return landed.value


def found_ids(tab: Any, query: str) -> list[str]:
    tab.goto(f"/?q={query}")
    links = tab.locator(".results .hit h3 a")
    return [str(links.nth(i).get_attribute("href")) for i in range(links.count())]


def test_sign_in_shows_who_and_sign_out_makes_the_visitor_anonymous(tab: Any) -> None:
    assert not any(INTERNAL in href for href in found_ids(tab, "năng lượng tái tạo Hải Phòng Jeollanam-do"))
    answer = sign_in(tab, "erin")
    assert answer.status == 200 and tab.url.endswith("/glossary")  # back where the visitor was going
    assert tab.inner_text("header .who") == "Signed in as erin (editor)"
    assert any(INTERNAL in href for href in found_ids(tab, "năng lượng tái tạo Hải Phòng Jeollanam-do"))
    with tab.expect_navigation():
        tab.click("#sign-out")
    assert tab.locator("header .who").count() == 0 and tab.locator("#sign-in").is_visible()
    assert not any(INTERNAL in href for href in found_ids(tab, "năng lượng tái tạo Hải Phòng Jeollanam-do"))
    assert tab.goto(f"/doc/{INTERNAL}").status == 404


def test_a_wrong_password_is_refused_on_the_form(tab: Any) -> None:
    answer = sign_in(tab, "erin", "not-the-password")
    assert answer.status == 401 and tab.locator(".error[role=alert]").is_visible()
    assert tab.locator("header .who").count() == 0


def test_an_editor_gets_the_glossary_form_a_reader_none(tab: Any) -> None:
    sign_in(tab, "rob")
    assert tab.inner_text("header .who") == "Signed in as rob (reader)"
    assert tab.locator("form[method=post][action='/glossary']").count() == 0
    with tab.expect_navigation():
        tab.click("#sign-out")
    sign_in(tab, "erin")
    form = tab.locator("form[method=post][action='/glossary']").last
    form.locator("input[name=vi]").fill("pin mặt trời thử nghiệm")
    form.locator("input[name=ko]").fill("시험용 태양전지")
    with tab.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "msg=saved" in tab.url and "pin mặt trời thử nghiệm" in tab.inner_text("main")


def test_a_reader_crafting_the_glossary_form_gets_a_clear_403(tab: Any) -> None:
    sign_in(tab, "rob")
    token = str(tab.locator("input[name=csrf_token]").first.input_value())  # the sign-out form's: valid
    answer = post_form(tab, "/glossary", {"vi": "tuabin gió của rob", "ko": "롭의 풍차", "csrf_token": token})
    assert answer.status == 403
    assert "rob is a reader: this needs the editor role" in tab.inner_text(".error[role=alert]")
    tab.goto("/glossary")
    assert "롭의 풍차" not in tab.inner_text("main")  # nothing was saved


def test_an_anonymous_form_with_a_stale_csrf_token_gets_a_clear_403(tab: Any) -> None:
    tab.goto("/login?ui=en")
    tab.context.clear_cookies()  # the form's token was bound to a cookie the browser no longer has
    tab.fill("input[name=username]", "erin")
    tab.fill("input[name=password]", PASSWORD)
    with tab.expect_navigation() as landed:
        tab.click("#login-submit")
    assert landed.value.status == 403
    assert "CSRF token" in tab.inner_text(".error[role=alert]") and tab.locator("header .who").count() == 0
    answer = post_form(tab, "/glossary", {"vi": "tuabin gió của rob", "ko": "롭의 풍차"})  # and no sign-in at all
    assert answer.status == 401 and "sign in" in tab.inner_text(".error[role=alert]").lower()
