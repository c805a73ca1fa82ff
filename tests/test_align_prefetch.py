"""align-all embeds a run's sentences ahead, in long batches, and stores what embedding pair by
pair stores (workbench.sentvec.SentenceEmbedder.prefetch, heard through workbench.evidence.verify
and workbench.runner), and joined sentences only where a pair's sentences do not settle 1-1."""

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from viko.corpus.catalogue import Catalogue
from viko.corpus.counterparts import CounterpartStore
from viko.corpus.document import make_document
from viko.corpus.tm import TranslationMemory
from viko.indexer.analyze import default_analyzer
from viko.indexer.build import update_index
from viko.indexer.store import Index
from viko.workbench import sentvec
from viko.workbench.align import doc_sentences, unit_texts
from viko.workbench.runner import align_all
from viko.workbench.sentvec import SentenceEmbedder

from helpers import SMALL_DOCS, FakeEncoder

# Pairs that translate each other sentence by sentence (the fake encoder is one language), one
# of them with a sentence split in two on the Korean side, and documents without a partner.
PAIRS = {
    "farm": (["greenhouse sensor tomato harvest irrigation daily", "farmers install humidity probes in 2024",
              "yield rose thirty percent overall this season"],
             ["greenhouse sensor tomato harvest irrigation daily", "farmers install humidity probes",
              "in 2024", "yield rose thirty percent overall this season"]),
    "wind": (["offshore turbine blade foundation cable laid", "grid operator signs purchase contract today",
              "construction starts next spring season nearby"],) * 2,
    "fab": (["semiconductor engineer training campus opens", "wafer fabrication cleanroom equipment arrives",
              "graduates join assembly lines abroad soon"],) * 2,
}


class CallLog(FakeEncoder):
    """The fake encoder, remembering each call's texts."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return super().encode_passages(texts)


def records() -> list[dict[str, object]]:
    out: list[dict[str, object]] = [dict(d) for d in SMALL_DOCS]
    for name, (vi, ko) in PAIRS.items():
        for lang, sents in (("vi", vi), ("ko", ko)):
            out.append({"id": f"{name}-{lang}", "lang": lang, "segmented": True, "date": "2024-05-01",
                        "title": name, "text": "\n".join(sents)})
    return out


def build(root: Path, docs: list[dict[str, object]]) -> tuple[Catalogue, Index, SentenceEmbedder, CallLog]:
    cat = Catalogue.open(root / "catalogue.sqlite")
    cat.upsert_many(make_document(r) for r in docs)
    enc = CallLog()
    update_index(list(cat.iter_documents()), root / "index", FakeEncoder(), default_analyzer())
    return cat, Index.load(root / "index"), SentenceEmbedder(enc, root / "sentences"), enc


def stored(root: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(root / "catalogue.sqlite") as db:
        return {"links": sorted(db.execute("SELECT doc_id, other_id, confidence, features FROM counterparts")),
                "units": sorted(db.execute("SELECT origin, vi, ko, score, vi_doc, ko_doc, vi_sents, ko_sents "
                                           "FROM tm_units")),
                "mined": sorted(db.execute("SELECT doc_id, content_hash FROM mined_docs"))}


def test_prefetch_embeds_each_missing_text_once_shortest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sentvec, "PREFETCH_CALL", 3)
    enc = CallLog()
    emb = SentenceEmbedder(enc)
    emb.embed(["cached already here"])
    heard: list[tuple[int, int, float]] = []
    texts = ["a much longer sentence than the others", "bb", "cached already here", "ccc ccc", "bb",
             "dddd dddd dddd", "e"]
    assert emb.prefetch(texts, lambda *args: heard.append(args)) == 5
    assert enc.calls[1:] == [["e", "bb", "ccc ccc"], ["dddd dddd dddd", "a much longer sentence than the others"]]
    assert [h[:2] for h in heard] == [(3, 5), (5, 5)] and heard[-1][2] == pytest.approx(1.0)
    assert 0 < heard[0][2] < 0.5  # the share counts characters: the short texts went first
    calls = len(enc.calls)
    vecs = emb.embed(texts)
    assert len(enc.calls) == calls and emb.embedded == 6  # everything came from the cache
    assert np.allclose(vecs, FakeEncoder().encode_passages(texts))
    assert emb.prefetch(texts) == 0 and len(enc.calls) == calls


def test_align_all_embeds_ahead_and_stores_what_pair_by_pair_stores(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ahead = build(tmp_path / "ahead", records())
    lines: list[str] = []
    stats = align_all(ahead[0], ahead[1], ahead[2], min_confidence=0.0, progress=lines.append)
    assert stats.aligned == 3 and stats.units >= 9
    assert stats.mined_docs == sum(1 for r in records() if r["lang"] in ("vi", "ko"))
    calls = ahead[3].calls
    # three prefetch calls held every text (the sentences of the candidate pairs worth reading,
    # their joined sentences where worth it, then the sentences only mining reads: of the
    # documents no candidate of which could be claimed); detection, alignment and mining
    # found them cached
    assert len(calls) == 3 and ahead[2].embedded == sum(len(call) for call in calls)
    assert all([len(t) for t in call] == sorted(len(t) for t in call) for call in calls)
    assert sum(1 for line in lines if line.startswith("embedded ") and "ahead" in line) == 3
    assert "documents to mine" in [line for line in lines if line.startswith("embedded ")][-1]

    # the same run with the prefetch turned into a no-op: the steps embed pair by pair
    monkeypatch.setattr(SentenceEmbedder, "prefetch", lambda self, texts, progress=None: 0)
    by_pair = build(tmp_path / "by-pair", records())
    align_all(by_pair[0], by_pair[1], by_pair[2], min_confidence=0.0)
    assert len(by_pair[3].calls) > 5
    assert stored(tmp_path / "ahead") == stored(tmp_path / "by-pair")
    assert stored(tmp_path / "ahead")["units"]
    # nothing was embedded ahead that the steps did not ask for
    assert set().union(*calls) == {t for call in by_pair[3].calls for t in call}


def joined_of(sents: list[str]) -> set[str]:
    return set(unit_texts(sents)[len(sents):])


def test_joined_sentences_are_embedded_only_where_a_pair_s_sentences_do_not_settle_1_1(tmp_path: Path) -> None:
    cat, index, emb, enc = build(tmp_path, records())
    stats = align_all(cat, index, emb, min_confidence=0.0)
    assert stats.aligned == 3
    embedded = {t for call in enc.calls for t in call}
    # around the farm pair's split sentence the joined sentences were compared ...
    farm_ko = PAIRS["farm"][1]
    assert {" ".join(farm_ko[1:3]), " ".join(farm_ko[0:2]), " ".join(farm_ko[2:4])} <= embedded
    # ... but not where each sentence settled 1-1 (the pairs translated sentence by sentence)
    assert not any((joined_of(vi) | joined_of(ko)) & embedded for vi, ko in (PAIRS["wind"], PAIRS["fab"]))
    # ... those of documents whose candidates share no sentence never were
    unpaired = [doc_sentences(d) for d in cat.get_many([str(r["id"]) for r in SMALL_DOCS]).values()]
    assert any(joined_of(s) for s in unpaired) and not any(joined_of(s) & embedded for s in unpaired)
    units = {(u.vi, u.ko) for u in TranslationMemory(cat).units()}
    assert (PAIRS["farm"][0][1], " ".join(PAIRS["farm"][1][1:3])) in units
    # detection read the farm pair with its 1-2 link too: all 7 sentences in strong links
    farm = CounterpartStore(cat).lookup().get("farm-vi")
    assert farm is not None and farm.other_id == "farm-ko" and farm.evidence()["sent_strong"] == 7


def test_a_changed_document_is_embedded_ahead_alone(tmp_path: Path) -> None:
    cat, index, emb, enc = build(tmp_path, records())
    align_all(cat, index, emb, min_confidence=0.0)
    emb.save()
    changed = [dict(r) for r in records()]
    new_ko = ["offshore turbine blade foundation cable laid", "grid operator signs purchase contract today",
              "construction starts next autumn season nearby"]
    changed[[r["id"] for r in changed].index("wind-ko")]["text"] = "\n".join(new_ko)
    cat.upsert_many(make_document(r) for r in changed)
    update_index(list(cat.iter_documents()), tmp_path / "index", FakeEncoder(), default_analyzer())
    again = SentenceEmbedder(enc, tmp_path / "sentences")
    enc.calls.clear()
    stats = align_all(cat, Index.load(tmp_path / "index"), again, min_confidence=0.0)
    assert stats.aligned == 1 and stats.kept == 2
    # its new sentences, and the joined ones around the sentences that no longer settle 1-1
    new = set(new_ko) - set(PAIRS["wind"][1])
    embedded = {t for call in enc.calls for t in call}
    assert new <= embedded and again.embedded == len(embedded)
    assert embedded - new <= joined_of(new_ko) | joined_of(PAIRS["wind"][0])
