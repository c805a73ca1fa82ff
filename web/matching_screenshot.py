"""`python -m viko.web.matching_screenshot DATA_DIR OUT.png`: the session planner as the README
shows it, taken like web/screenshots.py with Debian's headless Chromium."""

from __future__ import annotations

import sys
from pathlib import Path

from viko.web.localserver import CHROMIUM, CHROMIUM_ARGS, local_server

from viko.settings import Settings

SIZE = (1280, 1000)


def take(data_dir: Path, out: Path) -> Path:
    from playwright.sync_api import sync_playwright

    out.parent.mkdir(parents=True, exist_ok=True)
    settings = Settings.from_env(data_dir=data_dir, admin_token="screenshot")  # shows the edit controls
    with local_server(settings) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": SIZE[0], "height": SIZE[1]}, device_scale_factor=1)
        page.set_default_timeout(120_000)
        page.goto(f"{base}/planner?ui=en")
        page.screenshot(path=str(out), full_page=False)
        browser.close()
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m viko.web.matching_screenshot DATA_DIR OUT.png")
    print(take(Path(sys.argv[1]), Path(sys.argv[2])))
