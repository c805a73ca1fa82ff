"""The session's clock: when each slot starts and ends, from the session's start, the length
of a slot and the breaks between slots ("after slot 2, 15 minutes"). The agenda, the briefs
and the planner page print these times; the solver only knows slot numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_START = "09:00"
DEFAULT_SLOT_MINUTES = 20
_TIME = re.compile(r"^\s*([01]?\d|2[0-3])[:h.]([0-5]\d)\s*$")


class ClockError(ValueError):
    """A start time or a list of breaks that cannot be read."""


def parse_time(text: str) -> int:
    """Minutes after midnight of '09:00', '9:30', '14h00'."""
    match = _TIME.match(text or "")
    if match is None:
        raise ClockError(f"{text!r} is not a time of day (use HH:MM, e.g. 09:00)")
    return int(match.group(1)) * 60 + int(match.group(2))


def format_time(minutes: int) -> str:
    minutes %= 24 * 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_breaks(text: str) -> tuple[tuple[int, int], ...]:
    """'2:15, 4:60' -> ((2, 15), (4, 60)): after slot 2 a 15-minute break, after slot 4 an hour."""
    out: dict[int, int] = {}
    for part in re.split(r"[,;\s]+", text or ""):
        if not part:
            continue
        match = re.fullmatch(r"(\d{1,3})[:=](\d{1,3})", part)
        if match is None:
            raise ClockError(f"{part!r}: a break is SLOT:MINUTES, e.g. 2:15 (after slot 2, 15 minutes)")
        slot, minutes = int(match.group(1)), int(match.group(2))
        if slot < 1 or minutes < 1:
            raise ClockError(f"{part!r}: the slot and the minutes must be at least 1")
        out[slot] = minutes
    return tuple(sorted(out.items()))


def format_breaks(breaks: tuple[tuple[int, int], ...]) -> str:
    return ", ".join(f"{slot}:{minutes}" for slot, minutes in breaks)


@dataclass(frozen=True)
class Clock:
    start: str = DEFAULT_START
    slot_minutes: int = DEFAULT_SLOT_MINUTES
    breaks: tuple[tuple[int, int], ...] = ()  # (after slot n, 1-based; minutes)

    def check(self) -> Clock:
        parse_time(self.start)
        if not 1 <= self.slot_minutes <= 600:
            raise ClockError("a slot lasts 1 to 600 minutes")
        return self

    def times(self, slots: int) -> list[tuple[str, str]]:
        """(start, end) of every slot, 'HH:MM'."""
        pause = dict(self.breaks)
        at = parse_time(self.start)
        out = []
        for slot in range(1, slots + 1):
            out.append((format_time(at), format_time(at + self.slot_minutes)))
            at += self.slot_minutes + pause.get(slot, 0)
        return out

    def label(self, slot: int, slots: int) -> str:
        """'09:20–09:40' for a 1-based slot."""
        start, end = self.times(max(slot, slots))[slot - 1]
        return f"{start}–{end}"

    def break_after(self, slot: int) -> int:
        return dict(self.breaks).get(slot, 0)
