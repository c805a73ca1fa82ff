"""`viko match`, `viko plan-session` and the matchmaking API on the indexed demo corpus
(real encoder): the exact JSON contract, errors, planner edits with the token, downloads,
and match quality on the demo's graded demands."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from viko.cli import main
from viko.settings import Settings
from viko.web.app import create_app

pytestmark = pytest.mark.model
TOKEN = "s3cret-planner-token-0123"
DEMAND = "hp-port-yard-demand-vi"


@pytest.fixture(scope="module")
def data(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy: the planner writes its session into the data directory."""
    folder = tmp_path_factory.mktemp("matching") / "data"
    shutil.copytree(demo_data, folder)
    return folder


def viko(data: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--data", str(data), *args])
    return result.exit_code, result.stdout, result.stderr


def test_match_json_contract_both_directions(data: Path) -> None:
    code, out, _ = viko(data, "match", "--json", "--limit", "3", DEMAND)
    assert code == 0
    body = json.loads(out)
    assert set(body) == {"id", "kind", "matches"} and body["id"] == DEMAND and body["kind"] == "demand"
    assert len(body["matches"]) == 3
    for m in body["matches"]:
        assert set(m) == {"id", "lang", "title", "score", "why"}
        assert {"passages", "glossary_terms", "shared_terms", "sectors", "region"} <= set(m["why"])
    assert body["matches"][0]["id"] == "gy-port-yard-tos-offer-ko"
    assert body["matches"][0]["why"]["sectors"] == ["port_logistics"]
    scores = [m["score"] for m in body["matches"]]
    assert scores == sorted(scores, reverse=True)
    code, out, _ = viko(data, "match", "--json", "--limit", "3", "jn-ag-drone-offer-ko")
    reverse = json.loads(out)
    assert reverse["kind"] == "offer" and reverse["matches"][0]["id"] == "tb-rice-drone-demand-vi"


def test_match_refuses_other_documents(data: Path) -> None:
    code, _, err = viko(data, "match", "hp-jn-renewable-mou-vi")
    assert code != 0 and "offer or a demand" in err
    code, out, _ = viko(data, "match", DEMAND)
    assert code == 0 and "gy-port-yard-tos-offer-ko" in out


def test_plan_session_json_and_printouts(data: Path, tmp_path: Path) -> None:
    demands = "hp-port-yard-demand-vi,tb-rice-drone-demand-vi,hp-factory-ess-demand-vi"
    code, out, _ = viko(data, "plan-session", "--json", "--tables", "2", "--slots", "2", "--per-party", "1",
                        "--demands", demands, "--out", str(tmp_path / "print"))
    assert code == 0
    plan = json.loads(out)
    meetings = plan["meetings"]
    assert 0 < len(meetings) <= 3 and {m["demand"] for m in meetings} <= set(demands.split(","))
    assert len({(m["slot"], m["table"]) for m in meetings}) == len(meetings)
    assert plan["total"] == pytest.approx(plan["optimum"], abs=1e-3)
    assert {p.name for p in (tmp_path / "print").iterdir()} == {"agenda.csv", "agenda.xlsx", "agenda.html", "briefs.html"}
    briefs = (tmp_path / "print" / "briefs.html").read_text(encoding="utf-8")
    assert "@media print" in briefs and "<mark>" in briefs
    rows = list(csv.DictReader(io.StringIO((tmp_path / "print" / "agenda.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == len(meetings) and rows[0]["slot"] == "1"


def test_match_quality_on_the_demo_dev_set(data: Path) -> None:
    from bench.matching import evaluate, load_qrels
    from viko.matching.service import load_matcher
    from viko.runtime import build_engine

    settings = Settings.from_env(env={}, data_dir=data)
    matcher = load_matcher(settings.catalogue_path, build_engine(settings))
    qrels = load_qrels()
    ndcg, best_in_3 = evaluate({d: [m.record.id for m in matcher.match(d, 10).matches] for d in qrels}, qrels)
    assert ndcg >= 0.85 and best_in_3 >= len(qrels) - 1


@pytest.fixture(scope="module")
def client(data: Path) -> TestClient:
    return TestClient(create_app(Settings.from_env(env={}, data_dir=data, admin_token=TOKEN)))


def test_match_api_and_page(client: TestClient) -> None:
    api = client.get(f"/api/match/{DEMAND}", params={"limit": 2}).json()
    assert api["id"] == DEMAND and api["kind"] == "demand" and len(api["matches"]) == 2
    assert api["record"]["sectors"] == ["port_logistics"]
    page = client.get(f"/match/{DEMAND}?ui=ko")
    assert page.status_code == 200 and "gy-port-yard-tos-offer-ko" in page.text and "<mark" in page.text
    assert "이 수요에 맞는 공급 기술" in page.text
    assert client.get("/api/match/hp-jn-renewable-mou-vi").status_code == 404
    assert client.get("/match/no-such-id").status_code == 404
    by_sector = client.get("/api/matching", params={"sector": "aquaculture", "kind": "offer"}).json()
    assert by_sector["records"] and all("aquaculture" in r["sectors"] and r["kind"] == "offer" for r in by_sector["records"])


def test_planner_edits_need_the_token_and_are_kept(client: TestClient) -> None:
    plan = client.get("/api/planner").json()
    assert plan["meetings"] and plan["editable"]
    first, second = plan["meetings"][0], plan["meetings"][1]
    lock = {"action": "lock", "demand": first["demand"], "offer": first["offer"]}
    assert client.post("/api/planner", json=lock).status_code == 401
    assert client.post("/api/planner", json=lock, headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.post("/api/planner", json=lock, headers={"Authorization": f"Bearer {TOKEN}"}).json()
    locked = [m for m in ok["meetings"] if m["locked"]]
    assert [(m["demand"], m["offer"], m["slot"], m["table"]) for m in locked] == [
        (first["demand"], first["offer"], first["slot"], first["table"])]
    form = client.post("/planner", data={"action": "remove", "demand": second["demand"], "offer": second["offer"],
                                         "token": TOKEN}, follow_redirects=False)
    assert form.status_code == 303
    after = client.post("/api/planner", json={"action": "replan", "slots": 2, "tables": 3},
                        headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert (after["slots"], after["tables"]) == (2, 3) and len(after["meetings"]) <= 6
    assert (second["demand"], second["offer"]) not in {(m["demand"], m["offer"]) for m in after["meetings"]}
    assert any(m["locked"] for m in after["meetings"])
    client.post("/api/planner", json={"action": "reset"}, headers={"Authorization": f"Bearer {TOKEN}"})


def test_planner_downloads(client: TestClient) -> None:
    from openpyxl import load_workbook

    xlsx = client.get("/api/planner/agenda.xlsx")
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    assert [c.value for c in sheet[1]][:4] == ["slot", "table", "demand_id", "demand_title"]
    assert client.get("/api/planner/agenda.csv").text.lstrip("\ufeff").startswith("slot,table,demand_id")
    assert "@media print" in client.get("/api/planner/briefs.html").text
    assert client.get("/api/planner/agenda.pdf").status_code == 404


def test_planner_is_read_only_without_a_token(data: Path) -> None:
    plain = TestClient(create_app(Settings.from_env(env={}, data_dir=data)))
    assert plain.get("/api/planner").json()["editable"] is False
    assert plain.post("/api/planner", json={"action": "reset"}, headers={"Authorization": "Bearer x"}).status_code == 403
