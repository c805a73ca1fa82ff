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

from viko.matching.clock import DEFAULT_SLOT_MINUTES, DEFAULT_START, Clock
from viko.matching.match import WEAK_BELOW, Matcher
from viko.matching.plan import Lock, Plan, PlanRequest, plan_session

# Pairs scoring under this are never proposed: the line under which a match is weak.
DEFAULT_FLOOR = WEAK_BELOW
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
    start: str = DEFAULT_START  # the clock: first slot's start, slot length, breaks after slots
    slot_minutes: int = DEFAULT_SLOT_MINUTES
    breaks: tuple[tuple[int, int], ...] = ()

    @property
    def clock(self) -> Clock:
        return Clock(self.start, self.slot_minutes, self.breaks)

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
    """The planner's input, by party: an id in the settings may name any version of a party
    (the CLI's and the page's ids, an older session file's), and counts for the whole party.
    Unknown ids are left out and reported."""
    errors: list[str] = []
    demands = _known(matcher, config.demands, "demand", errors) if config.demands else matcher.party_ids("demand")
    offers = _known(matcher, config.offers, "offer", errors) if config.offers else matcher.party_ids("offer")
    present = set(demands) | set(offers)
    locks: dict[tuple[str, str], Lock] = {}
    for d, o, slot, table in config.locked:
        pair = (_party_id(matcher, d), _party_id(matcher, o))
        if pair[0] in present and pair[1] in present:
            locks[pair] = Lock(pair[0], pair[1], slot, table)
        else:
            errors.append(f"locked meeting {d} – {o} left out: not in this session")
    absent = frozenset(_party_id(matcher, a) for a in config.absent)
    removed = frozenset((_party_id(matcher, d), _party_id(matcher, o)) for d, o in config.removed)
    request = PlanRequest(demands, offers, matcher.score_matrix(demands, offers), tables=config.tables,
                          slots=config.slots, per_party=config.per_party, floor=config.floor,
                          absent=absent, locked=tuple(locks.values()), removed=removed)
    return request, errors


def _party_id(matcher: Matcher, record_id: str) -> str:
    party = matcher.parties.of(record_id)
    return party.id if party is not None else record_id


def _known(matcher: Matcher, ids: tuple[str, ...], kind: str, errors: list[str]) -> list[str]:
    out: list[str] = []
    for rid in ids:
        party = matcher.parties.of(rid)
        if party is None or party.kind != kind:
            errors.append(f"{rid!r} is not an indexed {kind}: left out")
        elif party.id not in out:
            out.append(party.id)
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
            removed=tuple((str(a), str(b)) for a, b in raw.get("removed", ())),
            start=str(raw.get("start", DEFAULT_START)), slot_minutes=int(raw.get("slot_minutes", DEFAULT_SLOT_MINUTES)),
            breaks=tuple((int(a), int(b)) for a, b in raw.get("breaks", ())))

    def save(self, config: SessionConfig) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(config), ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)


def _opt(value: object) -> int | None:
    return None if value is None else int(str(value))
