"""Browser tests: the demo corpus served on a free 127.0.0.1 port, driven by Debian's
headless Chromium through Playwright (`make test` installs chromium; nothing is downloaded)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from viko.web.localserver import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.model]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    missing = not Path(CHROMIUM).exists()
    for item in items:
        if "tests/browser" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)
            if missing:
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} is absent: run `make browser-deps` (apt-get install chromium)"))


@pytest.fixture(scope="session")
def base_url(demo_data: Path) -> Iterator[str]:
    from viko.settings import Settings
    from viko.web.localserver import local_server

    # One browser makes every request from 127.0.0.1: the per-client limit would be a test artefact.
    with local_server(Settings.from_env(env={}, data_dir=demo_data, web_rate_per_minute=0,
                                        web_concurrent_per_client=0)) as url:
        yield url


# Package scope: Playwright's sync API keeps an event loop running on the main thread while
# it is open, which would break later tests that call asyncio.run (the crawler's).
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, base_url: str) -> Iterator[Any]:
    context = browser.new_context(base_url=base_url, locale="en-US", viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    yield tab
    context.close()
