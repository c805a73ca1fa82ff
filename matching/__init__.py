"""Technology matchmaking: offer/demand records → matches → a planned session → printouts.

The public API below is what the other stages and users import; it loads a module only
when one of its names is first used, so importing the stage costs nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from viko import lazy_api

if TYPE_CHECKING:
    from viko.matching.match import Matcher, MatchResult
    from viko.matching.plan import Plan, PlanRequest, plan_session
    from viko.matching.printout import write_printouts
    from viko.matching.records import MatchRecord, RecordError, records_from_documents
    from viko.matching.session import Session, SessionStore

# The public API, by the module of this stage that defines it (loaded on first use).
_API = {
    "records": ("MatchRecord", "RecordError", "records_from_documents"),
    "match": ("MatchResult", "Matcher"),
    "plan": ("Plan", "PlanRequest", "plan_session"),
    "session": ("Session", "SessionStore"),
    "printout": ("write_printouts",),
}
__all__ = [
    "MatchRecord", "MatchResult", "Matcher", "Plan", "PlanRequest", "RecordError", "Session",
    "SessionStore", "plan_session", "records_from_documents", "write_printouts"
]
__getattr__ = lazy_api(__name__, _API)
