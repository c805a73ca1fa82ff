"""The session planner: every constraint, locks, and optimality against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from viko.matching.plan import Lock, Plan, PlanError, PlanRequest, plan_session, validate


def request(scores: np.ndarray, **kw: object) -> PlanRequest:
    d = [f"d{i}" for i in range(scores.shape[0])]
    o = [f"o{j}" for j in range(scores.shape[1])]
    return PlanRequest(d, o, scores, **kw)  # type: ignore[arg-type]


def brute_force(req: PlanRequest) -> float:
    """Best total by trying every slot (or none) for every allowed pair."""
    pairs = [(i, j) for i in range(len(req.demands)) for j in range(len(req.offers))
             if req.scores[i, j] >= req.floor and req.demands[i] not in req.absent and req.offers[j] not in req.absent]
    best = 0.0
    for choice in itertools.product(range(-1, req.slots), repeat=len(pairs)):
        per_slot = [0] * req.slots
        busy: set[tuple[str, int]] = set()
        count: dict[str, int] = {}
        total, ok = 0.0, True
        for (i, j), s in zip(pairs, choice, strict=True):
            if s < 0:
                continue
            per_slot[s] += 1
            for party in (f"d{i}", f"o{j}"):
                ok &= (party, s) not in busy
                busy.add((party, s))
                count[party] = count.get(party, 0) + 1
            total += float(req.scores[i, j])
        ok &= max(per_slot) <= req.tables and max(count.values(), default=0) <= req.per_party
        if ok:
            best = max(best, total)
    return best


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_optimal_against_brute_force(seed: int) -> None:
    scores = np.round(np.random.default_rng(seed).random((3, 3)), 3)
    req = request(scores, tables=1, slots=2, per_party=2, floor=0.2)
    plan = plan_session(req)
    assert not validate(plan, req)
    assert plan.total == pytest.approx(brute_force(req), abs=1e-6)
    assert plan.total == pytest.approx(plan.optimum, abs=1e-6)


def test_more_tables_than_a_greedy_choice_allows() -> None:
    # Greedy takes d0-o0 (0.9) first and then only d1-o1 (0.1); the optimum pairs crosswise.
    scores = np.array([[0.9, 0.8], [0.7, 0.1]])
    req = request(scores, tables=2, slots=1, per_party=1)
    assert plan_session(req).total == pytest.approx(1.5)


def test_constraints_floor_absent_tables_and_k() -> None:
    rng = np.random.default_rng(5)
    req = request(rng.random((6, 8)), tables=2, slots=3, per_party=2, floor=0.3, absent=frozenset({"o3", "d5"}))
    plan = plan_session(req)
    assert not validate(plan, req)
    assert len(plan.meetings) <= 2 * 3
    assert all(m.score >= 0.3 for m in plan.meetings)
    assert not {m.offer for m in plan.meetings} & {"o3"} and "d5" not in {m.demand for m in plan.meetings}
    seen = {(m.slot, m.table) for m in plan.meetings}
    assert len(seen) == len(plan.meetings)


def test_locks_are_kept_removed_pairs_never_return() -> None:
    scores = np.array([[0.9, 0.2], [0.8, 0.7]])
    req = request(scores, tables=1, slots=2, per_party=1, floor=0.5,
                  locked=(Lock("d0", "o1", slot=1, table=0),), removed=frozenset({("d1", "o1")}))
    plan = plan_session(req)
    keys = {(m.demand, m.offer): m for m in plan.meetings}
    assert keys[("d0", "o1")].slot == 1 and keys[("d0", "o1")].locked  # below the floor, but locked
    assert ("d1", "o1") not in keys and ("d1", "o0") in keys
    assert not validate(plan, req)


def test_bad_requests_are_refused() -> None:
    with pytest.raises(PlanError):
        plan_session(request(np.ones((2, 2)), tables=0))
    with pytest.raises(PlanError, match="not in this session"):
        plan_session(request(np.ones((2, 2)), locked=(Lock("d9", "o0"),)))
    empty = plan_session(request(np.zeros((2, 2)), floor=0.5))
    assert empty.meetings == [] and empty.status


def test_validate_reports_double_booking() -> None:
    from viko.matching.plan import Meeting

    req = request(np.ones((2, 2)), tables=2, slots=1, per_party=2)
    bad = Plan([Meeting("d0", "o0", 0, 0, 1.0), Meeting("d0", "o1", 0, 0, 1.0)])
    problems = validate(bad, req)
    assert any("double-booked" in p for p in problems) and any("table 1" in p for p in problems)


def test_a_party_is_never_in_two_meetings_at_once() -> None:
    # Two tables free in the only slot, and d0 may have two meetings: it still gets one.
    req = request(np.array([[0.9, 0.8]]), tables=2, slots=1, per_party=2)
    plan = plan_session(req)
    assert len(plan.meetings) == 1 and not validate(plan, req)
    two_slots = plan_session(request(np.array([[0.9, 0.8]]), tables=2, slots=2, per_party=2))
    assert sorted(m.slot for m in two_slots.meetings) == [0, 1]


def test_optimal_against_brute_force_with_two_tables() -> None:
    scores = np.round(np.random.default_rng(11).random((3, 3)), 3)
    req = request(scores, tables=2, slots=2, per_party=2, floor=0.3)
    plan = plan_session(req)
    assert not validate(plan, req) and plan.total == pytest.approx(brute_force(req), abs=1e-6)
