"""Phrases checked many texts at once (search.phrases): the candidate chunks searched together and
the word-boundary match looked for around each place the letters are give exactly what the
plain per-text match gives (`reference` below: the whole text's syllables and the analyser's
words located along it), on Vietnamese multi-syllable words, phrases that split them, Korean
with particles, unaccented and upper-case phrases, and texts whose positions do not fold in
place (not NFC, combining marks, Σ)."""

import unicodedata
from pathlib import Path

import numpy as np
import pytest

from viko.corpus.document import make_document
from viko.corpus.textnorm import fold_vi
from viko.indexer.analyze import default_analyzer
from viko.indexer.build import update_index
from viko.indexer.store import Index
from viko.indexer.wordbounds import HANGUL, WORD, Syllables, keys
from viko.search.doctable import DocTable
from viko.search.phrases import _key, phrase_in, rows_holding

from helpers import FakeEncoder

TEXTS = {
    "vi-khả": "Khả năng lượng hóa các chỉ số còn hạn chế. Năng lượng tái tạo phát triển nhanh.",
    "vi-split": "Sự đột biến gen xảy ra ngẫu nhiên trong quần thể.",
    "vi-kế": "Thiết kế hệ thống điện mặt trời áp mái; kế hoạch thiết kế năm 2025 đã xong.",
    "vi-mặc": "Mặc dù trời mưa, nhà máy điện gió vẫn chạy ở Đà Nẵng.",
    "vi-repeat": "lượng lượng lượng hóa. năng lượng hóa học",
    "ko-협약": "재생에너지 협약을 체결했다. IoT뿐만 아니라 HTTP뿐만 아니라 모두.",
    "ko-핵": "핵은  중성자와\n양성자로 이루어져 있다.",
    "ko-억": "예산 65억 동과 약 5억 원, 1,5억 달러를 2025년에 지원한다.",
}
ODD = {"vi-odd": "Điện mặt trời Ω̈ ở Đà Nẵng, ΟΔΟΣ năng lượng."}  # a combining mark and Σ stay in NFC
PHRASES = ["năng lượng", "Năng Lượng", "nang luong", "khả năng", "lượng hóa", "sự đột", "đột biến", "đột",
           "thiết kế", "kế hoạch", "THIẾT KẾ", "thiet ke", "mặc dù", "điện gió", "gió", "da nang", "trời",
           "lượng lượng", "điện mặt trời", "협약", "협약을", "핵은 중성자와", "iot뿐만", "http뿐만 아니라",
           "양성자로 이루어져", "Đà Nẵng", "ΟΔΟΣ", "chỉ số còn", "5억", "65억", "025년"]


def reference(text: str, phrase: str, words: tuple[str, ...]) -> bool:
    """The match on the whole text, one text at a time (what phrase_in did before it looked
    around the places the letters are)."""
    if HANGUL.search(phrase):
        return phrase_in(text, phrase, words)  # a substring test, unchanged
    unit = [keys(w)[0] for w in WORD.findall(phrase)]
    unaccented = all(keys(p)[1] == p for p in unit)
    if not unit or " ".join(unit) not in (" ".join(fold_vi(text).split()) if unaccented else _key(text)):
        return False
    ends = {keys(unit[0])[1], keys(unit[-1])[1]}
    kept = [w for w in words if "_" in w and ends & {keys(p)[1] for p in w.split("_")}]
    found = Syllables(text, kept)
    return any(not found.splits(*found.span(i, len(unit))) for i in found.unit_starts(unit))


@pytest.mark.parametrize("text", [*TEXTS.values(), *ODD.values(), unicodedata.normalize("NFD", TEXTS["vi-khả"]),
                                  "IoT-based farms. iot farms", "năng\u00a0lượng và năng  lượng"])
def test_phrase_in_is_the_whole_text_match(text: str) -> None:
    words = default_analyzer().words(text)
    for phrase in PHRASES:
        assert phrase_in(text, phrase, words) == reference(text, phrase, words), phrase


@pytest.mark.parametrize(("text", "words", "phrase", "held"), [
    ("khả năng lượng hóa", ("khả_năng", "lượng_hóa"), "năng lượng", False),  # it splits both words
    ("năng lượng hóa. lượng hóa", ("lượng_hóa",), "năng lượng", False),  # the word stands where it overlaps
    ("lượng hóa. năng lượng hóa", ("lượng_hóa",), "năng lượng", True),  # ...but here it was found before
    ("lượng lượng hóa", ("lượng_lượng",), "lượng lượng", True),
    ("sự đột biến", ("đột_biến",), "sự đột", False),
    ("sự đột biến", ("sự_đột", "đột_biến"), "sự đột", True),  # located in order: no đột_biến after sự_đột
])
def test_words_that_could_split_a_phrase_are_found_where_the_analyser_saw_them(
        text: str, words: tuple[str, ...], phrase: str, held: bool) -> None:
    assert phrase_in(text, phrase, words) == reference(text, phrase, words) == held


@pytest.fixture(scope="module", params=[TEXTS, {**TEXTS, **ODD}], ids=["folds-in-place", "with-odd-characters"])
def index(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Index:
    folder: Path = tmp_path_factory.mktemp("phrases") / "index"
    docs = [make_document({"id": i, "lang": "ko" if i.startswith("ko") else "vi", "text": t})
            for i, t in request.param.items()]
    update_index(docs, folder, FakeEncoder(), default_analyzer())
    return Index.load(folder)


def test_rows_holding_finds_the_documents_each_text_match_finds(index: Index) -> None:
    table = DocTable(index, {})
    rows = np.flatnonzero(index.live)
    assert len(rows) >= len(TEXTS)
    for phrase in PHRASES:
        want = {d for d in index.doc_ids
                if any(reference(index.chunks[r].text, phrase, index.chunk_words(r) or ()) for r in index.doc_rows[d])}
        got = table.docs_at(rows_holding(index, table, rows, phrase))
        assert {index.doc_ids[i] for i in np.flatnonzero(got)} == want, phrase
    holders = table.docs_at(rows_holding(index, table, rows, "năng lượng"))
    assert {index.doc_ids[i] for i in np.flatnonzero(holders)} >= {"vi-khả", "vi-repeat"}


def test_a_korean_amount_is_never_matched_inside_another_number() -> None:
    text = TEXTS["ko-억"]
    assert phrase_in(text, "65억") and phrase_in("약 5억 원", "5억") and phrase_in(text, "2025년")
    assert not phrase_in("예산 65억 동", "5억") and not phrase_in("1,5억 달러", "5억") and not phrase_in(text, "025년")
