"""Section "syntax": what the query operators cost, against the same words without them.

    python -m bench.syntax_latency [--data DIR] [--repeat N] [--no-write]   (default: the demo corpus)
    python -m bench.run syntax

Each query is searched once to warm the caches that any repeated query hits (its vector, its
analysis), then the engine's caches of rankings and filter masks are cleared before every timed
run, so a filter is paid each time: what a new query with that filter costs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.demo_data import demo_settings
from bench.report import table, write_section
from viko.runtime import build_engine
from viko.search.engine import SearchEngine
from viko.settings import Settings

QUERIES = (
    ("words", "điện mặt trời áp mái"),
    ("phrase", '"điện mặt trời" áp mái'),
    ("exclusion", "điện mặt trời áp mái -gió"),
    ("type filter", "điện mặt trời áp mái type:offer"),
    ("date filter", "điện mặt trời áp mái after:2024-06"),
    ("title filter", "điện mặt trời title:EPC"),
    ("filters only", "type:demand after:2025"),
    ("Korean words", "태양광 패널 지붕 설치"),
    ("Korean + lang, type", "태양광 패널 지붕 설치 lang:vi type:demand"),
)


def timed(engine: SearchEngine, query: str, repeat: int) -> list[float]:
    engine.search(query)
    out = []
    for _ in range(repeat):
        engine._masks.clear()  # a new filter each time: its mask is computed again
        started = time.perf_counter()
        engine.search(query)
        out.append((time.perf_counter() - started) * 1000)
    return out


def evaluate(data: Path, repeat: int) -> str:
    engine = build_engine(Settings.from_env(data_dir=data))
    rows: list[list[object]] = []
    for name, query in QUERIES:
        ms = timed(engine, query, repeat)
        rows.append([name, f"`{query}`", engine.search(query).total, float(np.percentile(ms, 50)),
                     float(np.percentile(ms, 95))])
    return (f"## Query syntax latency\n\n`python -m bench.run syntax` (`{data.name}`): {engine.index.size:,} "
            f"passages of {len(engine.index.doc_ids):,} documents; engine.search, one thread, query vector "
            f"cached, the filter masks recomputed each run ({repeat} runs). At a million passages: "
            f"section syntax-scale (`python -m bench.run syntax-scale`).\n\n"
            + table(["query", "text", "results", "p50 ms", "p95 ms"], rows))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=None, help="an indexed data directory (default: the demo)")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    markdown = evaluate(args.data or Path(demo_settings().data_dir), args.repeat)
    print(markdown)
    if not args.no_write:
        write_section("syntax", markdown)


def run() -> None:
    write_section("syntax", evaluate(Path(demo_settings().data_dir), 30))


if __name__ == "__main__":
    main()
