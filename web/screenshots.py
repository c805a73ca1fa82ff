"""The README's pictures, taken with Debian's headless Chromium:

`python -m viko.web.screenshots DATA_DIR OUT_DIR`: the search and document pages at desktop
and phone width, and the status page (see `make screenshots`);
`python -m viko.web.screenshots --planner DATA_DIR OUT.png`: the session planner, with the
edit controls shown."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import quote

from viko.settings import Settings
from viko.web.localserver import CHROMIUM, CHROMIUM_ARGS, local_server

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
PLANNER_SIZE = (1280, 1000)
QUERY = "하이퐁 전라남도 재생에너지 협약"
DOCUMENT = "hp-jn-renewable-mou-vi"


def pages(base: str) -> dict[str, str]:
    return {"search": f"{base}/?q={quote(QUERY)}&ui=en",
            "search-ko": f"{base}/?q={quote(QUERY)}&lang=vi&ui=ko",
            "document": f"{base}/doc/{DOCUMENT}?q={quote(QUERY)}&ui=vi",
            "status": f"{base}/status?ui=en"}


def take(data_dir: Path, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with local_server(Settings.from_env(data_dir=data_dir)) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        warm = browser.new_page()
        for url in pages(base).values():  # load the model and rank once, so the pages show warm timings
            warm.goto(url)
        warm.close()
        for size, (width, height) in SIZES.items():
            context = browser.new_context(viewport={"width": width, "height": height},
                                          device_scale_factor=1, is_mobile=size == "phone")
            page = context.new_page()
            for name, url in pages(base).items():
                if name == "status" and size == "phone":
                    continue
                page.goto(url)
                path = out / f"{name}-{size}.png"
                page.screenshot(path=str(path), full_page=False)
                written.append(path)
            context.close()
        browser.close()
    return written


def take_planner(data_dir: Path, out: Path) -> Path:
    from playwright.sync_api import sync_playwright

    out.parent.mkdir(parents=True, exist_ok=True)
    settings = Settings.from_env(data_dir=data_dir, admin_token="screenshot")  # shows the edit controls
    with local_server(settings) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": PLANNER_SIZE[0], "height": PLANNER_SIZE[1]}, device_scale_factor=1)
        page.set_default_timeout(120_000)
        page.goto(f"{base}/planner?ui=en")
        page.screenshot(path=str(out), full_page=False)
        browser.close()
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    planner = args[:1] == ["--planner"]
    if len(args) != (3 if planner else 2):
        sys.exit("usage: python -m viko.web.screenshots [--planner] DATA_DIR OUT_DIR (OUT.png with --planner)")
    if planner:
        print(take_planner(Path(args[1]), Path(args[2])))
    else:
        for p in take(Path(args[0]), Path(args[1])):
            print(p)
