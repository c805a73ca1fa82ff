from itertools import pairwise

import pytest

from viko.indexer.analyze import QUERY_TOKENS_CACHE, Analyzer, default_analyzer, shared_terms
from viko.indexer.chunking import chunk_document, sentences, split_sentences
from viko.indexer.quantities import quantity_terms
from viko.indexer.wordbounds import splits, word_spans

AN = Analyzer()


def test_vietnamese_syllables_compounds_and_tone_variants() -> None:
    old = AN.tokens("Lễ ký kết thoả thuận hợp tác hoà bình", "vi")
    new = AN.tokens("Lễ ký kết thỏa thuận hợp tác hòa bình", "vi")
    assert set(old) == set(new)
    assert {"thỏa", "hợp", "tác", "hợp_tác"} <= set(new)
    assert "và" not in AN.tokens("năng lượng và nông nghiệp", "vi")


def test_korean_content_morphemes_without_particles() -> None:
    terms = AN.tokens("전라남도와 하이퐁시는 재생에너지 협약을 체결했다.", "ko")
    assert {"전라남도", "재생", "에너지", "협약", "체결"} <= set(terms)
    assert not {"와", "는", "을", "했다"} & set(terms)


def test_a_noun_kiwi_splits_into_a_determiner_and_a_noun_is_a_term_as_written() -> None:
    """After "양측은", Kiwi reads 온실 (greenhouse) as 온 (determiner) + 실: the word as written is
    a term too, so the query 온실, or a glossary's translation of "nhà kính", matches it."""
    terms = AN.tokens("양측은 온실 자동화와 수경재배 기술을 공유하기로 합의하였다.", "ko")
    assert {"온실", "실", "자동", "수경", "재배"} <= set(terms)
    assert AN.query_tokens("온실", "ko") == ["온실"]
    # a determiner written apart from its noun stays apart
    assert "온세상" not in AN.tokens("온 세상이 기뻐했다.", "ko") and "세상" in AN.tokens("온 세상이 기뻐했다.", "ko")


def test_shared_latin_terms_are_identical_across_languages() -> None:
    vi = AN.tokens("Hợp tác với Jeollanam-do về IoT và 5G", "vi")
    ko = AN.tokens("Jeollanam-do와 IoT, 5G 분야 협력", "ko")
    assert {"jeollanam-do", "jeollanam", "iot", "5g"} <= set(vi) & set(ko)
    assert shared_terms("ESS 30MW") == ["ess", "30mw"]
    # a Korean place's suffix is no term of its own: the "do" of Jeollanam-do is the DO of a fish tank
    assert shared_terms("Jeollanam-do, Suwon-si") == ["jeollanam-do", "jeollanam", "suwon-si", "suwon"]
    assert shared_terms("5G-based, Mát-xcơ-va") == ["5g-based", "5g", "based", "mát-xcơ-va", "mát", "xcơ", "va"]


def test_sentences_respect_abbreviations_and_korean() -> None:
    assert sentences("Ông A nói. TP. Hải Phòng đã ký! Vâng.") == ["Ông A nói.", "TP. Hải Phòng đã ký!", "Vâng."]
    assert sentences("협약을 맺었다. 다음은 무엇인가? 네.") == ["협약을 맺었다.", "다음은 무엇인가?", "네."]


def test_segmented_text_keeps_its_lines() -> None:
    text = "Dòng một. Vẫn dòng một.\nDòng hai"
    assert sentences(text, segmented=True) == ["Dòng một. Vẫn dòng một.", "Dòng hai"]


def test_chunks_hold_whole_sentences_with_overlap_and_true_offsets() -> None:
    text = " ".join(f"Câu số {i} nói về năng lượng tái tạo ở Hải Phòng." for i in range(40))
    chunks = chunk_document("d", "vi", text, target_chars=200, overlap=1)
    assert len(chunks) > 5
    for chunk in chunks:
        assert text[chunk.start:chunk.end] == chunk.text
        assert chunk.text.startswith("Câu số") and chunk.text.endswith(".")
        assert len(chunk.text) <= 200
    first_last = sentences(chunks[0].text)[-1]
    assert chunks[1].text.startswith(first_last)
    assert chunks[-1].end == len(text)


def test_very_long_sentence_is_cut() -> None:
    text = "a" * 10 + " " + "b " * 2000
    spans = split_sentences(text)
    assert len(spans) > 1 and all(s.end - s.start <= 1200 for s in spans)
    # cut into pieces, not shortened: the pieces follow one another to the end of the text
    assert spans[0].start == 0 and spans[-1].end == len(text.rstrip())
    assert all(a.end <= b.start and text[a.end:b.start].strip() == "" for a, b in pairwise(spans))


def test_query_analysis_is_remembered_but_never_shared() -> None:
    analyzer = Analyzer()
    calls: list[str] = []
    real = analyzer.tokens
    analyzer.tokens = lambda text, lang: calls.append(text) or real(text, lang)  # type: ignore[method-assign]
    first = analyzer.query_tokens("điện mặt trời áp mái", "vi")
    first.append("mutated by a caller")
    again = analyzer.query_tokens("điện mặt trời áp mái", "vi")
    assert calls == ["điện mặt trời áp mái"] and "mutated by a caller" not in again
    assert again == first[:-1] and "mặt_trời" in again
    for i in range(QUERY_TOKENS_CACHE + 5):
        analyzer.query_tokens(f"query {i}", "other")
    assert len(analyzer._queries) == QUERY_TOKENS_CACHE


def test_a_texts_words_are_remembered_and_located() -> None:
    text = "Tăng năng lượng và sáng tạo, cảm biến IoT."
    words = AN.words(text)
    assert {"năng_lượng", "sáng_tạo"} <= set(words) and all("_" in w for w in words)
    assert AN.words(text) is words  # analysed once
    spans = word_spans(text, ("năng_lượng", "sáng_tạo", "biến_iot"))  # an acronym joined on is no word
    assert [text[a:b] for a, b in spans] == ["năng lượng", "sáng tạo"]
    assert splits((24, 27), spans) and splits((10, 18), spans)  # "tạo", "lượng và"
    assert not splits((5, 15), spans) and not splits((0, 27), spans)  # "năng lượng", a run of words


@pytest.mark.parametrize(("text", "values"), [
    ("Hơn 20 triệu người", ["20000000"]), ("2000만명이 넘는", ["20000000"]), ("20 million people", ["20000000"]),
    ("vốn 2.000 tỷ đồng và 1,5 triệu USD", ["2000000000000", "1500000"]),
    ("5억 달러를 투자, 1조 2천억 원", ["500000000", "1200000000000"]), ("3천만 원", ["30000000"]),
    ("연간 약 1,200톤", ["1200"]), ("1.500.000 đồng", ["1500000"]),
    ("제3조 양측은", []), ("Điều 3. Hai bên", []), ("năm 2024, 12.2024", []), ("192.168.1.1", []),
    ("tỷ lệ 5%", []), ("ĐT: 0236 3555 902", []), ("2.000km", []),
])
def test_amounts_are_also_their_value(text: str, values: list[str]) -> None:
    assert quantity_terms(text) == values


def test_an_amount_is_one_term_in_both_languages() -> None:
    analyzer = default_analyzer()
    vi = set(analyzer.tokens("Hơn 20 triệu người theo dõi phiên điều trần", "vi"))
    ko = set(analyzer.tokens("2000만명이 넘는 사람들이 청문회를 지켜봤다", "ko"))
    assert vi & ko == {"20000000"}


def test_a_unit_after_a_number_is_a_term() -> None:
    # Kiwi reads 달러 after a number as a bound noun: the query "달러 투자" then missed "5억 달러를 투자"
    analyzer = default_analyzer()
    assert {"달러", "투자"} <= set(analyzer.tokens("5억 달러를 투자했다", "ko"))
    assert "킬로그램" in analyzer.tokens("20킬로그램", "ko") and "개월" in analyzer.tokens("3개월 동안", "ko")
    assert analyzer.tokens("그 때문에 수출이 늘었다", "ko") == ["수출", "늘"]  # grammar stays out


def test_a_querys_amount_is_its_value_alone() -> None:
    # "5억 달러" matched "3억~4억 5천만 원" on its "5" and "억"
    analyzer = default_analyzer()
    assert analyzer.query_tokens("5억 달러", "ko") == ["달러", "500000000"]
    assert analyzer.query_tokens("20 triệu người", "vi") == ["người", "20000000"]
    assert "5" in analyzer.query_tokens("5억 달러 5 năm", "ko")  # a number also asked for plainly stays
    assert analyzer.query_tokens("억", "ko") == ["억"]
    assert {"4", "5", "억"} <= set(analyzer.tokens("3억~4억 5천만 원", "ko"))  # documents keep the parts
