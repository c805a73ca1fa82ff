"""The search UI used the way a person uses it: type, click, go back, switch language."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.model]

KOREAN_QUERY = "하이퐁 전라남도 재생에너지 협약"
VI_COUNTERPART = "hp-jn-renewable-mou-vi"
EVIL = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>']


def search(page: Any, text: str) -> None:
    page.goto("/?ui=en")
    page.fill("#q", text)
    page.press("#q", "Enter")
    page.wait_for_load_state()


def total(page: Any) -> int:
    return int(re.match(r"(\d+)", page.inner_text(".summary")).group(1))  # type: ignore[union-attr]


def test_korean_query_finds_the_vietnamese_counterpart(page: Any) -> None:
    search(page, KOREAN_QUERY)
    assert parse_qs(urlparse(page.url).query)["q"] == [KOREAN_QUERY]
    first_page = page.locator(".results .hit h3 a")
    hrefs = [first_page.nth(i).get_attribute("href") for i in range(first_page.count())]
    assert any(h.startswith(f"/doc/{VI_COUNTERPART}") for h in hrefs)
    vi_hit = page.locator(f'.hit:has(h3 a[href^="/doc/{VI_COUNTERPART}"])')
    assert vi_hit.locator(".badge").inner_text() == "VI"
    assert re.search(r"[ăâđêôơư]", vi_hit.locator(".snippet").inner_text())  # its own (Vietnamese) passage
    assert page.locator(".results mark").count() > 0


def test_apply_and_remove_a_facet_and_go_back(page: Any) -> None:
    search(page, KOREAN_QUERY)
    everything = total(page)
    page.click('.facet a:has-text("Vietnamese")')
    assert parse_qs(urlparse(page.url).query)["lang"] == ["vi"]
    filtered = total(page)
    assert 0 < filtered < everything
    badges = page.locator(".results .hit .badge").all_inner_texts()
    assert badges and set(badges) == {"VI"}
    page.click('.facet a:has-text("Agreement")')  # facets combine
    assert total(page) <= filtered and set(page.locator(".results .hit .badge").all_inner_texts()) <= {"VI"}
    page.go_back()
    assert total(page) == filtered
    page.click(".chip")  # remove the language filter from the chip above the results
    assert "lang" not in parse_qs(urlparse(page.url).query) and total(page) == everything


def test_open_a_document_then_counterpart_then_related(page: Any) -> None:
    search(page, KOREAN_QUERY)
    page.click(f'.hit h3 a[href^="/doc/{VI_COUNTERPART}"]')
    assert urlparse(page.url).path == f"/doc/{VI_COUNTERPART}"
    assert page.locator("article p.best").count() > 0  # best-matching passages marked
    page.click("#counterpart-link")
    assert urlparse(page.url).path == "/doc/hp-jn-renewable-mou-ko"
    assert page.locator("article").get_attribute("lang") == "ko"
    related = page.locator(".related .hit h3 a")
    assert related.count() >= 3
    langs = set(page.locator(".related .hit .badge").all_inner_texts())
    assert langs == {"VI", "KO"}  # related documents in both languages
    target = related.first.get_attribute("href")
    related.first.click()
    assert urlparse(page.url).path == target.split("?")[0] and page.locator("article h1").is_visible()


def test_switch_the_interface_language(page: Any) -> None:
    search(page, KOREAN_QUERY)
    page.click('.ui-switch a:has-text("한국어")')
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.inner_text("label[for=q]") == "검색어" and "문서" in page.inner_text(".summary")
    assert parse_qs(urlparse(page.url).query)["q"] == [KOREAN_QUERY]  # the search is kept
    page.goto("/status")  # remembered
    assert page.locator("h1").inner_text() == "상태"
    page.click('.ui-switch a:has-text("Tiếng Việt")')
    assert page.locator("h1").inner_text() == "Trạng thái"


def test_injection_strings_render_as_text(page: Any) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for text in EVIL:
        search(page, text)
        assert page.input_value("#q") == text
        assert page.locator("img").count() == 0 and page.locator("main script").count() == 0
        page.goto("/doc/" + text.replace("<", "%3C").replace(">", "%3E").replace('"', "%22"))
        assert page.locator("h1").inner_text() == "Not found" and text in page.inner_text(".error")
    assert dialogs == []


def test_nonsense_query_says_so_instead_of_a_blank_page(page: Any) -> None:
    search(page, "xyzzy qwertz plugh")
    assert "No document matches" in page.inner_text(".empty")


def test_works_without_javascript(browser: Any, base_url: str) -> None:
    context = browser.new_context(base_url=base_url, java_script_enabled=False, locale="vi-VN")
    page = context.new_page()
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "vi"  # from Accept-Language
    page.fill("#q", "điện gió ngoài khơi")
    page.click("form.search button")
    assert page.locator(".results .hit").count() > 0
    page.click('.facet a:has-text("Tiếng Hàn")')
    assert set(page.locator(".results .hit .badge").all_inner_texts()) == {"KO"}
    context.close()


def test_keyboard_shortcuts_and_phone_width(browser: Any, base_url: str) -> None:
    context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto("/?q=" + KOREAN_QUERY)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at phone width ({width}px)"
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.closest('.hit') !== null")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    context.close()


def test_syntax_help_popover_opens_by_the_box(page: Any) -> None:
    page.goto("/?ui=en")
    help_box = page.locator("details.syntax")
    assert help_box.is_visible() and not page.locator("details.syntax dl").is_visible()
    page.click("details.syntax summary")
    assert page.locator("details.syntax dl").is_visible()
    assert "type:offer" in help_box.inner_text() and "after:2024-06" in help_box.inner_text()


def test_operators_typed_in_the_box_filter_the_results(page: Any) -> None:
    search(page, "nuôi tôm type:demand")
    types = page.locator(".results .hit .meta").all_inner_texts()
    assert types and all("demand" in t.lower() for t in types)
    search(page, "RAS -nuôi")
    assert total(page) > 0 and all(lang == "KO" for lang in page.locator(".results .hit .badge").all_inner_texts())


def test_searched_as_and_search_exactly_as_typed(page: Any) -> None:
    search(page, "dien mat troi ap mai")
    notice = page.locator(".searched-as")
    assert "Searched as:" in notice.inner_text() and "điện mặt trời áp mái" in notice.inner_text()
    page.click(".searched-as a.as-typed")
    assert parse_qs(urlparse(page.url).query)["exact"] == ["1"]
    assert page.input_value("#q") == "dien mat troi ap mai"
    assert "Searched exactly as typed" in page.inner_text(".searched-as")


def test_pager_shows_every_near_page_and_an_ellipsis(page: Any) -> None:
    page.goto("/?ui=en&q=hợp+tác&limit=2")
    assert total(page) >= 16, "the demo should give this query many results"
    page.click('.pager a[aria-label="Page 3"]')
    labels = [t.strip() for t in page.locator(".pager > *").all_inner_texts()]
    assert labels[1:7] == ["1", "2", "3", "4", "5", "…"], labels  # no page left out near the current one
    page.goto("/?ui=en&q=hợp+tác&limit=1&page=8")
    labels = [t.strip() for t in page.locator(".pager > *").all_inner_texts()]
    last = labels[-2]
    assert int(last) >= 16 and labels[1:9] == ["1", "…", "6", "7", "8", "9", "10", "…"], labels
    page.goto(f"/?ui=en&q=hợp+tác&limit=1&page={int(last) // 2}")
    labels = [t.strip() for t in page.locator(".pager > *").all_inner_texts()]
    assert labels.count("…") == 2 and labels[1] == "1" and labels[-2] == last


def test_export_link_gives_every_result(page: Any) -> None:
    search(page, "hợp tác type:agreement")
    found = total(page)
    csv_link = page.locator('.export a:has-text("CSV")')
    response = page.request.get(csv_link.get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"].startswith("text/csv")
    lines = response.text().lstrip("\ufeff").strip().splitlines()
    assert lines[0].startswith("rank,id,lang,title") and len(lines) == found + 1 > 2  # all pages, not one
    xlsx = page.request.get(page.locator('.export a:has-text("XLSX")').get_attribute("href"))
    assert xlsx.status == 200 and xlsx.body()[:2] == b"PK" and xlsx.headers["x-viko-total"] == str(found)


def test_a_pasted_paragraph_keeps_its_words_apart(page: Any) -> None:
    page.goto("/?ui=en")
    page.focus("#q")
    page.evaluate("""() => {
        const data = new DataTransfer();
        data.setData("text/plain", "điện mặt trời\\náp mái\\n\\nnhà máy");
        document.getElementById("q").dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
    }""")
    assert page.input_value("#q") == "điện mặt trời áp mái nhà máy"
    # never cut silently: no maxlength; the hint says the limit and a longer query gets its length back
    assert page.get_attribute("#q", "maxlength") is None and "5,000" in page.inner_text("#hint")
    search(page, "x" * 5001)
    assert "5001 characters long; the limit is 5000" in page.inner_text(".error")
