"""The session planner: who meets whom, at which table, in which slot.

Solver: scipy.optimize.milp (HiGHS, bundled with scipy, already a dependency), on a compact
integer program. The assignment has two layers: choose meeting pairs (each party at most k
meetings, pairs under the score floor never, absent parties never, locked pairs always)
and give each a slot with at most T meetings per slot and no party twice in one slot.
Tables are interchangeable within a slot, so they are numbered after the solve (locked
meetings keep their table when they have one); this keeps the model at pairs x slots binaries
(a few thousand for 40 x 60 x 6 after the floor), which HiGHS proves optimal in well under a
second, where a table index would multiply the variables by T for nothing. A greedy loop
was not enough: it misses the optimum as soon as two good pairs compete for one party's
last meeting; linear_sum_assignment alone cannot express "at most k per party" with slots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

# HiGHS stops once it has proved the plan within this relative gap of the optimum.
MIP_GAP = 1e-6
TIME_LIMIT_S = 30.0


class PlanError(ValueError):
    """A request the planner cannot satisfy (a locked meeting that breaks a constraint...)."""


@dataclass(frozen=True)
class Meeting:
    demand: str
    offer: str
    slot: int
    table: int
    score: float
    locked: bool = False

    def to_json(self) -> dict[str, object]:
        return {"demand": self.demand, "offer": self.offer, "slot": self.slot + 1, "table": self.table + 1,
                "score": round(self.score, 4), "locked": self.locked}


@dataclass(frozen=True)
class Lock:
    demand: str
    offer: str
    slot: int | None = None
    table: int | None = None


@dataclass
class PlanRequest:
    demands: Sequence[str]
    offers: Sequence[str]
    scores: np.ndarray  # demands x offers
    tables: int = 4
    slots: int = 4
    per_party: int = 2
    floor: float = 0.0
    absent: frozenset[str] = frozenset()
    locked: tuple[Lock, ...] = ()
    removed: frozenset[tuple[str, str]] = frozenset()


@dataclass
class Plan:
    meetings: list[Meeting] = field(default_factory=list)
    total: float = 0.0
    optimum: float = 0.0
    status: str = ""

    def to_json(self) -> dict[str, object]:
        return {"meetings": [m.to_json() for m in self.meetings], "total": round(self.total, 4),
                "optimum": round(self.optimum, 4), "status": self.status}


def candidate_pairs(req: PlanRequest) -> list[tuple[int, int]]:
    """Pairs the planner may propose: both present, score at or above the floor, not removed;
    locked pairs are always candidates."""
    locked = {(lk.demand, lk.offer) for lk in req.locked}
    pairs = []
    for i, d in enumerate(req.demands):
        for j, o in enumerate(req.offers):
            if (d, o) in locked or (d not in req.absent and o not in req.absent and (d, o) not in req.removed
                  and float(req.scores[i, j]) >= req.floor):
                pairs.append((i, j))
    return pairs


def plan_session(req: PlanRequest) -> Plan:
    """The schedule with the largest total score under the request's constraints."""
    _check(req)
    pairs = candidate_pairs(req)
    if not pairs:
        return Plan(status="no pair reaches the score floor")
    n_vars = len(pairs) * req.slots
    cost = np.array([-float(req.scores[i, j]) for i, j in pairs for _ in range(req.slots)])
    rows, lower, upper = _constraints(req, pairs)
    lo, hi = np.zeros(n_vars), np.ones(n_vars)
    _apply_locks(req, pairs, lo, hi, rows, lower, upper)
    row_index = np.repeat(np.arange(len(rows)), [len(cols) for cols in rows])
    col_index = np.fromiter((c for cols in rows for c in cols), np.int64, len(row_index))
    matrix = coo_matrix((np.ones(len(row_index)), (row_index, col_index)), shape=(len(rows), n_vars)).tocsr()
    result = milp(cost, integrality=np.ones(n_vars), bounds=Bounds(lo, hi),
                  constraints=LinearConstraint(matrix, np.array(lower), np.array(upper)),
                  options={"mip_rel_gap": MIP_GAP, "time_limit": TIME_LIMIT_S})
    if result.x is None:
        raise PlanError(f"no schedule satisfies the constraints ({result.message})")
    chosen = [(pairs[int(v) // req.slots], int(v) % req.slots) for v in np.flatnonzero(result.x > 0.5)]
    meetings = _number_tables(req, chosen)
    total = float(sum(m.score for m in meetings))
    return Plan(meetings, total, float(-result.fun), "optimal" if result.status == 0 else str(result.message))


def _check(req: PlanRequest) -> None:
    if req.tables < 1 or req.slots < 1 or req.per_party < 1:
        raise PlanError("tables, slots and meetings per party must be at least 1")
    if np.shape(req.scores) != (len(req.demands), len(req.offers)):
        raise PlanError("the score matrix must have one row per demand and one column per offer")
    known_d, known_o = set(req.demands), set(req.offers)
    for lk in req.locked:
        if lk.demand not in known_d or lk.offer not in known_o:
            raise PlanError(f"locked meeting {lk.demand} – {lk.offer} is not in this session")
        if lk.slot is not None and not 0 <= lk.slot < req.slots:
            raise PlanError(f"locked meeting {lk.demand} – {lk.offer}: slot {lk.slot + 1} does not exist")
        if lk.table is not None and not 0 <= lk.table < req.tables:
            raise PlanError(f"locked meeting {lk.demand} – {lk.offer}: table {lk.table + 1} does not exist")


def _constraints(req: PlanRequest, pairs: list[tuple[int, int]]) -> tuple[list[list[int]], list[float], list[float]]:
    """Rows of the 0/1 constraint matrix as column lists, with their bounds."""
    s_count = req.slots
    rows: list[list[int]] = []
    lower: list[float] = []
    upper: list[float] = []

    def add(cols: list[int], lo: float, hi: float) -> None:
        if cols:
            rows.append(cols)
            lower.append(lo)
            upper.append(hi)

    for p in range(len(pairs)):  # a pair meets at most once
        add([p * s_count + s for s in range(s_count)], 0, 1)
    for s in range(s_count):  # one meeting per table per slot
        add([p * s_count + s for p in range(len(pairs))], 0, req.tables)
    for side in (0, 1):
        parties: dict[int, list[int]] = {}
        for p, pair in enumerate(pairs):
            parties.setdefault(pair[side], []).append(p)
        for members in parties.values():
            add([p * s_count + s for p in members for s in range(s_count)], 0, req.per_party)
            for s in range(s_count):  # never in two meetings at once
                add([p * s_count + s for p in members], 0, 1)
    return rows, lower, upper


def _apply_locks(req: PlanRequest, pairs: list[tuple[int, int]], lo: np.ndarray, hi: np.ndarray,
                 rows: list[list[int]], lower: list[float], upper: list[float]) -> None:
    position = {(req.demands[i], req.offers[j]): p for p, (i, j) in enumerate(pairs)}
    for lk in req.locked:
        p = position[(lk.demand, lk.offer)]
        if lk.slot is None:
            rows.append([p * req.slots + s for s in range(req.slots)])
            lower.append(1)
            upper.append(1)
        else:
            lo[p * req.slots + lk.slot] = 1


def _number_tables(req: PlanRequest, chosen: list[tuple[tuple[int, int], int]]) -> list[Meeting]:
    """Tables per slot: locked meetings keep theirs, the rest fill the free ones in order."""
    locks = {(lk.demand, lk.offer): lk for lk in req.locked}
    by_slot: dict[int, list[tuple[int, int]]] = {}
    for pair, slot in chosen:
        by_slot.setdefault(slot, []).append(pair)
    meetings: list[Meeting] = []
    for slot, slot_pairs in sorted(by_slot.items()):
        taken: set[int] = set()
        fixed = []
        for i, j in slot_pairs:
            lk = locks.get((req.demands[i], req.offers[j]))
            if lk is not None and lk.table is not None and lk.table not in taken:
                taken.add(lk.table)
                fixed.append((i, j, lk.table))
        free = (t for t in range(req.tables) if t not in taken)
        rest = [(i, j, next(free)) for i, j in sorted(slot_pairs, key=lambda p: -req.scores[p])
                if (i, j) not in {(a, b) for a, b, _ in fixed}]
        for i, j, table in fixed + rest:
            key = (req.demands[i], req.offers[j])
            meetings.append(Meeting(key[0], key[1], slot, table, float(req.scores[i, j]), key in locks))
    return sorted(meetings, key=lambda m: (m.slot, m.table))


def validate(plan: Plan, req: PlanRequest) -> list[str]:
    """Every broken rule of a plan, as sentences (empty when the plan is valid)."""
    problems = []
    seen_table: set[tuple[int, int]] = set()
    seen_party: set[tuple[str, int]] = set()
    per_party: dict[str, int] = {}
    pairs: set[tuple[str, str]] = set()
    for m in plan.meetings:
        if (m.slot, m.table) in seen_table:
            problems.append(f"table {m.table + 1} has two meetings in slot {m.slot + 1}")
        seen_table.add((m.slot, m.table))
        for party in (m.demand, m.offer):
            if (party, m.slot) in seen_party:
                problems.append(f"{party} is double-booked in slot {m.slot + 1}")
            seen_party.add((party, m.slot))
            per_party[party] = per_party.get(party, 0) + 1
        if (m.demand, m.offer) in pairs:
            problems.append(f"{m.demand} meets {m.offer} twice")
        pairs.add((m.demand, m.offer))
        if not (0 <= m.slot < req.slots and 0 <= m.table < req.tables):
            problems.append(f"{m.demand} – {m.offer} is outside the session's tables and slots")
        if not m.locked and (m.score < req.floor or m.demand in req.absent or m.offer in req.absent):
            problems.append(f"{m.demand} – {m.offer} should not be proposed")
    problems += [f"{p} has {n} meetings (at most {req.per_party})" for p, n in per_party.items() if n > req.per_party]
    return problems
