"""Words the two languages share (names in Latin letters, numbers) are weak evidence across
languages: a Korean baseball report saying "NL West" is not a match for a Vietnamese headline
about a rally in West Virginia, and must not outrank the Korean article that writes the names in
Hangul (search.relevance.shared_word_coverage). A glossary translation stays full evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from viko.runtime import build_engine
from viko.search.engine import SearchEngine
from viko.search.fusion import best_per_doc
from viko.search.relevance import shared_word_coverage
from viko.settings import Settings

from helpers import imported_and_indexed

pytestmark = pytest.mark.model
# a Korean rally article (names in Hangul), a Korean baseball report saying "NL West", and others
RALLY = "Cuộc vận động tranh cử của Trump tại West Virginia"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    fixture = Path(__file__).parent / "fixtures" / "shared_words.jsonl"
    return imported_and_indexed(tmp_path_factory.mktemp("shared-words"), fixture)


def engine_with(data_dir: Path, coverage: str) -> SearchEngine:
    return build_engine(Settings.from_env(env={"VIKO_LEXICAL_COVERAGE": coverage}, data_dir=data_dir))


def factors(engine: SearchEngine, query: str, qlang: str, lang: str) -> dict[str, float]:
    terms = engine.query_terms(query, qlang)
    hits = engine.retriever.lexical(terms, [lang], 50, None, engine.translation_weights(query, qlang))[lang]
    return shared_word_coverage(engine.retriever, best_per_doc(hits), engine.expansion(query, qlang), 1.0)


def test_a_shared_word_alone_counts_by_its_share_of_the_query(data_dir: Path) -> None:
    engine = engine_with(data_dir, "1")
    found = factors(engine, RALLY, "vi", "ko")
    assert set(found) == {"baseball-ko"}  # "west" is its only word of the query
    assert 0 < found["baseball-ko"] < 0.3
    # a passage holding a glossary translation (벼 -> lúa) counts fully, however little it holds
    assert factors(engine, "벼 품종 시험 West", "ko", "vi")["rice-vi"] == 1.0


def test_the_fused_score_takes_the_share(data_dir: Path) -> None:
    def scores(coverage: str) -> dict[str, float]:
        ranked, _ = engine_with(data_dir, coverage).rank(RALLY, "vi", ["ko"])
        return {s.doc_id: s.score for s in ranked}

    before, after = scores("0"), scores("1")
    assert after["baseball-ko"] < before["baseball-ko"]
    assert after["baseball-ko"] < after["rally-ko"]
    assert engine_with(data_dir, "1").search(RALLY, limit=3).hits[0].id == "rally-ko"
