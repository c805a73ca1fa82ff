"""Sentence alignment: the DP over margin-normalised similarities, and `viko align`."""

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from viko.cli import main
from viko.corpus.document import make_document
from viko.workbench.align import (
    Alignment,
    AlignParams,
    align_documents,
    align_sentences,
    doc_sentences,
    joins_needed,
)
from viko.workbench.sentvec import SentenceEmbedder

from helpers import FakeEncoder

# Distinct vocabularies per sentence so the hashed bag-of-words encoder separates them.
SENTS = [
    "alpha bravo charlie delta echo foxtrot",
    "golf hotel india juliet kilo lima",
    "mike november oscar papa quebec romeo",
    "sierra tango uniform victor whiskey xray",
    "yankee zulu amber brick cobalt dune",
    "ember fjord glacier harbor island jungle",
    "kelp lagoon meadow nectar orchard prairie",
]


def links(a: list[str], b: list[str]) -> set[tuple[tuple[int, ...], tuple[int, ...]]]:
    embed = SentenceEmbedder(FakeEncoder()).embed
    return {(link.a, link.b) for link in align_sentences(a, b, embed)}


def test_identical_sides_align_one_to_one() -> None:
    assert links(SENTS, SENTS) == {((i,), (i,)) for i in range(len(SENTS))}


def test_joined_sentences_give_one_to_two_and_two_to_one() -> None:
    joined = [*SENTS[:2], SENTS[2] + " " + SENTS[3], *SENTS[4:]]
    got = links(SENTS, joined)
    assert ((2, 3), (2,)) in got
    assert ((0,), (0,)) in got and ((6,), (5,)) in got
    back = links(joined, SENTS)
    assert ((2,), (2, 3)) in back


# SENTS 2 and 3 translated as one sentence
JOINED = [*SENTS[:2], SENTS[2] + " " + SENTS[3], *SENTS[4:]]


def spied() -> tuple[list[str], Callable[[Sequence[str]], np.ndarray]]:
    """The texts an embedder is asked for, and the embedder."""
    asked: list[str] = []
    embed = SentenceEmbedder(FakeEncoder()).embed

    def spy(texts: Sequence[str]) -> np.ndarray:
        asked.extend(texts)
        return embed(texts)
    return asked, spy


def test_without_joined_sentences_only_one_to_one_links_and_no_joined_text_embedded() -> None:
    joined = JOINED
    asked, spy = spied()
    got = align_sentences(SENTS, joined, spy, AlignParams(joined=False))
    assert all(len(link.a) <= 1 and len(link.b) <= 1 for link in got)
    assert sorted(i for link in got for i in link.a) == list(range(len(SENTS)))
    assert set(asked) == set(SENTS) | set(joined)


def test_joined_sentences_are_embedded_only_around_sentences_that_do_not_settle_one_to_one() -> None:
    joined = JOINED
    asked, spy = spied()
    embed = SentenceEmbedder(FakeEncoder()).embed
    # only the joins touching SENTS 2 and 3 (one sentence on the other side) are needed
    assert joins_needed(SENTS, joined, embed) == ([1, 2, 3], [1, 2])
    got = {(link.a, link.b) for link in align_sentences(SENTS, joined, spy)}
    assert ((2, 3), (2,)) in got
    wanted = {f"{SENTS[i]} {SENTS[i + 1]}" for i in (1, 2, 3)} | {f"{joined[j]} {joined[j + 1]}" for j in (1, 2)}
    assert set(asked) == set(SENTS) | set(joined) | wanted
    # a translation settled sentence by sentence embeds no joined sentence; the old rule joins all
    assert joins_needed(SENTS, SENTS, embed) == ([], [])
    every = list(range(len(SENTS) - 1))
    assert joins_needed(SENTS, SENTS, embed, AlignParams(settled_cosine=None)) == (every, every)
    # a closer repeat far from the link unsettles nothing: only the neighbours a join would add count
    first = SENTS[0].replace("echo", "zebra")  # 5 of 6 words: cosine 0.83 with SENTS[0]
    b = [first, *SENTS[1:], SENTS[0]]
    assert joins_needed(SENTS, b, embed, AlignParams(settled_cosine=0.8)) == ([], [len(b) - 2])


def test_every_sentence_covered_once_in_order() -> None:
    b = [SENTS[0], "completely unrelated words nothing shared here", *SENTS[1:5], SENTS[6]]
    embed = SentenceEmbedder(FakeEncoder()).embed
    result = align_sentences(SENTS, b, embed)
    flat_a = [i for link in result for i in link.a]
    flat_b = [j for link in result for j in link.b]
    assert flat_a == list(range(len(SENTS))) and flat_b == list(range(len(b)))
    assert ((0,), (0,)) in {(x.a, x.b) for x in result}


def test_empty_side_leaves_everything_unmatched() -> None:
    embed = SentenceEmbedder(FakeEncoder()).embed
    result = align_sentences(SENTS[:2], [], embed)
    assert [(x.a, x.b) for x in result] == [((0,), ()), ((1,), ())]


def test_segmented_documents_keep_their_lines() -> None:
    doc = make_document({"id": "s", "lang": "vi", "segmented": True,
                         "text": "Dòng một. Vẫn dòng một.\nDòng hai"})
    assert doc_sentences(doc) == ["Dòng một. Vẫn dòng một.", "Dòng hai"]
    plain = make_document({"id": "p", "lang": "vi", "text": "Câu một. Câu hai tiếp theo."})
    assert doc_sentences(plain) == ["Câu một.", "Câu hai tiếp theo."]


def test_alignment_json_shape() -> None:
    a = make_document({"id": "a", "lang": "vi", "text": "\n".join(SENTS[:3]), "segmented": True})
    b = make_document({"id": "b", "lang": "ko", "text": "\n".join(SENTS[:3]), "segmented": True})
    out = align_documents(a, b, SentenceEmbedder(FakeEncoder()).embed).to_json()
    assert set(out) == {"links", "a_sentences", "b_sentences"}
    assert out["a_sentences"] == SENTS[:3]
    assert out["links"][0] == {"a": [0], "b": [0], "score": pytest.approx(1.0, abs=1e-3)}


def test_sentence_cache_roundtrip(tmp_path: Path) -> None:
    enc = FakeEncoder()
    first = SentenceEmbedder(enc, cache_dir=tmp_path)
    v = first.embed(SENTS[:3])
    first.save()
    again = SentenceEmbedder(enc, cache_dir=tmp_path)
    assert (again.embed(SENTS[:3]) == v).all()
    assert enc.passages_encoded == 3
    assert not list(tmp_path.glob("*.pkl"))


@pytest.mark.model
def test_real_encoder_aligns_vietnamese_and_korean(tmp_path: Path) -> None:
    vi = ["Hải Phòng và Jeollanam-do ký thỏa thuận hợp tác về năng lượng tái tạo.",
          "Hai bên sẽ trao đổi chuyên gia. Họ cũng đào tạo kỹ sư trẻ.",
          "Dự án điện gió ngoài khơi bắt đầu vào năm 2025.",
          "Nông dân được hướng dẫn dùng cảm biến IoT trong nhà kính."]
    ko = ["하이퐁시와 전라남도는 재생에너지 협력 협약을 체결했다.",
          "양측은 전문가를 교류할 것이다.", "또한 젊은 엔지니어를 양성한다.",
          "해상풍력 사업은 2025년에 시작된다.",
          "농민들은 온실에서 IoT 센서 사용법을 교육받는다."]
    runner, data = _imported_pair(tmp_path, vi, ko)
    out = runner.invoke(main, ["--data", data, "align", "--json", "v", "k"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    got = {(tuple(x["a"]), tuple(x["b"])) for x in payload["links"]}
    assert got == {((0,), (0,)), ((1,), (1, 2)), ((2,), (3,)), ((3,), (4,))}
    assert payload["a_sentences"] == vi and payload["b_sentences"] == ko
    assert all(0 < x["score"] <= 1 for x in payload["links"])
    text = runner.invoke(main, ["--data", data, "align", "v", "k"])
    assert text.exit_code == 0 and "[1] <-> [1,2]" in text.output
    missing = runner.invoke(main, ["--data", data, "align", "v", "nope"])
    assert missing.exit_code == 1 and "nope" in missing.output
    assert payload["strong_sentences"] >= 7 and sum(x["strong"] for x in payload["links"]) >= 3


@pytest.mark.model
def test_two_unrelated_documents_align_only_as_weak_guesses(tmp_path: Path) -> None:
    """Any two documents can be aligned on request, and the programme always finds an
    order-keeping path; what viko states is which links read as translations: here none."""
    vi = ["Bệnh viện Chợ Rẫy ký biên bản ghi nhớ về ghép gan với một bệnh viện ở Seoul.",
          "Các bác sĩ phẫu thuật sẽ được đào tạo tại Seoul trong sáu tháng.",
          "Mỗi năm bệnh viện dự kiến thực hiện thêm 30 ca ghép gan."]
    ko = ["부산대학교는 베트남 유학생을 위한 반도체 장학 프로그램을 신설했다.",
          "선발된 학생은 등록금과 생활비를 지원받는다.", "모집은 내년 3월부터 하노이에서 진행된다."]
    runner, data = _imported_pair(tmp_path, vi, ko)
    payload = json.loads(runner.invoke(main, ["--data", data, "align", "--json", "v", "k"]).output)
    assert payload["links"] and not any(x["strong"] for x in payload["links"]) and payload["strong_sentences"] == 0
    text = runner.invoke(main, ["--data", data, "align", "v", "k"]).output
    assert text.count("(weak: not stated as a translation)") == len(payload["links"])
    assert "0 of 6 sentences in strong links" in text and "do not read as translations" in text


def test_alignment_pairs_join_texts() -> None:
    from viko.workbench.align import Link

    al = Alignment([Link((0,), (0, 1), 0.9), Link((1,), (), 0.0)], ["a0", "a1"], ["b0", "b1"])
    assert [(vi, ko) for _, vi, ko in al.pairs()] == [("a0", "b0 b1")]


def test_bitext_mining_finds_translations_across_documents() -> None:
    from viko.workbench.mining import MineParams, Sentence, mine

    words = ["river delta rice export quota", "battery plant hiring welders now",
             "museum opens ceramic exhibition hall", "coastal erosion threatens fishing village",
             "students receive scholarship for robotics", "hospital buys imaging scanners abroad"]
    noise_vi = ["tariff schedule changes every quarter", "railway bridge repaint finished early"]
    noise_ko = ["orchestra tours northern provinces", "volcano monitoring station upgraded again"]
    vi = [Sentence(f"vi{i % 2}", i, s) for i, s in enumerate(words[:4] + noise_vi)]
    ko = [Sentence(f"ko{i % 3}", i, s) for i, s in enumerate(noise_ko + words[:4])]
    embed = SentenceEmbedder(FakeEncoder()).embed
    found = {(p.vi.text, p.ko.text) for p in mine(vi, ko, embed, MineParams(k=3, min_chars=10))}
    assert {(w, w) for w in words[:4]} <= found
    assert all(a == b for a, b in found)  # noise sentences do not pair up
    excluded = mine(vi, ko, embed, MineParams(k=3, min_chars=10),
                    exclude={(s.doc_id, t.doc_id) for s in vi for t in ko})
    assert excluded == []
    assert mine(vi[:1], ko, embed) == []


def test_mining_embeds_no_sentence_whose_numbers_the_other_side_never_shares() -> None:
    """A translation keeps its numbers (mining's plausibility check), so a sentence with numbers
    that no sentence of the other language shares enough of cannot be mined: it is neither
    compared nor embedded. Sentences without numbers, or with a partner, are."""
    from viko.workbench.mining import Sentence, minable, mine

    vi = [Sentence("v", 0, "Công suất 1.500 kWp, vận hành từ 2024."), Sentence("v", 1, "Nhà máy dệt may ở Hải Phòng."),
          Sentence("v", 2, "Theo Điều 15 khoản 2 ngày 05/03/2019.")]
    ko = [Sentence("k", 0, "설비 용량 1,500kWp, 2024년부터 가동."), Sentence("k", 1, "하이퐁에 있는 섬유·의류 공장의 지붕입니다."),
          Sentence("k", 2, "소득세법 제94조 및 2017. 12. 19. 개정 규정.")]
    kept_vi, kept_ko = minable(vi, ko)
    assert [s.index for s in kept_vi] == [0, 1] and [s.index for s in kept_ko] == [0, 1]
    seen: list[str] = []

    def embed(texts: list[str]) -> np.ndarray:
        seen.extend(texts)
        return SentenceEmbedder(FakeEncoder()).embed(texts)

    mine(vi, ko, embed)
    assert vi[2].text not in seen and ko[2].text not in seen and vi[0].text in seen


def test_mining_never_pairs_an_offer_with_a_demand() -> None:
    """An offer and a demand share the session form's lines ("Hình thức hợp tác: EPC ...") and
    are what matchmaking pairs; neither is the other's translation. A news item quoting the
    offer may hold a translated sentence, so other types are still mined."""
    from viko.workbench.mining import MineParams, Sentence, mine

    words = ["river delta rice export quota", "battery plant hiring welders now",
             "museum opens ceramic exhibition hall", "coastal erosion threatens fishing village"]
    vi = [Sentence("offer-vi", i, w) for i, w in enumerate(words)]
    ko = [Sentence("demand-ko" if i < 2 else "news-ko", i, w) for i, w in enumerate(words)]
    embed = SentenceEmbedder(FakeEncoder()).embed
    params = MineParams(k=3, min_chars=10)
    assert len(mine(vi, ko, embed, params)) == 4
    kinds = {"offer-vi": "offer", "demand-ko": "demand", "news-ko": "news"}
    assert {p.ko.doc_id for p in mine(vi, ko, embed, params, kinds=kinds)} == {"news-ko"}


def _imported_pair(tmp_path: Path, vi: list[str], ko: list[str]) -> tuple[CliRunner, str]:
    """A data directory holding documents v (Vietnamese) and k (Korean), one sentence a line."""
    src = tmp_path / "pair.jsonl"
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": "v", "lang": "vi", "segmented": True, "text": "\n".join(vi)},
        {"id": "k", "lang": "ko", "segmented": True, "text": "\n".join(ko)}]) + "\n", encoding="utf-8")
    runner, data = CliRunner(), str(tmp_path / "data")
    assert runner.invoke(main, ["--data", data, "import", str(src)]).exit_code == 0
    return runner, data
