"""Anonymous visitors cannot stall or fool the server (issue 23, web part): control
characters in a query, bodies over the size limit, authentication before any input is read,
nothing blocking in the event loop, rate limits that cannot be side-stepped, bounded facet
filters with pages that grow linearly, one escaped JSON log line per request, no data
directory shown to anyone, throttled token guesses. The fake encoder keeps it fast (no model)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from viko.corpus.catalogue import Catalogue
from viko.corpus.document import make_document
from viko.corpus.tm import TranslationMemory, Unit
from viko.settings import Settings
from viko.web.app import create_app
from viko.web.limits import is_expensive

from helpers import FakeEncoder

TOKEN = "a-token-long-enough-1234"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from viko.runtime import run_index

    folder = tmp_path_factory.mktemp("security")
    docs: list[dict[str, object]] = [{"id": f"d{i}", "lang": "vi", "title": f"Tài liệu {i}", "source": f"nguồn {i % 3}",
             "text": f"Tài liệu số {i} về hợp tác năng lượng tái tạo.", "type": "news"} for i in range(6)]
    docs += [{"id": "dem", "lang": "vi", "type": "demand", "title": "Cần công nghệ nuôi tôm",
              "text": "Đơn vị cần công nghệ nuôi tôm tuần hoàn RAS."},
             {"id": "off", "lang": "ko", "type": "offer", "title": "새우 양식 기술",
              "text": "순환식 새우 양식 RAS 기술을 제공합니다."}]
    with Catalogue.open(folder / "catalogue.sqlite") as cat:
        cat.upsert_many([make_document(d) for d in docs])
        with cat.conn:
            TranslationMemory(cat).add_many([Unit(f"Câu {i}.", f"문장 {i}.", "aligned", 0.9, "d0", "off", (i,), (i,))
                                             for i in range(30)])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())
        run_index(Settings(data_dir=folder))
    return folder


@pytest.fixture
def make_client(data: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., TestClient]:
    monkeypatch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())

    def make(**overrides: object) -> TestClient:
        values: dict[str, object] = {"data_dir": data, "admin_token": TOKEN, "web_rate_per_minute": 0,
                                     "web_concurrent_per_client": 0, **overrides}
        return TestClient(create_app(Settings(**values)), raise_server_exceptions=False)  # type: ignore[arg-type]

    return make


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


# -- 1. control characters in a query ------------------------------------------------------

def test_fts_query_treats_control_characters_as_separators(data: Path) -> None:
    with Catalogue.open(data / "catalogue.sqlite") as cat:
        tm = TranslationMemory(cat)
        assert tm.containing("vi_key", "abc\x00def", 10) == []  # was "unterminated string"
        assert tm.containing("vi_key", "câu\x001", 10) == tm.containing("vi_key", "câu 1", 10)
        assert tm.containing("vi_key", "c\x00", 10) == []


@pytest.mark.parametrize("path", ["/api/concordance", "/concordance", "/api/export.tmx", "/api/search", "/",
                                  "/glossary", "/api/glossary", "/api/glossary/expand"])
def test_a_query_with_a_control_character_is_a_clear_400(client: TestClient, path: str) -> None:
    answer = client.get(path + "?q=abc%00def&lang=vi")
    assert answer.status_code == 400, answer.text[:300]
    if path.startswith("/api/"):
        assert "control character" in answer.json()["detail"] and answer.json()["request_id"]
    else:
        assert "text/html" in answer.headers["content-type"] and "control character" in answer.text


# -- 2. one body limit, authentication before any input -------------------------------------

def asgi_call(app: Any, method: str, path: str, headers: dict[str, str], chunks: int, chunk: bytes = b"x" * 65536,
              ) -> tuple[int, int, bytes]:
    """Runs one request at the ASGI level with a body of `chunks` pieces: (status, how many
    times the app called receive, body of the answer)."""
    calls, sent = [0], []

    async def receive() -> dict[str, Any]:
        calls[0] += 1
        if calls[0] > chunks:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunk, "more_body": calls[0] < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": ("203.0.113.9", 5000), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], calls[0], b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


@pytest.mark.parametrize("path", ["/api/planner", "/api/glossary", "/api/counterpart", "/api/admin/import"])
def test_an_anonymous_body_is_refused_unread(make_client: Callable[..., TestClient], path: str) -> None:
    app = make_client().app
    huge = str(150 * 2**20)
    status, calls, body = asgi_call(app, "POST", path, {"content-type": "application/json", "content-length": huge}, 2400)
    # declared too large: refused before anything is read (the import's own limit is 200 MiB:
    # there the token, checked first, refuses it)
    assert (status, calls) == ((401, 0) if path == "/api/admin/import" else (413, 0)), body
    for headers in ({}, {"authorization": "Bearer wrong-token-wrong-token"}, {"x-viko-token": "nope"}):
        status, calls, body = asgi_call(app, "POST", path, {"content-type": "application/json", **headers}, 2400)
        assert status == 401 and calls == 0, (status, calls, body)  # chunked, no length: the token comes first


def test_a_streamed_body_is_cut_at_the_limit(make_client: Callable[..., TestClient]) -> None:
    app = make_client(web_max_body_kb=256).app
    headers = {"content-type": "application/json", "authorization": f"Bearer {TOKEN}"}
    status, calls, body = asgi_call(app, "POST", "/api/planner", headers, 2400)
    assert status == 413 and calls <= 256 // 64 + 2, (status, calls)
    assert json.loads(body)["detail"] and json.loads(body)["request_id"]
    # the admin import has its own, larger limit: 1 MB of (bad) lines is read and reported
    status, calls, body = asgi_call(app, "POST", "/api/admin/import", headers, 16, b'{"broken' + b"x" * 65528)
    assert status == 200 and calls >= 16 and json.loads(body)["errors"], body[:300]


def test_the_body_limit_is_a_setting() -> None:
    assert Settings.from_env(env={"VIKO_WEB_MAX_BODY_KB": "8"}).web_max_body_kb == 8
    assert Settings().web_max_body_kb >= 64


def test_declared_length_over_the_limit_is_413_on_every_route(make_client: Callable[..., TestClient]) -> None:
    client = make_client(web_max_body_kb=1)
    for path in ("/glossary", "/planner", "/align/decide", "/api/search"):
        answer = client.post(path, content=b"token=x&" + b"a" * 4096,
                             headers={"content-type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 413, (path, answer.status_code)


# -- 3. nothing blocks the event loop ----------------------------------------------------

IMPORT_SECONDS = 6.0  # longer than any answer takes on a loaded machine


def test_a_slow_import_does_not_stall_other_requests(make_client: Callable[..., TestClient],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A blocked event loop answers nothing until the import is over. The check is what was
    answered first, with the import taking longer than any answer needs on a loaded machine
    (threads other tests left behind slowed one /api/status to 2.9 s)."""
    def slow_import(cat: object, path: object) -> SimpleNamespace:
        time.sleep(IMPORT_SECONDS)
        return SimpleNamespace(added=0, updated=0, unchanged=0, errors=[], summary=lambda: "nothing")

    monkeypatch.setattr("viko.web.admin.import_jsonl", slow_import)
    app = make_client().app

    async def scenario() -> tuple[float, bool, float, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            await http.get("/api/status")  # its first answer loads what status reads: not what is measured
            started = time.perf_counter()
            slow = asyncio.create_task(http.post("/api/admin/import", content=b'{"id": "x"}\n', headers=BEARER))
            await asyncio.sleep(0.3)  # the import is running: a blocked loop wakes up from this only after it
            status = await http.get("/api/status")
            cheap, import_over = time.perf_counter() - started, slow.done()
            answer = await slow
            return cheap, import_over, time.perf_counter() - started, answer.status_code + 0 * status.status_code

    cheap, import_over, slow, status = asyncio.run(scenario())
    assert status == 200 and slow >= IMPORT_SECONDS - 0.1
    assert not import_over and cheap < IMPORT_SECONDS - 1, f"/api/status answered {cheap:.2f} s after an import started"


# -- 4. the rate limit cannot be side-stepped ----------------------------------------------

def test_expensive_paths_are_decided_on_the_decoded_query() -> None:
    assert is_expensive("/", b"%71=abc") and is_expensive("/", b"q=abc") and not is_expensive("/", b"ui=en")
    for path in ("/match/x", "/api/match/x", "/matching", "/api/matching", "/planner", "/api/planner",
                 "/api/planner/agenda.csv"):
        assert is_expensive(path, b""), path
    assert not is_expensive("/status", b"") and not is_expensive("/static/app.css", b"")


def test_an_encoded_query_counts(make_client: Callable[..., TestClient]) -> None:
    client = make_client(web_rate_per_minute=2)
    answers = [client.get("/?%71=t%C3%A0i+li%E1%BB%87u").status_code for _ in range(3)]
    assert answers == [200, 200, 429]


def test_serve_trusts_forwarded_headers_only_from_listed_proxies(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from viko.cli import main

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: calls.append(kwargs))
    monkeypatch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())
    monkeypatch.setattr("viko.indexer.analyze.default_analyzer", lambda: SimpleNamespace(warm_up=lambda: None))
    runner = CliRunner()
    for env, trusted in (({}, []), ({"VIKO_TRUSTED_PROXIES": "10.0.0.1, 10.0.0.2"}, ["10.0.0.1", "10.0.0.2"])):
        result = runner.invoke(main, ["--data", str(data), "serve"], env={"VIKO_TRUSTED_PROXIES": "", **env})
        assert result.exit_code == 0, result.output
        kwargs = calls.pop()
        assert kwargs["access_log"] is False and kwargs["forwarded_allow_ips"] == trusted
        assert kwargs["proxy_headers"] is bool(trusted)


def test_the_plan_is_solved_once_per_session_state(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import viko.web.planner as planner

    solved: list[object] = []
    real = planner.plan_for

    def counting(matcher: object, config: object) -> Any:
        solved.append(config)
        return real(matcher, config)  # type: ignore[arg-type]

    monkeypatch.setattr(planner, "plan_for", counting)
    for _ in range(4):
        assert client.get("/api/planner", headers=BEARER).status_code == 200
    assert client.get("/planner", headers=BEARER).status_code == 200
    assert len(solved) == 1
    changed = client.post("/api/planner", json={"action": "replan", "tables": 3}, headers=BEARER)
    assert changed.status_code == 200 and changed.json()["tables"] == 3
    count = len(solved)
    assert client.get("/api/planner", headers=BEARER).json()["tables"] == 3 and len(solved) == count  # the new state, cached
    client.post("/api/planner", json={"action": "reset"}, headers=BEARER)


# -- 5. facet filters are bounded and pages grow linearly ------------------------------------

def filters(n: int) -> str:
    return "".join(f"&{('source', 'type', 'year')[i % 3]}=s{i:04d}" for i in range(n))


def test_too_many_filters_are_a_clear_400(client: TestClient) -> None:
    for params in (filters(1000), "".join(f"&source=s{i}" for i in range(21)), "".join(f"&source=s{i}&type=t{i}&year={i}" for i in range(17))):
        api = client.get("/api/search?q=t%C3%A0i+li%E1%BB%87u" + params)
        html = client.get("/?q=t%C3%A0i+li%E1%BB%87u&ui=en" + params)
        assert (api.status_code, html.status_code) == (400, 400)
        assert "filters" in api.json()["detail"] and "filters" in html.text and len(html.content) < 100_000


def test_page_size_grows_linearly_with_the_filters(client: TestClient) -> None:
    sizes = {n: len(client.get("/?q=t%C3%A0i+li%E1%BB%87u" + filters(n)).content) for n in (1, 10, 40)}
    growth = (sizes[40] - sizes[1]) / (sizes[10] - sizes[1])
    assert growth < 6, sizes  # linear: about 4.3; every link repeating every filter: about 16


def test_removing_a_filter_keeps_the_others(client: TestClient) -> None:
    answer = client.get("/?q=abc&source=a&source=b&type=news&sort=date&drop=source:a", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/?q=abc&type=news&source=b&sort=date"
    html = client.get("/?q=t%C3%A0i+li%E1%BB%87u&source=n%E1%BB%93ng+1").text
    assert 'name="drop" value="source:nguồn 1"' in html or 'name="drop" value="source:n' in html


# -- 6. one JSON log line per request, control characters escaped ----------------------------

def test_one_escaped_json_log_line_per_request(client: TestClient) -> None:
    from viko.web.observe import JsonLines

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    logger = logging.getLogger("viko.web")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        answer = client.get("/x%0Aforged%0D%22%00?q=1")
        client.delete("/api/glossary/1", headers={"Authorization": "bearer " + TOKEN.upper()})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines
    record = json.loads(lines[0])
    assert record["path"] == "/x%0Aforged%0D%22%00" and record["status"] == 404 == answer.status_code
    assert record["request_id"] == answer.headers["x-request-id"] and record["method"] == "GET"
    assert {"time", "level", "client", "bytes", "ms"} <= set(record) and record["level"] == "INFO"
    assert record["user"] == "" and json.loads(lines[1])["status"] == 401


# -- 7. status, token scheme, throttled guesses, the API description -----------------------

def test_status_does_not_show_the_data_directory(client: TestClient, data: Path) -> None:
    api = client.get("/api/status")
    assert api.status_code == 200 and "data_dir" not in api.json() and str(data) not in api.text
    assert str(data) not in client.get("/status").text


def test_the_bearer_scheme_is_case_insensitive(client: TestClient) -> None:
    for scheme in ("Bearer", "bearer", "BEARER"):
        answer = client.post("/api/admin/delete/no-such-doc", headers={"Authorization": f"{scheme} {TOKEN}"})
        assert answer.status_code == 404, (scheme, answer.text)


def test_failed_token_attempts_are_throttled(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    wrong = {"Authorization": "Bearer wrong-token-wrong-token"}
    assert [client.post("/api/admin/delete/x", headers=wrong).status_code for _ in range(10)] == [401] * 10
    refused = client.post("/api/admin/delete/x", headers=wrong)
    assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
    assert client.post("/api/admin/delete/x", headers=BEARER).status_code == 429  # no more guesses for now
    assert client.post("/glossary", data={"remove": "1", "token": TOKEN}).status_code == 429  # forms too
    assert client.get("/api/search?q=t%C3%A0i+li%E1%BB%87u").status_code == 200  # reading is not affected


def test_the_api_description_documents_every_answer(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"detail", "request_id"} <= set(spec["components"]["schemas"]["ErrorBody"]["properties"])
    planner = spec["paths"]["/api/planner"]["post"]["responses"]
    assert {"401", "403", "413", "422", "429"} <= set(planner)
    assert planner["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    search = spec["paths"]["/api/search"]["get"]["responses"]
    assert {"400", "422", "429", "503"} <= set(search)
    assert search["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    # a 422 of a route's own check and one of FastAPI's validation have the same shape
    for answer in (client.get("/api/search", params={"q": "x", "lang": "fr"}),
                   client.get("/api/search", params={"q": "x", "limit": "many"})):
        assert answer.status_code == 422 and isinstance(answer.json()["detail"], str) and answer.json()["request_id"]
