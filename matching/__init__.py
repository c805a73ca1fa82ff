"""Technology matchmaking: offer/demand records → matches → a planned session → printouts.

The public API below is what the other stages and users import; it loads a module only
when one of its names is first used, so importing the stage costs nothing."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from viko.matching.match import Matcher, MatchResult
    from viko.matching.plan import Plan, PlanRequest, plan_session
    from viko.matching.printout import write_printouts
    from viko.matching.records import MatchRecord, RecordError, records_from_documents
    from viko.matching.session import Session, SessionStore

# Public name -> the module of this stage that defines it.
_API = {
    "MatchRecord": "records",
    "RecordError": "records",
    "records_from_documents": "records",
    "MatchResult": "match",
    "Matcher": "match",
    "Plan": "plan",
    "PlanRequest": "plan",
    "plan_session": "plan",
    "Session": "session",
    "SessionStore": "session",
    "write_printouts": "printout",
}
__all__ = [
    "MatchRecord", "MatchResult", "Matcher", "Plan", "PlanRequest", "RecordError", "Session",
    "SessionStore", "plan_session", "records_from_documents", "write_printouts"
]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
