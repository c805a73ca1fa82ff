"""No leak through any path (issue 24).

Documents only some people may see (internal, and two groups), each holding words found in no
other document, are imported and indexed with the CLI beside public ones, with accounts of every
role. Then every GET route of the API description (path parameters filled with every document
and record id, `q` with every unique word and with one-letter typos of them) and its page twin,
and every link found on the pages, is walked as the anonymous visitor and as each role. Each
unique word, hidden document id and contact detail must appear exactly where that viewer may see
it: in no hit, total, facet count, snippet, suggestion, related list, counterpart, alignment,
concordance line, export, matching page, status count or JSON answer of anyone else, and on
the pages of those who may (a word the request itself carries is not counted: the page echoes
the query).
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import zipfile
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote_plus, urldefrag, urlencode, urljoin, urlsplit

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from viko.cli import main
from viko.settings import Settings
from viko.web.app import create_app

from helpers import SMALL_DOCS

pytestmark = pytest.mark.model
PASSWORD = "correct-horse-battery-staple"

PUBLIC = [*SMALL_DOCS,
          {"id": "pub-solar-vi", "lang": "vi", "type": "news", "date": "2024-05-10",
           "title": "Hải Phòng khánh thành nhà máy điện mặt trời áp mái đầu tiên",
           "text": "Thành phố Hải Phòng khánh thành nhà máy điện mặt trời áp mái đầu tiên tại khu công nghiệp Đình Vũ. "
                   "Nhà máy có công suất 5 MW và do một doanh nghiệp Hàn Quốc đầu tư.\n\n"
                   "Dự án giúp giảm 6.000 tấn khí thải mỗi năm và cung cấp điện cho 20 nhà xưởng."},
          {"id": "pub-offer-vi", "lang": "vi", "type": "offer", "date": "2024-06-03",
           "title": "Chào bán công nghệ: hệ thống IoT giám sát ao nuôi tôm",
           "text": "Tên công nghệ: Hệ thống IoT giám sát chất lượng nước ao nuôi tôm\n\n"
                   "Đơn vị chào bán: Công ty TNHH Nông nghiệp Xanh Hải Phòng\n\n"
                   "Mô tả: Bộ cảm biến đo oxy hòa tan, pH và nhiệt độ, truyền dữ liệu về điện thoại của người nuôi.\n\n"
                   "Liên hệ: Ông Đỗ Văn Khởi, ĐT: 0987 654 321, email: khoi.do@greenfarm.vn"},
          {"id": "pub-offer-ko", "lang": "ko", "type": "offer", "date": "2024-06-03",
           "title": "기술 공급: 새우 양식장 수질 감시 IoT 시스템",
           "text": "기술명: 새우 양식장 수질 감시 IoT 시스템\n\n공급 기업: 하이퐁 그린농업 유한회사\n\n"
                   "내용: 용존산소, pH, 수온을 측정하는 센서 세트로 양식 농가의 휴대전화에 자료를 보낸다.\n\n"
                   "연락처: 도반커이, 전화 0987 654 321, 이메일 khoi.do@greenfarm.vn"},
          {"id": "pub-demand-ko", "lang": "ko", "type": "demand", "date": "2024-06-05",
           "title": "기술 수요: 새우 양식장 수질 감시 IoT 센서",
           "text": "기술명: 새우 양식장 용존산소 감시 IoT 센서\n\n수요 기업: 전남 해양수산 영어조합\n\n"
                   "내용: 새우 양식장의 용존산소와 수온을 실시간으로 측정하고 휴대전화로 경보를 보내는 센서를 찾는다."}]
HIDDEN = [
    {"id": "int-solar-ko", "lang": "ko", "type": "news", "date": "2024-05-10", "visibility": "internal",
     "title": "하이퐁시 첫 지붕형 태양광 발전소 준공 (퀼뢰밧 내부 검토)",
     "text": "하이퐁시는 딘부 산업단지에 첫 지붕형 태양광 발전소를 준공했다. 발전소 용량은 5MW이며 한국 기업이 투자했다.\n\n"
             "이 사업으로 연간 6,000톤의 배출가스를 줄이고 공장 20곳에 전력을 공급한다. 퀼뢰밧 협상 조건은 비공개이다."},
    {"id": "int-zorb-vi", "lang": "vi", "type": "report", "date": "2024-09-12", "visibility": "internal",
     "title": "Báo cáo nội bộ: vật liệu zorbaxit cho pin lưu trữ năng lượng",
     "text": "Viện Vật liệu Hải Phòng thử nghiệm vật liệu zorbaxit trong 14 mẫu pin lưu trữ năng lượng.\n\n"
             "Kết quả cho thấy zorbaxit tăng tuổi thọ pin thêm 37% so với vật liệu thông thường.\n\n"
             "Nhóm nghiên cứu đề xuất thử nghiệm tiếp tại nhà máy Xoẳng Quýt trong năm 2025."},
    {"id": "int-zorb-ko", "lang": "ko", "type": "report", "date": "2024-09-12", "visibility": "internal",
     "title": "내부 보고서: 에너지 저장 배터리용 zorbaxit 소재",
     "text": "하이퐁 소재연구원은 에너지 저장 배터리 시료 14개에 zorbaxit 소재를 시험했다.\n\n"
             "그 결과 zorbaxit는 일반 소재보다 배터리 수명을 37% 늘렸다.\n\n연구팀은 2025년에 공장에서 추가 시험을 제안했다."},
    {"id": "grp-kosme-vi", "lang": "vi", "type": "agreement", "date": "2024-11-02", "visibility": "group:kosme",
     "title": "Dự thảo thỏa thuận qwelmoran giữa KOSME và Sở Công Thương",
     "text": "Dự thảo thỏa thuận hợp tác qwelmoran về hỗ trợ doanh nghiệp nhỏ và vừa đang được đàm phán.\n\n"
             "Các điều khoản về tài chính chưa được công bố."},
    {"id": "grp-busan-ko", "lang": "ko", "type": "report", "date": "2024-12-01", "visibility": "group:busan",
     "title": "부산항 fendrowix 물류 협력 검토",
     "text": "부산항만공사는 fendrowix 스마트 물류 시스템을 하이퐁항과 공동으로 검토하고 있다."},
    {"id": "int-offer-vi", "lang": "vi", "type": "offer", "date": "2024-06-01", "visibility": "internal",
     "title": "Chào bán công nghệ: cảm biến vintrapel đo oxy cho ao nuôi tôm",
     "text": "Tên công nghệ: Cảm biến vintrapel đo oxy hòa tan cho ao nuôi tôm\n\n"
             "Đơn vị chào bán: Công ty Cổ phần Thủy sản Thông minh Cần Thơ\n\n"
             "Mô tả: Cảm biến IoT đo oxy hòa tan và nhiệt độ nước, gửi cảnh báo qua điện thoại khi chỉ số vượt ngưỡng.\n\n"
             "Liên hệ: Bà Phạm Thị Xuyến, ĐT: 0912 345 678, email: xuyen@thuysan-ct.vn"}]
# A group's demand, imported from a registration sheet with a `visibility` column.
SHEET = [["id", "title", "text", "organisation", "contact", "lang", "visibility"],
         ["grp-demand-ko", "기술 수요: 뷁스론 양식 사료 자동 급이기",
          "기술명: 뷁스론 사료 자동 급이기\n\n내용: 양식장에 사료를 자동으로 주는 장치를 찾는다.",
          "코스메 협력 기업", "담당자 이뷁순 010-5555-7777", "ko", "group:kosme"]]
VISIBILITY = {**{d["id"]: "public" for d in PUBLIC}, **{d["id"]: d["visibility"] for d in HIDDEN},
              "grp-demand-ko": "group:kosme"}
# The words only one hidden document holds (its id counts too), and contact details.
WORDS = {"int-solar-ko": ["퀼뢰밧"], "int-zorb-vi": ["zorbaxit", "xoẳng"], "int-zorb-ko": ["zorbaxit"],
         "grp-kosme-vi": ["qwelmoran"], "grp-busan-ko": ["fendrowix"], "int-offer-vi": ["vintrapel"],
         "grp-demand-ko": ["뷁스론"]}
CONTACTS = {"pub-offer-vi": ["0987 654 321", "khoi.do@greenfarm.vn", "đỗ văn khởi"], "pub-offer-ko": ["도반커이"],
            "int-offer-vi": ["0912 345 678", "xuyen@thuysan-ct.vn", "phạm thị xuyến"],
            "grp-demand-ko": ["010-5555-7777", "이뷁순"]}
RECORDS = ("pub-offer-vi", "pub-offer-ko", "pub-demand-ko", "int-offer-vi", "grp-demand-ko")
# Queried on every route that takes a query: each unique word, a contact's label and number;
# searched too: one-letter typos (did-you-mean), Vietnamese without its marks (restored from
# the index's words), a part of an e-mail address, public words.
WORD_QUERIES = ("zorbaxit", "퀼뢰밧", "qwelmoran", "fendrowix", "vintrapel", "뷁스론", "liên hệ", "0987")
QUERIES = (*WORD_QUERIES, "qwelmoren", "퀼뢰밪", "zorbaxut", "xoang quyt", "greenfarn", "0912", "연락처", "tôm",
           "hợp tác", "재생에너지 협약")
SLOTS = {"doc_id": list(VISIBILITY), "record_id": list(RECORDS), "fmt": ["csv", "xlsx", "html"]}
# Counterparts confirmed before indexing (so their sentences fill the translation memory): a
# public document and its internal translation, an internal pair, a public offer in two languages.
CONFIRMED = (("pub-solar-vi", "int-solar-ko"), ("int-zorb-vi", "int-zorb-ko"), ("pub-offer-vi", "pub-offer-ko"))
PAIRS = (*CONFIRMED, ("mou-vi", "grp-busan-ko"))


@dataclass(frozen=True)
class Person:
    name: str = ""  # '': the anonymous visitor
    role: str = ""
    groups: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.name or "anonymous"

    def sees(self, visibility: str) -> bool:
        """Issue 24's rule, written out here rather than imported from viko: it is under test."""
        if visibility == "public" or self.role == "admin":
            return True
        return bool(self.role) and (visibility == "internal" or visibility.removeprefix("group:") in self.groups)


PEOPLE = (Person(), Person("rita", "reader"), Person("gina", "reader", ("kosme",)), Person("eddie", "editor"),
          Person("olga", "organiser"), Person("ada", "admin"))


@dataclass(frozen=True)
class Marker:
    text: str
    visibility: str
    contact: bool = False  # a contact detail: for signed-in people only

    def allowed(self, person: Person) -> bool:
        return person.sees(self.visibility) and (bool(person.role) or not self.contact)


MARKERS = sorted({*(Marker(w, VISIBILITY[d]) for d, words in WORDS.items() for w in [d, *words]),
                  *(Marker(c, VISIBILITY[d], contact=True) for d, found in CONTACTS.items() for c in found)},
                 key=lambda m: (m.text, m.visibility))


def fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).lower()


def viko(data: Path, *args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(main, ["--data", str(data), *args], input=stdin)
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.output


def build(root: Path) -> Path:
    """The data directory as an operator makes it: import, records, decisions, index, accounts."""
    data = root / "data"
    (root / "docs.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in [*PUBLIC, *HIDDEN]),
                                     encoding="utf-8")
    with (root / "demands.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(SHEET)
    viko(data, "import", str(root / "docs.jsonl"))
    viko(data, "import-records", "--type", "demand", str(root / "demands.csv"))
    for a, b in CONFIRMED:
        viko(data, "counterpart", "confirm", a, b)
    viko(data, "index")
    for p in PEOPLE[1:]:
        viko(data, "user", "add", p.name, "--role", p.role, *[x for g in p.groups for x in ("--group", g)],
             "--password-stdin", stdin=PASSWORD + "\n")
    return data


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the form"
    return found.group(1)


def signed_in(app: Any, person: Person) -> TestClient:
    client = TestClient(app)
    if person.name:
        answer = client.post("/login", data={"username": person.name, "password": PASSWORD, "next": "/",
                                             "csrf_token": csrf_of(client.get("/login").text)}, follow_redirects=False)
        assert answer.status_code == 303, answer.text[:500]
        assert client.get("/api/me").json()["role"] == person.role
    return client


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = build(tmp_path_factory.mktemp("leaks"))
    app = create_app(Settings.from_env(env={}, data_dir=data, web_rate_per_minute=0, web_concurrent_per_client=0))
    return {"data": data, "app": app, "clients": {p.label: signed_in(app, p) for p in PEOPLE}}


# -- the walk ------------------------------------------------------------------------------------
# Where a person starts; the pages that are not in the API description are among them.
START = ["/", "/status", "/matching", "/concordance?q=zorbaxit", "/glossary", "/planner", "/docs", "/audit", "/upload",
         "/jobs", "/sources", "/matching/import", "/healthz", "/metrics", "/login", *(f"/?q={quote(q)}" for q in QUERIES),
         *(f"/doc/{d['id']}" for d in PUBLIC)]
SKIP = ("/static/", "/logout", "/login")
PER_SHAPE = 2  # facet, pager and interface-language links: a few of each shape
MAX_CRAWL = 150


def body_text(answer: Any) -> str:
    kind = answer.headers.get("content-type", "")
    if "spreadsheetml" in kind:  # a workbook: the text of every part
        with zipfile.ZipFile(io.BytesIO(answer.content)) as book:
            return "\n".join(book.read(n).decode("utf-8", "replace") for n in book.namelist())
    if "json" in kind:  # however it was escaped
        return json.dumps(answer.json(), ensure_ascii=False)
    return str(answer.content.decode("utf-8", "replace"))


def fillings(path: str, params: list[dict[str, Any]]) -> Iterator[str]:
    """The URLs that call a GET route of the API description: every id in its path, every
    query word, document and pair in its query."""
    query = {p["name"] for p in params if p["in"] == "query"}
    required = {p["name"] for p in params if p["in"] == "query" and p.get("required")}
    assert required <= {"q", "lang"}, f"{path}: the leak walk does not know how to fill {required}"
    variants: list[dict[str, str]] = [{}] if not required else []
    if "q" in query:
        variants += [{"q": q} for q in (QUERIES if path == "/api/search" else WORD_QUERIES if "{" not in path
                                        else WORD_QUERIES[:1])]
    if "lang" in required:
        variants = [{**v, "lang": lang} for v in variants for lang in ("vi", "ko")]
    if "a" in query:
        variants += [{"a": d} for d in VISIBILITY] + [{"a": a, "b": b} for a, b in PAIRS]
    variants += [{"kind": k} for k in ("offer", "demand") if "kind" in query]
    variants += [{"include_mined": "1"}] if "include_mined" in query else []
    filled = [path]
    for slot in re.findall(r"\{(\w+)\}", path):  # any other id (a job's, a source's): the first one
        filled = [p.replace("{" + slot + "}", quote(v, safe="")) for p in filled for v in SLOTS.get(slot, ["1"])]
    for url in filled:
        for v in variants:
            yield url + ("?" + urlencode(v) if v else "")


def probes(client: TestClient) -> list[str]:
    """Every GET route of the API description, filled, and its page twin where it has one."""
    spec = client.get("/openapi.json").json()
    gets = {p: ops["get"].get("parameters", []) for p, ops in spec["paths"].items() if "get" in ops}
    urls = []
    for path, params in gets.items():
        filled = list(fillings(path, params))
        urls += filled
        twins = ["/" + u.removeprefix("/api/search").lstrip("/") if path == "/api/search" else u.removeprefix("/api")
                 for u in filled if u.startswith("/api/")]
        missing = client.get(twins[0]) if twins else None  # no such route: 404 "Not Found"
        if missing is not None and not (missing.status_code == 404 and 'role="alert">Not Found<' in missing.text):
            urls += twins
    return list(dict.fromkeys(urls))


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "href" and value and tag in ("a", "link"):
                self.links.append(value)


def shape(url: str) -> tuple[str, ...]:
    parts = urlsplit(url)
    return (parts.path.split("/")[1], parts.path.count("/"), *sorted({k for k, _ in parse_qsl(parts.query)}))


@dataclass(frozen=True)
class Leak:
    person: Person
    url: str
    status: int
    marker: Marker

    def __str__(self) -> str:
        what = f"the contact detail {self.marker.text!r}" if self.marker.contact else repr(self.marker.text)
        return f"{self.person.label} GET {self.url} ({self.status}) shows {what} ({self.marker.visibility})"


@dataclass
class Walk:
    person: Person
    statuses: dict[str, int] = field(default_factory=dict)
    leaks: list[Leak] = field(default_factory=list)
    shown: set[str] = field(default_factory=set)  # markers seen where the request did not carry them

    def scan(self, url: str, answer: Any) -> str:
        body = body_text(answer)
        asked, text = fold(unquote_plus(url)), fold(body)
        text += "\n" + fold(unquote_plus(body))  # links carry words percent-encoded
        for m in MARKERS:
            if fold(m.text) in asked or fold(m.text) not in text:
                continue
            self.shown.add(m.text)
            if not m.allowed(self.person):
                self.leaks.append(Leak(self.person, url, answer.status_code, m))
        return body


def walk(client: TestClient, person: Person, urls: list[str]) -> Walk:
    """Every probe, then the links of the pages (same site), breadth first."""
    done = Walk(person)
    queue, seen, shapes, crawled = deque(urls + START), set(urls + START), dict[tuple[str, ...], int](), 0
    while queue:
        url = queue.popleft()
        answer = client.get(url, follow_redirects=False)
        done.statuses[url] = answer.status_code
        body = done.scan(url, answer)
        if "text/html" not in answer.headers.get("content-type", "") or crawled >= MAX_CRAWL:
            continue
        parser = Links()
        parser.feed(body)
        for link in parser.links:
            parts = urlsplit(urldefrag(urljoin("http://testserver" + url, link))[0])
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if parts.netloc != "testserver" or target in seen or target.startswith(SKIP):
                continue
            if shapes.get(shape(target), 0) < PER_SHAPE:
                shapes[shape(target)] = shapes.get(shape(target), 0) + 1
                seen.add(target)
                queue.append(target)
                crawled += 1
    return done


@pytest.fixture(scope="module")
def routes(site: dict[str, Any]) -> list[str]:
    return probes(site["clients"]["anonymous"])


@pytest.fixture(scope="module")
def walks(site: dict[str, Any], routes: list[str]) -> dict[str, Walk]:
    """Anonymous first, the admin last: what a later page shows an earlier person is checked by
    the tests below, which ask again after everyone's walk (caches are per audience)."""
    return {p.label: walk(site["clients"][p.label], p, routes) for p in PEOPLE}


# -- what the walk found -------------------------------------------------------------------------
def on_planner(leak: Leak) -> bool:
    return urlsplit(leak.url).path.startswith(("/planner", "/api/planner"))


def test_no_route_shows_anyone_what_they_may_not_see(walks: dict[str, Walk]) -> None:
    leaks = [str(leak) for w in walks.values() for leak in w.leaks if not on_planner(leak)]
    assert not leaks, f"{len(leaks)} leaks:\n" + "\n".join(leaks[:60])


def test_the_planner_shows_an_organiser_only_what_they_may_see(walks: dict[str, Walk]) -> None:
    leaks = [str(leak) for w in walks.values() for leak in w.leaks if on_planner(leak)]
    assert not leaks, "\n".join(leaks)


def test_each_word_shows_to_whoever_may_see_it(walks: dict[str, Walk]) -> None:
    """The other half of "exactly where": what a person may see is on their pages somewhere."""
    missing = [f"{w.person.label}: {m.text!r}" for w in walks.values() for m in MARKERS
               if m.allowed(w.person) and m.text not in w.shown]
    assert not missing, "never shown to someone who may see it:\n" + "\n".join(missing)


def test_every_route_was_walked_and_answered(walks: dict[str, Walk], site: dict[str, Any]) -> None:
    spec = site["clients"]["ada"].get("/openapi.json").json()
    for w in walks.values():
        errors = [f"{url}: {status}" for url, status in w.statuses.items() if status >= 500]
        assert not errors, f"{w.person.label}: server errors\n" + "\n".join(errors)
        for path, ops in spec["paths"].items():
            pattern = re.compile(re.sub(r"\\\{\w+\\\}", "[^?]+", re.escape(path)) + r"(\?.*)?$")
            assert "get" not in ops or any(pattern.match(u) for u in w.statuses), f"{path} was not walked"
    reached = {urlsplit(u).path.split("/")[1] or "home" for u, s in walks["ada"].statuses.items() if s == 200}
    assert {"home", "doc", "text", "status", "align", "concordance", "glossary", "match", "matching", "planner",
            "audit", "api"} <= reached, sorted(reached)


# -- what each person is answered, field by field ----------------------------------------------------
def holding(word: str) -> set[str]:
    """The documents whose title or text holds the word (the sheet's record included)."""
    docs = [*PUBLIC, *HIDDEN, {"id": SHEET[1][0], "title": SHEET[1][1], "text": SHEET[1][2]}]
    return {d["id"] for d in docs if fold(word) in fold(d["title"] + " " + d["text"])}


def visible_ids(person: Person) -> set[str]:
    return {d for d, vis in VISIBILITY.items() if person.sees(vis)}


def search(client: TestClient, q: str, **params: Any) -> dict[str, Any]:
    answer = client.get("/api/search", params={"q": q, "limit": 50, **params})
    assert answer.status_code == 200, answer.text[:300]
    return dict(answer.json())


@pytest.mark.parametrize("person", PEOPLE, ids=lambda p: p.label)
def test_search_totals_and_facets_count_only_what_the_person_sees(site: dict[str, Any], person: Person) -> None:
    client, visible = site["clients"][person.label], visible_ids(person)
    for q in QUERIES:
        found = search(client, q)
        ids = {h["id"] for h in found["hits"]}
        assert ids <= visible and found["total"] == len(found["hits"]), (person.label, q, ids, found["total"])
        for facet in ("lang", "type"):
            assert sum(v["count"] for v in found["facets"].get(facet, [])) == found["total"], (person.label, q, facet)
        # contact details are not indexed at all (indexer.build): nobody finds a record by them
        if not any(q in c for found in CONTACTS.values() for c in found):
            assert holding(q) & visible <= ids, f"{person.label} searching {q!r} misses {holding(q) & visible - ids}"
    if not person.role:  # the anonymous total is the count of public documents holding the word: none
        for word in ("zorbaxit", "qwelmoran", "fendrowix", "vintrapel", "퀼뢰밧"):
            assert search(client, word)["total"] == len(holding(word) & visible) == 0, word


def test_status_counts_what_each_person_sees(site: dict[str, Any]) -> None:
    types = {d["id"]: d["type"] for d in [*PUBLIC, *HIDDEN]} | {"grp-demand-ko": "demand"}
    for person in PEOPLE:
        status = site["clients"][person.label].get("/api/status").json()
        visible = visible_ids(person)
        assert status["documents"] == len(visible), (person.label, status["documents"])
        expected = {t: sum(types[d] == t for d in visible) for t in set(types.values())}
        assert {t: n for t, n in status["by_type"].items() if n} == {t: n for t, n in expected.items() if n}
        assert sum(status["by_lang"].values()) == len(visible)


def test_a_group_document_is_for_its_group_only(site: dict[str, Any]) -> None:
    gina, rita = site["clients"]["gina"], site["clients"]["rita"]
    assert gina.get("/api/doc/grp-kosme-vi").status_code == 200 and gina.get("/doc/grp-kosme-vi").status_code == 200
    assert "grp-kosme-vi" in {h["id"] for h in search(gina, "qwelmoran")["hits"]}
    assert "grp-demand-ko" in {r["id"] for r in gina.get("/api/matching").json()["records"]}
    for path in ("/api/doc/grp-kosme-vi", "/doc/grp-kosme-vi", "/text/grp-kosme-vi", "/api/counterpart/grp-kosme-vi",
                 "/api/match/grp-demand-ko"):
        assert rita.get(path).status_code == 404, path  # as if it did not exist
    assert search(rita, "qwelmoran")["total"] == 0
    assert gina.get("/api/doc/grp-busan-ko").status_code == 404  # another group's


def test_contacts_only_for_signed_in_people(site: dict[str, Any]) -> None:
    anonymous, rita = site["clients"]["anonymous"], site["clients"]["rita"]
    shown = anonymous.get("/api/doc/pub-offer-vi").json()["text"]
    assert "Liên hệ: •" in shown and "0987" not in shown and "Nông nghiệp Xanh" in shown  # only the contact masked
    assert "0987 654 321" not in anonymous.get("/text/pub-offer-vi").text
    records = {r["id"]: r for r in anonymous.get("/api/matching").json()["records"]}
    assert records["pub-offer-vi"]["contact"] == "" and "int-offer-vi" not in records
    assert "0987 654 321" in rita.get("/api/doc/pub-offer-vi").json()["text"]
    assert "0987 654 321" in rita.get("/text/pub-offer-vi").text
    assert "0987 654 321" in {r["id"]: r for r in rita.get("/api/matching").json()["records"]}["pub-offer-vi"]["contact"]


def test_suggestions_come_from_words_the_person_may_see(site: dict[str, Any]) -> None:
    clients = site["clients"]

    def offered(who: str, q: str) -> str:
        found = search(clients[who], q)
        return " ".join([found["searched_as"], *found["suggestions"]])

    assert "qwelmoran" in offered("gina", "qwelmoren") and "qwelmoran" not in offered("rita", "qwelmoren")
    assert "퀼뢰밧" in offered("rita", "퀼뢰밪") and "퀼뢰밧" not in offered("anonymous", "퀼뢰밪")
    assert "xoẳng" in offered("rita", "xoang quyt") and "xoẳng" not in offered("anonymous", "xoang quyt")


def test_a_counterpart_the_person_may_not_see_is_no_counterpart(site: dict[str, Any]) -> None:
    anonymous, rita = site["clients"]["anonymous"], site["clients"]["rita"]
    page = anonymous.get("/api/doc/pub-solar-vi").json()
    assert page["counterpart"] is None and {h["id"] for h in page["related"]} <= visible_ids(PEOPLE[0])
    assert anonymous.get("/api/counterpart/pub-solar-vi").json()["other_id"] is None
    assert anonymous.get("/api/align", params={"a": "pub-solar-vi"}).status_code == 404
    assert rita.get("/api/doc/pub-solar-vi").json()["counterpart"]["id"] == "int-solar-ko"
    assert rita.get("/api/align", params={"a": "pub-solar-vi"}).json()["b"]["id"] == "int-solar-ko"
    hits = search(rita, "퀼뢰밧")["hits"]  # the public document is found through its internal counterpart
    assert {"int-solar-ko", "pub-solar-vi"} <= {h["id"] for h in hits}
    assert "pub-solar-vi" not in {h["id"] for h in search(anonymous, "퀼뢰밧")["hits"]}


def test_the_translation_memory_holds_only_what_the_person_sees(site: dict[str, Any]) -> None:
    anonymous, rita = site["clients"]["anonymous"], site["clients"]["rita"]
    assert anonymous.get("/api/concordance", params={"q": "zorbaxit"}).json()["total"] == 0
    assert rita.get("/api/concordance", params={"q": "zorbaxit"}).json()["total"] >= 1
    mine, theirs = (c.get("/api/concordance", params={"q": "hợp tác"}).json()["memory"] for c in (anonymous, rita))
    assert sum(mine.values()) < sum(theirs.values())
    assert "zorbaxit" not in anonymous.get("/api/export.tmx").text and "zorbaxit" in rita.get("/api/export.tmx").text
    contact = anonymous.get("/api/concordance", params={"q": "liên hệ"}).json()["hits"]
    assert contact and all("0987" not in h["vi"] + h["ko"] for h in contact)  # found, but masked
    assert "0987 654 321" in rita.get("/api/export.tmx", params={"a": "pub-offer-vi", "b": "pub-offer-ko"}).text


def test_an_api_token_sees_what_its_user_sees(site: dict[str, Any]) -> None:
    token = viko(site["data"], "user", "token", "gina").strip()
    client = TestClient(site["app"], headers={"Authorization": f"Bearer {token}"})
    assert client.get("/api/doc/grp-kosme-vi").status_code == 200
    assert client.get("/api/doc/grp-busan-ko").status_code == 404
    assert search(client, "qwelmoran")["total"] >= 1


def test_a_private_server_shows_nothing_before_sign_in(site: dict[str, Any], routes: list[str]) -> None:
    """VIKO_PUBLIC=0: every route but signing in (and the probes of load balancers) is a 401."""
    app = create_app(Settings.from_env(env={}, data_dir=site["data"], public=False, web_rate_per_minute=0,
                                       web_concurrent_per_client=0))
    stranger = TestClient(app)
    for url in [*routes, *START]:
        answer = stranger.get(url, follow_redirects=False)
        path = urlsplit(url).path
        if path in ("/login", "/logout", "/healthz", "/metrics", "/api/me"):
            continue
        assert answer.status_code == 401, (url, answer.status_code)
        assert not any(d["id"] in answer.text for d in PUBLIC if d["id"] not in url), url


def test_metrics_counting_hidden_documents_are_for_admins(site: dict[str, Any]) -> None:
    """/metrics counts every document of the live index, hidden ones included: admins only."""
    for person, client in site["clients"].items():
        answer = client.get("/metrics")
        if person == "ada":  # the admin
            assert answer.status_code == 200 and re.search(r"^viko_index_documents ", answer.text, re.MULTILINE)
        else:
            assert answer.status_code in (401, 403), person
            assert "viko_index_documents" not in answer.text, person


def test_an_anonymous_search_does_not_match_contact_details(site: dict[str, Any]) -> None:
    for q in ("khoi.do@greenfarm.vn", "0987 654 321"):
        assert search(site["clients"]["anonymous"], q)["total"] == 0, q
