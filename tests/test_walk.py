"""What users run, run as they run it: the installed `viko` command from a directory outside the
checkout, against the demo index served by `viko serve`.

- every command and sub-command answers `--help`;
- the commands that write files write files that open (agenda, briefs, TMX, TBX);
- every page and download reachable by following links from the home page and the main pages
  (same host, at most MAX_URLS) answers without a server error, in HTML and in JSON.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urldefrag, urljoin, urlsplit

import httpx
import pytest

pytestmark = pytest.mark.model

VIKO = Path(sys.executable).with_name("viko")
MAX_URLS = 400
# Facet, pager and sort links multiply one page into thousands of URLs: a few of each shape
# (page family and parameter names) are walked, so every family is reached within MAX_URLS.
PER_SHAPE = 6
# Where a person starts: the home page, a search, and each page family's entry point.
START = ["/", "/?q=n%C4%83ng+l%C6%B0%E1%BB%A3ng+t%C3%A1i+t%E1%BA%A1o", "/?q=%ED%83%9C%EC%96%91%EA%B4%91",
         "/?q=rooftop+solar", "/?q=xyzzy+quux", "/status", "/matching", "/planner", "/concordance?q=h%E1%BB%A3p+t%C3%A1c",
         "/glossary", "/align", "/docs", "/openapi.json"]
# Links that leave the page family or change state when followed are not walked.
SKIP_PREFIXES = ("/static/", "/logout")
# The walk goes as an admin (the operator's token), who is offered every page and download;
# what an anonymous visitor may reach is walked by tests/test_leaks.py.
TOKEN = "a-walking-admin-token-0123"
ADMIN = {"X-Viko-Token": TOKEN}


def _environment(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIKO_")}
    env.update(PYTHONSAFEPATH="1", VIKO_WEB_RATE_PER_MINUTE="0", VIKO_WEB_CONCURRENT_PER_CLIENT="0",
               HOME=str(tmp))
    return env


def viko(*args: str, cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VIKO), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _commands() -> list[list[str]]:
    """Every command path of the CLI, sub-commands of groups included."""
    import click

    from viko.cli import main

    paths: list[list[str]] = []

    def walk(group: click.Group, prefix: list[str]) -> None:
        for name, command in sorted(group.commands.items()):
            paths.append([*prefix, name])
            if isinstance(command, click.Group):
                walk(command, [*prefix, name])

    walk(main, [])
    return paths


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory that is not the checkout: nothing there to import from."""
    return tmp_path_factory.mktemp("elsewhere")


@pytest.fixture(scope="module")
def data_copy(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo data directory: the walk may leave a planner session or logs behind."""
    target = tmp_path_factory.mktemp("walk") / "data"
    shutil.copytree(demo_data, target)
    # As after `make demo`: `viko index` also aligns the counterparts into the memory (the index
    # itself is up to date, so nothing is embedded again).
    outside = tmp_path_factory.mktemp("indexing")
    run = viko("--data", str(target), "index", cwd=outside, env=_environment(outside), timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    return target


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(data_copy: Path, outside: Path) -> Iterator[str]:
    port = _free_port()
    env = {**_environment(outside), "VIKO_ADMIN_TOKEN": TOKEN}
    # The server logs a line per request: to a file, never to a pipe nobody reads (it would fill and block).
    log = outside / "serve.log"
    proc = subprocess.Popen([str(VIKO), "--data", str(data_copy), "serve", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=outside, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"), text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"viko serve exited {proc.returncode}: {log.read_text()[-3000:]}")
            try:
                if httpx.get(base + "/api/status", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("viko serve did not answer within 120 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_every_command_answers_help(outside: Path) -> None:
    commands = _commands()
    names = {" ".join(c) for c in commands}
    # The walk must see the families, not an empty group.
    assert {"search", "serve", "plan-session", "export-tmx", "glossary export-tbx", "counterpart show"} <= names
    env = _environment(outside)

    def helped(path: list[str]) -> tuple[str, int, str]:
        run = viko(*path, "--help", cwd=outside, env=env, timeout=120)
        return " ".join(path), run.returncode, run.stdout + run.stderr

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(helped, [[], *commands]))
    bad = [f"viko {name} --help: exit {code}\n{out[-500:]}" for name, code, out in results
           if code != 0 or "Usage:" not in out or "Traceback" in out]
    assert not bad, "\n".join(bad)


def test_commands_that_write_files(data_copy: Path, outside: Path) -> None:
    env = _environment(outside)
    out = outside / "printouts"
    run = viko("--data", str(data_copy), "plan-session", "--out", str(out), cwd=outside, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    written = {p.name for p in out.iterdir()}
    assert {"agenda.csv", "agenda.xlsx", "agenda.html", "briefs.html"} <= written, written
    with (out / "agenda.csv").open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert len(rows) > 1 and len(rows[0]) > 3
    from openpyxl import load_workbook

    assert load_workbook(out / "agenda.xlsx").sheetnames
    assert "<html" in (out / "briefs.html").read_text(encoding="utf-8").lower()

    tmx = outside / "all.tmx"
    run = viko("--data", str(data_copy), "export-tmx", str(tmx), cwd=outside, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    units = ET.parse(tmx).getroot().findall("./body/tu")
    assert units and all(len(tu.findall("tuv")) == 2 for tu in units)

    tbx = outside / "terms.tbx"
    run = viko("--data", str(data_copy), "glossary", "export-tbx", str(tbx), cwd=outside, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    root = ET.parse(tbx).getroot()
    assert sum(1 for el in root.iter() if el.tag.endswith("conceptEntry")) > 10


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"a": "href", "link": "href"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.links.append(value)


def _same_host_paths(base: str, page_url: str, html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    found = []
    for link in parser.links:
        url = urldefrag(urljoin(page_url, link))[0]
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and f"{parts.scheme}://{parts.netloc}" == base:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if not path.startswith(SKIP_PREFIXES):
                found.append(path)
    return found


def _shape(path: str) -> tuple[str, ...]:
    parts = urlsplit(path)
    return (parts.path.split("/")[1], parts.path.count("/"), *sorted({k for k, _ in parse_qsl(parts.query)}))


def test_every_reachable_page_answers(served: str) -> None:
    seen: set[str] = set(START)
    shapes: dict[tuple[str, ...], int] = {}
    queue = deque(START)
    failures: list[str] = []
    kinds: dict[str, int] = {}
    visited = 0
    with httpx.Client(base_url=served, timeout=60, follow_redirects=True, headers=ADMIN) as client:
        while queue and visited < MAX_URLS:
            path = queue.popleft()
            visited += 1
            try:
                answer = client.get(path)
            except httpx.TimeoutException:
                failures.append(f"{path}: no answer within 60 s")
                continue
            family = urlsplit(path).path.split("/")[1] or "home"
            kinds[family] = kinds.get(family, 0) + 1
            if answer.status_code >= 500:
                failures.append(f"{path}: {answer.status_code}")
                continue
            if "text/html" in answer.headers.get("content-type", ""):
                for link in _same_host_paths(served, str(answer.url), answer.text):
                    shape = _shape(link)
                    if link not in seen and shapes.get(shape, 0) < PER_SHAPE:
                        seen.add(link)
                        shapes[shape] = shapes.get(shape, 0) + 1
                        queue.append(link)
    assert not failures, "server errors:\n" + "\n".join(failures)
    # The walk reached every page family and the downloads, not just the home page.
    for family in ("home", "doc", "status", "match", "matching", "planner", "concordance", "glossary", "align", "api"):
        assert kinds.get(family), f"no {family} page reached: {sorted(kinds)}"
    downloads = {p for p in seen if p.startswith("/api/planner/") or p.startswith("/api/export")}
    assert any(p.endswith("briefs.html") for p in downloads), sorted(downloads)
    assert any(p.endswith("agenda.xlsx") for p in downloads), sorted(downloads)
    with httpx.Client(base_url=served, timeout=60) as anonymous:  # the entry points answer the anonymous too
        for path in START:
            answer = anonymous.get(path)
            assert answer.status_code == (401 if path == "/planner" else 200), (path, answer.status_code)


def test_json_twins_of_the_main_pages(served: str) -> None:
    """The JSON API answers for what the pages show."""
    with httpx.Client(base_url=served, timeout=60, headers=ADMIN) as client:
        results = client.get("/api/search", params={"q": "năng lượng tái tạo"}).json()
        assert results["hits"], results
        first = results["hits"][0]["id"]
        for path in (f"/api/doc/{first}", "/api/status", "/api/matching", "/api/planner", "/api/glossary",
                     "/api/concordance?q=h%E1%BB%A3p+t%C3%A1c"):
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
            json.loads(answer.text)
        for download in ("/api/planner/agenda.html", "/api/planner/briefs.html", "/api/planner/agenda.csv",
                         "/api/planner/agenda.xlsx"):
            answer = client.get(download)
            assert answer.status_code == 200 and answer.content, (download, answer.status_code)
