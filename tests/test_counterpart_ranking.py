"""Search reads the catalogue's counterparts: a translator's rejection takes a wrong pair out of
ranking, the relevance floor, related documents and the API; a confirmation adds bridging."""

import dataclasses
from pathlib import Path

import pytest

from viko.corpus.catalogue import Catalogue
from viko.corpus.counterparts import Counterpart, Counterparts, CounterpartStore, decide, forget
from viko.corpus.document import make_document
from viko.indexer.analyze import default_analyzer
from viko.indexer.build import update_index
from viko.indexer.store import Index
from viko.search.engine import SearchEngine
from viko.search.params import DEFAULTS
from viko.web.search import counterpart_id

from helpers import FakeEncoder

DOCS = [
    ("solar-vi", "vi", "solar panel rooftop subsidy program households"),
    ("solar-ko", "ko", "태양광 지붕 보조금 가구 사업"),  # no word in common with the query
    ("wind-ko", "ko", "solar wind turbine coast"),       # one query word
    ("chip-ko", "ko", "반도체 공장 인력"),
    ("farm-vi", "vi", "greenhouse tomato irrigation sensor"),  # Vietnamese documents the query does not
    ("port-vi", "vi", "container port shipping crane"),        # match, so solar-vi stands out among them
    ("rice-vi", "vi", "rice export price harvest"),
]
QUERY = "solar panel rooftop subsidy"
CLAIMED = (("sentences", 4.0),)  # compared sentence by sentence


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Catalogue, Index]:
    cat = Catalogue.open(tmp_path / "catalogue.sqlite")
    cat.upsert_many(make_document({"id": d, "lang": lang, "text": text}) for d, lang, text in DOCS)
    update_index(list(cat.iter_documents()), tmp_path / "index", FakeEncoder(), default_analyzer())
    # What align-all's detector stores: solar-vi <-> solar-ko, claimed on sentence evidence.
    link = Counterpart("solar-vi", "solar-ko", 0.9, margin=1.3, features=CLAIMED)
    back = Counterpart("solar-ko", "solar-vi", 0.9, margin=1.3, features=CLAIMED)
    CounterpartStore(cat).replace_detected([], [link, back], {d: "h" for d, _, _ in DOCS})
    return cat, Index.load(tmp_path / "index")


def engine(cat: Catalogue, index: Index, **changes: object) -> SearchEngine:
    """An engine over the catalogue's counterparts; `changes`: ranking parameters replaced."""
    params = dataclasses.replace(DEFAULTS, **changes)  # type: ignore[arg-type]
    return SearchEngine(index, FakeEncoder(), default_analyzer(), params=params, counterparts=Counterparts.load(cat))


def korean_order(e: SearchEngine) -> list[str]:
    return [s.doc_id for s in e.rank(QUERY, "vi", ["ko"])[0]]


def nearest_by_content(index: Index, doc_id: str) -> str:
    sims = index.doc_matrix @ index.doc_vector(doc_id)
    return max((d for d in index.doc_ids if d != doc_id), key=lambda d: float(sims[index.doc_ids.index(d)]))


def scores(e: SearchEngine) -> dict[str, float]:
    return {s.doc_id: s.score for s in e.rank(QUERY, "vi", ["vi", "ko"])[0]}


def test_detected_link_bridges(corpus: tuple[Catalogue, Index]) -> None:
    cat, index = corpus
    plain = scores(engine(cat, index, bridge_weight=0.0))
    bridged = scores(engine(cat, index))
    assert bridged["solar-ko"] == pytest.approx(plain["solar-ko"] + plain["solar-vi"])  # 0.9, claimed: fully
    assert korean_order(engine(cat, index, bridge_weight=0.0))[0] == "wind-ko"
    assert korean_order(engine(cat, index))[0] == "solar-ko"


def test_rejecting_a_pair_changes_ranking(corpus: tuple[Catalogue, Index]) -> None:
    cat, index = corpus
    decide(cat, "solar-vi", "solar-ko", "rejected")
    e = engine(cat, index)
    assert korean_order(e)[0] == "wind-ko"
    unlinked = SearchEngine(index, FakeEncoder(), default_analyzer(), counterparts=Counterparts())  # type: ignore[arg-type]
    assert scores(e) == scores(unlinked)  # no bridging left at all: two untranslated documents
    assert counterpart_id(e, "solar-vi") == "" and e.counterparts.get("solar-ko") is None
    assert [h.id for h in e.related("solar-vi", limit=1)] == [nearest_by_content(index, "solar-vi")]
    # the relevance floor no longer lets solar-ko in on its counterpart's words
    floored = engine(cat, index, min_dense_evidence=0.99)
    ranked, terms = floored.rank(QUERY, "vi", ["ko"])
    assert "solar-ko" not in [s.doc_id for s in floored.apply_floor(ranked, terms, QUERY, "vi")]
    forget(cat, "solar-vi", "solar-ko")
    assert korean_order(engine(cat, index))[0] == "solar-ko"


def test_confirming_a_pair_adds_bridging(corpus: tuple[Catalogue, Index]) -> None:
    cat, index = corpus
    plain = scores(engine(cat, index, bridge_weight=0.0))
    before = korean_order(engine(cat, index))
    decide(cat, "chip-ko", "solar-vi", "confirmed")  # a pair the detector did not see
    e = engine(cat, index)
    assert scores(e)["chip-ko"] == pytest.approx(plain["chip-ko"] + 1.0 * plain["solar-vi"])
    after = korean_order(e)
    assert after.index("chip-ko") < before.index("chip-ko")  # lifted by its confirmed partner
    assert e.counterparts.get("solar-ko") is None  # its partner is confirmed with chip-ko
    assert counterpart_id(e, "solar-vi") == "chip-ko"
    assert [h.id for h in e.related("solar-vi", limit=1)] == ["chip-ko"]
    floored = engine(cat, index, min_dense_evidence=0.99)
    ranked, terms = floored.rank(QUERY, "vi", ["ko"])
    assert "chip-ko" in [s.doc_id for s in floored.apply_floor(ranked, terms, QUERY, "vi")]


def test_lookup_and_single_document_read_agree(corpus: tuple[Catalogue, Index]) -> None:
    cat, _ = corpus
    store = CounterpartStore(cat)
    for decision in (None, "rejected", "confirmed"):
        if decision:
            decide(cat, "solar-vi", "solar-ko" if decision == "rejected" else "chip-ko", decision)
        lookup = Counterparts.load(cat)
        assert {d: lookup.get(d) for d, _, _ in DOCS} == {d: store.get(d) for d, _, _ in DOCS}


def test_a_weak_link_bridges_in_proportion(corpus: tuple[Catalogue, Index]) -> None:
    cat, index = corpus
    weak = [Counterpart("solar-vi", "solar-ko", 0.09), Counterpart("solar-ko", "solar-vi", 0.09)]
    CounterpartStore(cat).replace_detected(["solar-vi"], weak, {})
    plain = scores(engine(cat, index, bridge_weight=0.0))
    bridged = scores(engine(cat, index))
    assert bridged["solar-ko"] == pytest.approx(plain["solar-ko"] + 0.09 / DEFAULTS.full_bridge_confidence * plain["solar-vi"])


def test_an_untranslated_document_counts_its_own_evidence_for_the_missing_side(
        corpus: tuple[Catalogue, Index]) -> None:
    """A pair sums both sides' evidence; a document without a counterpart counts a share of its
    own instead, so two sides of a weaker pair do not outrank it merely for being a pair."""
    cat, index = corpus
    plain = scores(engine(cat, index, bridge_weight=0.0))
    bridged = scores(engine(cat, index))
    share = DEFAULTS.unlinked_share
    assert 0 < share <= 1
    for doc in ("wind-ko", "chip-ko", "farm-vi"):
        assert bridged[doc] == pytest.approx(plain[doc] + share * max(plain[doc], 0.0)), doc
    assert bridged["solar-ko"] == pytest.approx(plain["solar-ko"] + plain["solar-vi"])  # linked: as before
