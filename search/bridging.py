"""Counterpart bridging: a document and its translation share evidence.

Each document gets its counterpart's (positive) calibrated score, weighted by how sure the
counterpart link is, so the strong same-language match lifts its translation, and the
reverse. Counterparts come from the catalogue as stored (detected links and the translators'
decisions): a confirmed or claimed link (a translation, corpus.counterparts) counts fully, a
possible translation in proportion to its confidence (a same-story article must not take
its neighbour's score), a rejected one is not a link. Bridging sums two
sides' evidence, so a document without a counterpart counts a share of its own instead of
the missing side's: otherwise both sides of a weaker pair outrank an untranslated document
that matches better. Parameters: search.params.RankingParams (docs/benchmarks.md).
"""

from __future__ import annotations

from viko.corpus.counterparts import Counterparts
from viko.search.params import RankingParams
from viko.search.ranked import Scored


def bridge(scored: list[Scored], counterparts: Counterparts, params: RankingParams) -> list[Scored]:
    """The same documents, each score raised by its counterpart's evidence (or its own share)."""
    by_doc = {s.doc_id: s.score for s in scored}
    out = []
    for s in scored:
        link = counterparts.get(s.doc_id)
        if link is not None:
            strength = 1.0 if link.claimed else min(1.0, link.confidence / params.full_bridge_confidence)
            bonus = params.bridge_weight * strength * max(by_doc.get(link.other_id, 0.0), 0.0)
        else:
            bonus = params.bridge_weight * params.unlinked_share * max(s.score, 0.0)
        out.append(Scored(s.doc_id, s.lang, s.score + bonus, s.best_row, shown_row=s.shown_row))
    return out
