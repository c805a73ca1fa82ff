"""Accounts, roles and document visibility (issue 24): `viko user ...` through the installed
CLI, argon2 password hashes, API tokens and their revocation, signed session cookies (flags,
the end of a session on a password change), roles and their refusals, throttled sign-ins,
CSRF tokens on session changes, the audit log, a private server (VIKO_PUBLIC=0), and
`viko visibility` taking effect in search at once. The fake encoder keeps it fast (no model)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from viko.cli import main
from viko.corpus.access import AccessError
from viko.corpus.accounts import Accounts
from viko.corpus.catalogue import Catalogue
from viko.corpus.document import make_document
from viko.settings import Settings
from viko.web.app import create_app
from viko.web.auth import PRE_SESSION_COOKIE, SESSION_COOKIE
from viko.web.limits import FAILED_TOKENS_PER_MINUTE

from helpers import SMALL_DOCS, FakeEncoder

VIKO = Path(sys.executable).with_name("viko")
TOKEN = "an-admin-token-long-enough-77"
PASSWORD = "correct horse battery"
# Words that occur in one document each, so a search for them finds that document or nothing.
PUBLIC_WORD, INTERNAL_WORD, GROUP_WORD = "plorvex", "zorblat", "quaxifon"
EXTRA_DOCS = [
    {"id": "open-note", "lang": "vi", "type": "news", "title": "Tin hợp tác",
     "text": f"Bản tin công khai về dự án {PUBLIC_WORD}. Dự án {PUBLIC_WORD} hợp tác đào tạo."},
    {"id": "memo-internal", "lang": "vi", "type": "report", "title": "Biên bản nội bộ", "visibility": "internal",
     "text": f"Biên bản nội bộ về dự án {INTERNAL_WORD}. Dự án {INTERNAL_WORD} đang đàm phán."},
    {"id": "memo-group", "lang": "vi", "type": "report", "title": "Ghi chú nhóm", "visibility": "group:team-a",
     "text": f"Ghi chú của nhóm về dự án {GROUP_WORD}. Dự án {GROUP_WORD} chưa công bố."},
]
USERS = {"rita": ("reader", ()), "gina": ("reader", ("team-a",)), "eddie": ("editor", ()),
         "olga": ("organiser", ()), "ada": ("admin", ())}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SMALL_DOCS and one public, one internal and one group document, indexed, with one
    account per role. Tests that change visibility or passwords work on a copy (`fresh`)."""
    from viko.runtime import run_index

    folder = tmp_path_factory.mktemp("accounts")
    with Catalogue.open(folder / "catalogue.sqlite") as cat:
        cat.upsert_many([make_document(d) for d in [*SMALL_DOCS, *EXTRA_DOCS]])
        for name, (role, groups) in USERS.items():
            Accounts(cat).add(name, role, PASSWORD, groups)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())
        run_index(Settings(data_dir=folder))
    return folder


@pytest.fixture
def fresh(data: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(data, folder)
    return folder


@pytest.fixture
def make_client(data: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., TestClient]:
    monkeypatch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())

    def make(folder: Path = data, base_url: str = "http://testserver", **overrides: object) -> TestClient:
        values: dict[str, object] = {"data_dir": folder, "admin_token": TOKEN, "web_rate_per_minute": 0,
                                     "web_concurrent_per_client": 0, **overrides}
        return TestClient(create_app(Settings(**values)), base_url=base_url)  # type: ignore[arg-type]

    return make


@pytest.fixture
def client(make_client: Callable[..., TestClient], fresh: Path) -> Iterator[TestClient]:
    """A client of a copy of the data: what one test writes, another never reads."""
    with make_client(fresh) as c:
        yield c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
    assert found, "no CSRF token in the page's forms"
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> None:
    csrf = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"username": name, "password": password, "csrf_token": csrf},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text[-500:]
    assert client.get("/api/me").json()["name"] == name


def me(client: TestClient, headers: dict[str, str] | None = None) -> dict[str, object]:
    answer = client.get("/api/me", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def found(client: TestClient, word: str) -> list[str]:
    return [h["id"] for h in client.get("/api/search", params={"q": word}).raise_for_status().json()["hits"]]


def viko(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The installed `viko`, as a user runs it (no VIKO_* variable of this process leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIKO_")}
    return subprocess.run([str(VIKO), *args], input=stdin, env=env, capture_output=True, text=True, timeout=300)


def test_user_commands_through_the_installed_cli(tmp_path: Path, make_client: Callable[..., TestClient]) -> None:
    d = ["--data", str(tmp_path)]
    added = viko(*d, "user", "add", "mai", "--role", "editor", "--group", "Team-A", "--group", "hq",
                 "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert "added mai (editor, groups hq, team-a)" in added.stdout
    again = viko(*d, "user", "add", "mai", "--role", "reader", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode == 2 and "exists" in again.stderr
    short = viko(*d, "user", "add", "kim", "--role", "reader", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "10 to 1024 characters" in short.stderr
    listed = viko(*d, "user", "list")
    assert listed.returncode == 0 and listed.stdout.startswith("mai\teditor\thq,team-a\t")
    assert "kim" not in listed.stdout
    with Catalogue.open(tmp_path / "catalogue.sqlite", readonly=True) as cat:
        stored = cat.conn.execute("SELECT password_hash FROM users WHERE name='mai'").fetchone()[0]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    issued = viko(*d, "user", "token", "mai", "--label", "laptop")
    token = issued.stdout.strip()
    assert issued.returncode == 0 and token.startswith("viko_") and len(token) > 40
    with make_client(tmp_path) as client:
        assert me(client, {"Authorization": f"Bearer {token}"}) == {
            "name": "mai", "role": "editor", "groups": ["hq", "team-a"], "may": ["read", "edit"]}
        revoked = viko(*d, "user", "revoke", "mai")
        assert revoked.returncode == 0 and "revoked 1 token of mai" in revoked.stdout
        refused = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 401 and "not valid" in refused.json()["detail"]
        sign_in(client, "mai")
        changed = viko(*d, "user", "passwd", "mai", "--password-stdin", stdin="another good password\n")
        assert changed.returncode == 0 and "password changed for mai" in changed.stdout
        assert me(client)["name"] == ""  # the session signed before the change ends
        sign_in(client, "mai", "another good password")
        removed = viko(*d, "user", "remove", "mai")
        assert removed.returncode == 0 and "removed mai" in removed.stdout
        assert me(client)["name"] == ""  # and so do those of a removed user
    assert viko(*d, "user", "list").stdout == ""
    gone = viko(*d, "user", "remove", "mai")
    assert gone.returncode == 2 and "no user 'mai'" in gone.stderr
    log = viko(*d, "audit").stdout.splitlines()
    assert [line.split("\t")[1:3] for line in log] == [
        ["cli", "user remove"], ["cli", "user passwd"], ["cli", "tokens revoked"], ["cli", "token issued"],
        ["cli", "user add"]]


def test_passwords_are_hashed_with_argon2_and_never_stored(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.sqlite"
    secret = "a very particular password 12345"
    with Catalogue.open(path) as cat:
        accounts = Accounts(cat)
        accounts.add("lan", "reader", secret)
        with pytest.raises(AccessError, match="exists"):
            accounts.add("lan", "reader", secret)
        with pytest.raises(AccessError, match="role 'boss'"):
            accounts.add("minh", "boss", secret)
        with pytest.raises(AccessError, match="user name"):
            accounts.add("no spaces please", "reader", secret)
        assert accounts.verify("lan", secret) is not None
        assert accounts.verify("lan", secret + "x") is None and accounts.verify("nobody", secret) is None
        token = accounts.new_token("lan")
        assert accounts.token_user(token) is not None and accounts.token_user(token + "x") is None
        stored = cat.conn.execute("SELECT password_hash FROM users").fetchone()[0]
        assert stored.startswith("$argon2id$")
        cat.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    written = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("catalogue.sqlite"))
    assert secret.encode() not in written and token.encode() not in written  # only digests are kept


def test_a_hash_made_with_older_parameters_is_upgraded_at_sign_in(
        fresh: Path, make_client: Callable[..., TestClient]) -> None:
    from argon2 import PasswordHasher

    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with Catalogue.open(fresh / "catalogue.sqlite") as cat, cat.conn:
        cat.conn.execute("UPDATE users SET password_hash=? WHERE name='rita'", (old,))
    with make_client(fresh) as client:
        sign_in(client, "rita")
    with Catalogue.open(fresh / "catalogue.sqlite") as cat:
        stored = cat.conn.execute("SELECT password_hash FROM users WHERE name='rita'").fetchone()[0]
    assert stored != old and not PasswordHasher().check_needs_rehash(stored)
    assert PasswordHasher().verify(stored, PASSWORD)


def test_a_revoked_token_is_refused(fresh: Path, make_client: Callable[..., TestClient]) -> None:
    with Catalogue.open(fresh / "catalogue.sqlite") as cat:
        token = Accounts(cat).new_token("eddie")
    with make_client(fresh) as client:
        bearer = {"Authorization": f"Bearer {token}"}
        assert me(client, bearer)["name"] == "eddie" and me(client, {"X-Viko-Token": token})["role"] == "editor"
        entry = {"vi": "nông trại", "ko": "농장"}
        assert client.post("/api/glossary", json=entry, headers=bearer).status_code == 200
        with Catalogue.open(fresh / "catalogue.sqlite") as cat:
            assert Accounts(cat).revoke_tokens("eddie") == 1
        assert client.get("/api/me", headers=bearer).status_code == 401
        refused = client.post("/api/glossary", json=entry, headers=bearer)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"


def test_a_password_change_ends_the_sessions(fresh: Path, make_client: Callable[..., TestClient]) -> None:
    with make_client(fresh) as client, make_client(fresh) as other:
        sign_in(client, "rita")
        sign_in(other, "rita")
        assert CliRunner().invoke(main, ["--data", str(fresh), "user", "passwd", "rita", "--password-stdin"],
                                  input="a brand new password\n").exit_code == 0
        assert me(client)["name"] == "" and me(other)["name"] == ""
        csrf = csrf_of(client.get("/login").text)
        old = client.post("/login", data={"username": "rita", "password": PASSWORD, "csrf_token": csrf})
        assert old.status_code == 401 and me(client)["name"] == ""
        sign_in(client, "rita", "a brand new password")


def test_the_session_cookie_is_httponly_lax_and_secure_behind_https(make_client: Callable[..., TestClient]) -> None:
    for base, secure in (("http://testserver", False), ("https://testserver", True)):
        with make_client(base_url=base) as client:
            page = client.get("/login")
            assert PRE_SESSION_COOKIE in client.cookies
            answer = client.post("/login", data={"username": "rita", "password": PASSWORD,
                                                 "csrf_token": csrf_of(page.text)}, follow_redirects=False)
            assert answer.status_code == 303 and answer.headers["location"] == "/"
            cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "="))
            flags = {f.strip().split("=")[0].lower(): f.strip() for f in cookie.split(";")[1:]}
            assert "httponly" in flags and flags["samesite"].lower() == "samesite=lax"
            assert ("secure" in flags) is secure, cookie
            assert flags["max-age"] == f"Max-Age={12 * 3600}"  # session_hours' default: it expires
            assert me(client)["name"] == "rita"


def test_a_tampered_or_foreign_session_cookie_is_anonymous(make_client: Callable[..., TestClient]) -> None:
    with make_client() as client:
        sign_in(client, "ada")
        value = client.cookies[SESSION_COOKIE]
    forged = (value[:-2] + ("AA" if not value.endswith("AA") else "BB"), value.replace(".", "x", 1))
    # ('': this data directory's key) and the genuine cookie signed with another server's key
    for cookie, key in [*((f, "") for f in forged), (value, "another-key-another-key-another-key")]:
        with make_client(secret_key=key) as client:
            client.cookies.set(SESSION_COOKIE, cookie)
            assert me(client)["name"] == "", (cookie, key)


def test_roles_decide_what_may_be_changed(client: TestClient) -> None:
    entry = {"vi": "thủy sản", "ko": "수산"}
    anonymous = client.post("/api/glossary", json=entry)
    assert anonymous.status_code == 401 and "sign in" in anonymous.json()["detail"]
    assert client.get("/api/audit").status_code == 401
    for name, allowed in (("rita", False), ("olga", False), ("eddie", True), ("ada", True)):
        client.cookies.clear()
        sign_in(client, name)
        headers = {"X-CSRF-Token": csrf_of(client.get("/").text)}
        answer = client.post("/api/glossary", json=entry, headers=headers)
        refusal = f"{name} is {'an' if name == 'olga' else 'a'} {USERS[name][0]}: this needs the editor role"
        assert (answer.status_code, answer.json().get("detail")) == ((200, None) if allowed else (403, refusal))
    client.cookies.clear()
    sign_in(client, "olga")  # the planner names every party: organisers (and admins) only
    assert client.get("/api/planner").status_code == 200 and me(client)["may"] == ["read", "organise"]
    client.cookies.clear()
    sign_in(client, "eddie")
    planner = client.get("/api/planner")
    assert planner.status_code == 403 and planner.json()["detail"] == "eddie is an editor: this needs the organiser role"
    audit = client.get("/api/audit")
    assert audit.status_code == 403 and audit.json()["detail"] == "eddie is an editor: this needs the admin role"
    assert me(client)["may"] == ["read", "edit"]


def test_sign_in_is_rate_limited(make_client: Callable[..., TestClient]) -> None:
    with make_client() as client:
        csrf = csrf_of(client.get("/login").text)
        for _ in range(FAILED_TOKENS_PER_MINUTE):
            wrong = client.post("/login", data={"username": "ada", "password": "not the password", "csrf_token": csrf})
            assert wrong.status_code == 401
        blocked = client.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": csrf})
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
        assert "too many failed sign-ins" in blocked.text and SESSION_COOKIE not in client.cookies
    with make_client() as fresh_server:  # a wrong password is throttled, a right one is not
        sign_in(fresh_server, "ada")


def test_a_session_change_needs_its_csrf_token(client: TestClient) -> None:
    refused = client.post("/login", data={"username": "eddie", "password": PASSWORD})
    assert refused.status_code == 403 and "CSRF" in refused.text  # a sign-in forged by another site
    sign_in(client, "eddie")
    page = client.get("/glossary")
    csrf = csrf_of(page.text)
    form = {"vi": "máy bay không người lái", "ko": "드론"}
    missing = client.post("/glossary", data=form, follow_redirects=False)
    assert missing.status_code == 403 and "CSRF" in missing.text
    wrong = client.post("/glossary", data={**form, "csrf_token": "0" * 64}, follow_redirects=False)
    assert wrong.status_code == 403
    assert client.post("/api/glossary", json=form).status_code == 403  # the API through a session, too
    done = client.post("/glossary", data={**form, "csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    assert any(e["ko"] == "드론" for e in client.get("/api/glossary", params={"q": "드론"}).json()["entries"])
    assert client.post("/api/glossary", json=form, headers={"X-CSRF-Token": csrf}).status_code == 200
    refused = client.post("/logout", follow_redirects=False)  # signing out, too: not by another site's form
    assert refused.status_code == 403 and me(client)["name"] == "eddie"
    done = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303 and me(client)["name"] == ""


def test_the_audit_log_names_who_changed_what_and_only_admins_read_it(
        fresh: Path, make_client: Callable[..., TestClient]) -> None:
    with make_client(fresh) as client:
        sign_in(client, "eddie")
        csrf = {"X-CSRF-Token": csrf_of(client.get("/").text)}
        line = '{"id": "audit-doc", "lang": "vi", "title": "Mới", "text": "Tài liệu mới về điện gió."}\n'
        assert client.post("/api/admin/import", content=line, headers=csrf).json()["added"] == 1
        assert client.post("/api/glossary", json={"vi": "điện gió", "ko": "풍력"}, headers=csrf).status_code == 200
        decision = {"doc_id": "mou-vi", "other_id": "mou-ko", "decision": "confirmed"}
        assert client.post("/api/counterpart", json=decision, headers=csrf).status_code == 200
        assert client.get("/api/audit").status_code == 403 and client.get("/audit").status_code == 403
        client.cookies.clear()
        assert client.get("/api/audit").status_code == 401
        sign_in(client, "ada")
        entries = client.get("/api/audit").json()["entries"]
        mine = [(e["actor"], e["action"], e["target"]) for e in entries if e["actor"] == "eddie"]
        assert mine == [("eddie", "counterpart confirmed", "mou-vi / mou-ko"), ("eddie", "glossary saved", "điện gió"),
                        ("eddie", "import documents", "")]
        page = client.get("/audit")
        assert page.status_code == 200 and "counterpart confirmed" in page.text and "eddie" in page.text
        by_token = client.get("/api/audit", headers={"Authorization": f"Bearer {TOKEN}"})
        assert by_token.status_code == 200 and by_token.json()["entries"][0]["action"] == "counterpart confirmed"


def test_a_private_server_needs_a_sign_in_for_every_page(make_client: Callable[..., TestClient]) -> None:
    with make_client(public=False) as client:
        for path in ("/", "/api/search?q=hợp tác", "/doc/mou-vi", "/api/doc/mou-vi", "/status", "/api/status",
                     "/glossary", "/concordance?q=hợp"):
            answer = client.get(path)
            assert answer.status_code == 401, (path, answer.status_code)
            assert PUBLIC_WORD not in answer.text and "Hải Phòng" not in answer.text, path
        assert client.get("/login").status_code == 200 and me(client)["name"] == ""
        sign_in(client, "rita")
        assert client.get("/").status_code == 200 and "open-note" in found(client, PUBLIC_WORD)
    with make_client() as public:
        assert public.get("/").status_code == 200 and "open-note" in found(public, PUBLIC_WORD)


def test_each_viewer_finds_what_they_may_see(client: TestClient) -> None:
    # who: (finds the internal document, finds team-a's document)
    expected = {"": (False, False), "rita": (True, False), "gina": (True, True), "ada": (True, True)}
    for name, (internal, group) in expected.items():
        client.cookies.clear()
        if name:
            sign_in(client, name)
        assert found(client, PUBLIC_WORD) == ["open-note"], name
        # the document comes first for who may see it, and not at all for anyone else (the
        # fake encoder's neighbours may follow it)
        assert (found(client, INTERNAL_WORD)[:1] == ["memo-internal"]) is internal, name
        assert ("memo-internal" in found(client, INTERNAL_WORD)) is internal, name
        assert (found(client, GROUP_WORD)[:1] == ["memo-group"]) is group, name
        assert ("memo-group" in found(client, GROUP_WORD)) is group, name
        assert (client.get("/api/doc/memo-group").status_code == 200) is group, name


def test_the_visibility_command_changes_anonymous_search_at_once(
        fresh: Path, make_client: Callable[..., TestClient]) -> None:
    def visibility(value: str) -> None:
        result = CliRunner().invoke(main, ["--data", str(fresh), "visibility", "open-note", value])
        assert result.exit_code == 0 and result.stdout.strip() == f"open-note: {value}", result.output

    with make_client(fresh) as anonymous, make_client(fresh) as reader:
        sign_in(reader, "rita")
        assert found(anonymous, PUBLIC_WORD) == ["open-note"]
        visibility("internal")
        assert found(anonymous, PUBLIC_WORD) == [] and found(reader, PUBLIC_WORD) == ["open-note"]
        assert anonymous.get("/api/search", params={"q": PUBLIC_WORD}).json()["total"] == 0
        assert anonymous.get("/api/doc/open-note").status_code == 404
        visibility("group:team-b")
        assert found(reader, PUBLIC_WORD) == []  # rita is in no group
        visibility("public")
        assert found(anonymous, PUBLIC_WORD) == ["open-note"]
    bad = CliRunner().invoke(main, ["--data", str(fresh), "visibility", "open-note", "secret"])
    assert bad.exit_code == 2 and "use public, internal or group:NAME" in bad.output
    missing = CliRunner().invoke(main, ["--data", str(fresh), "visibility", "no-such-doc", "internal"])
    assert missing.exit_code == 2 and "no document" in missing.output
    log = CliRunner().invoke(main, ["--data", str(fresh), "audit", "--limit", "3"]).stdout.splitlines()
    assert [line.split("\t")[1:] for line in log] == [["cli", "visibility", "open-note", v]
                                                       for v in ("public", "group:team-b", "internal")]
