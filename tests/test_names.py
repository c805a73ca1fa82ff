"""Names across scripts (search.names): a Korean query naming 에르도안 has evidence in the
Vietnamese report that writes "Erdogan", and a Vietnamese query naming Livingston in the Korean
text that writes 리빙스턴; words that only sound alike, or are not names, are left alone."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from viko.corpus.access import Viewer
from viko.indexer.analyze import default_analyzer
from viko.runtime import build_engine
from viko.search.engine import SearchEngine
from viko.search.names import NameTable, hangul_key, latin_keys, query_names, same_name
from viko.search.relevance import any_lexical, lexical_evidence
from viko.settings import Settings

from helpers import imported_and_indexed

ERDOGAN = "에르도안 대통령의 쾰른 방문"
LIVINGSTON = "Livingston, Scotland"


def one_name(latin: str, hangul: str) -> bool:
    key = hangul_key(hangul)
    return key is not None and any(same_name(key, k) for k in latin_keys(latin))


@pytest.mark.parametrize(("latin", "hangul"), [
    ("Erdogan", "에르도안"), ("Livingston", "리빙스턴"), ("Mexico", "멕시코"), ("Indonesia", "인도네시아"),
    ("Trump", "트럼프"), ("Washington", "워싱턴"), ("Corbyn", "코빈"), ("Gerrard", "제라드"),
])
def test_a_name_and_its_hangul_spelling_are_one_name(latin: str, hangul: str) -> None:
    assert one_name(latin, hangul)


@pytest.mark.parametrize(("latin", "hangul"), [
    ("Erdogan", "에르도"), ("Livingston", "리빙"), ("Mexico", "멕시칸"), ("Jordan", "조던스"), ("Trump", "트랩"),
])
def test_names_that_only_share_sounds_are_not_one(latin: str, hangul: str) -> None:
    assert not one_name(latin, hangul)


def test_words_too_short_or_vietnamese_have_no_key() -> None:
    assert latin_keys("four") == () or all(len(k) < 4 for k in latin_keys("four"))
    assert not same_name("po", "po")  # "four" and 푸어오 both say "po": too short to tell
    assert latin_keys("nguyen") == ()  # a Vietnamese syllable, not a foreign name
    assert latin_keys("IoT") == ()  # an acronym
    assert hangul_key("Erdogan") is None


def test_the_table_finds_spellings_both_ways_but_not_two_syllable_native_words() -> None:
    words = ["에르도안", "erdogan", "리빙스턴", "livingston", "심문", "simon", "cologne", "수도"]
    hangul, latin = NameTable.from_words(words, "hangul"), NameTable.from_words(words, "latin")
    assert latin.spellings("에르도안") == ("erdogan",)
    assert hangul.spellings("erdogan") == ("에르도안",)
    assert hangul.spellings("livingston") == ("리빙스턴",)
    assert hangul.spellings("simon") == ()  # 심문 (interrogation) sounds like it, but has two syllables
    assert hangul.spellings("mexico") == ()
    assert hangul.spellings("에르도안") == latin.spellings("erdogan") == ()  # a table holds one script


def test_only_words_that_may_be_names_are_looked_up() -> None:
    analyzer = default_analyzer()
    latin = "Cuộc vận động của Trump tại West Virginia"
    assert query_names(latin, ()) == {"cuộc", "trump", "west", "virginia"}  # capitals; "cuộc" has no key
    assert query_names("blah blah test 123", ()) == frozenset()  # "test" is a word, not a name
    assert "에르도안" in query_names(ERDOGAN, analyzer.proper_nouns(ERDOGAN))
    assert "고양이" not in query_names("고양이 사진 보기", analyzer.proper_nouns("고양이 사진 보기"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    fixture = Path(__file__).parent / "fixtures" / "names.jsonl"
    return imported_and_indexed(tmp_path_factory.mktemp("names"), fixture)


def engine_with(data_dir: Path, names: bool = True) -> SearchEngine:
    env = {"VIKO_NAME_SPELLINGS": "1" if names else "0"}
    return build_engine(Settings.from_env(env=env, data_dir=data_dir))


def marked(hit_snippet: str, spans: tuple[tuple[int, int], ...]) -> set[str]:
    return {hit_snippet[a:b] for a, b in spans}


@pytest.mark.model
@pytest.mark.parametrize(("query", "wanted", "spelling"), [
    (ERDOGAN, "erdogan-vi", "Erdogan"), (LIVINGSTON, "livingston-ko", "리빙스턴"),
])
def test_a_document_naming_the_query_in_the_other_script_is_found_with_the_name_marked(
        data_dir: Path, query: str, wanted: str, spelling: str) -> None:
    hits = {h.id: h for h in engine_with(data_dir).search(query, limit=10).hits}
    assert wanted in hits
    assert spelling in marked(hits[wanted].snippet, hits[wanted].highlights)
    before = {h.id: h for h in engine_with(data_dir, names=False).search(query, limit=10).hits}
    assert wanted not in before or spelling not in marked(before[wanted].snippet, before[wanted].highlights)


def floor_evidence(data_dir: Path, query: str, qlang: str, names: bool) -> tuple[bool, set[str], set[str]]:
    """Whether the query has lexical evidence anywhere; the documents with a lexical match; and
    those matching only through a name's spelling."""
    engine = engine_with(data_dir, names)
    terms, expansion = engine.query_terms(query, qlang), engine.expansion(query, qlang)
    every = {doc for doc in engine.meta}
    found, named = lexical_evidence(engine.retriever, terms, expansion.own, expansion.translated, every,
                                    names=expansion.names)
    return any_lexical(engine.retriever, terms, expansion.names), found, named


@pytest.mark.model
def test_a_query_whose_only_evidence_is_a_name_has_evidence(data_dir: Path) -> None:
    # none of the Korean query's own words occurs in the collection: without the name, it has
    # no evidence anywhere, as nonsense has none, and only a strong embedding match is kept
    assert floor_evidence(data_dir, ERDOGAN, "ko", names=True)[0]
    assert not floor_evidence(data_dir, ERDOGAN, "ko", names=False)[0]


@pytest.mark.model
def test_a_match_through_a_spelling_alone_is_a_possible_match(data_dir: Path) -> None:
    # a word that sounds like the name is no proof of it: the document passes, said possible
    _, found, named = floor_evidence(data_dir, LIVINGSTON, "vi", names=True)
    assert named == {"livingston-ko"} and "livingston-ko" not in found
    assert floor_evidence(data_dir, LIVINGSTON, "vi", names=False)[2] == set()
    hits = {h.id: h for h in engine_with(data_dir).search(LIVINGSTON, limit=10).hits}
    assert hits["livingston-ko"].possible


@pytest.mark.model
def test_the_spellings_leave_the_ranking_as_it_was(data_dir: Path) -> None:
    query = "에르도안과 NATO"  # two Vietnamese documents say NATO, one of them Erdogan too

    def order(names: bool) -> list[tuple[str, float]]:
        ranked, _ = engine_with(data_dir, names).rank(query, "ko", ["vi", "ko"])
        return [(s.doc_id, round(s.score, 6)) for s in ranked]

    assert engine_with(data_dir).expansion(query, "ko").names == {"에르도안": ("erdogan",)}
    assert order(True) == order(False)


@pytest.mark.model
def test_a_spelling_only_a_hidden_document_holds_is_not_evidence(data_dir: Path) -> None:
    engine = engine_with(data_dir)
    assert engine.spellings("에르도안") == ("erdogan",)
    engine.meta["erdogan-vi"] = dataclasses.replace(engine.meta["erdogan-vi"], visibility="internal")
    anonymous = engine.scoped(Viewer())
    assert anonymous.spellings("에르도안") == ()
    assert not anonymous.expansion(ERDOGAN, "ko").names
    assert engine.spellings("에르도안") == ("erdogan",)  # the operator's engine still sees it


@pytest.mark.model
def test_a_word_only_a_hidden_document_holds_is_no_evidence_for_the_visitor(data_dir: Path) -> None:
    # "Erdogan" occurs only in the report the visitor may not see: for them the query has no
    # evidence anywhere, as if the report did not exist, so the NATO report (close in meaning,
    # no word in common) does not pass on supporting evidence
    query = "Erdogan defence budget talks"
    engine = engine_with(data_dir)
    engine.meta["erdogan-vi"] = dataclasses.replace(engine.meta["erdogan-vi"], visibility="internal")
    visitor = engine.scoped(Viewer())
    assert any_lexical(engine.retriever, ["erdogan"]) and not any_lexical(engine.retriever, ["erdogan"],
                                                                           within=visitor.visible)
    assert visitor.search(query, limit=10).total == 0
