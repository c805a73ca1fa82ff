"""What the data directory holds: the same facts for `viko status` and the status page."""

from __future__ import annotations

from typing import Any

from viko.indexer.store import UnusableIndex, current_generation, live_doc_hashes, read_manifest
from viko.runtime import open_catalogue
from viko.settings import Settings


def collect_status(settings: Settings) -> dict[str, Any]:
    with open_catalogue(settings) as cat:
        counts = cat.counts()
        hashes = cat.hashes()
        from viko.corpus.dedup import duplicate_ids  # duplicates are stored but never indexed

        duplicates = duplicate_ids(cat)
    index: dict[str, Any] | None = None
    try:
        folder = current_generation(settings.index_root)
        manifest = read_manifest(folder)
        indexed = live_doc_hashes(settings.index_root, manifest)
        pending = sum(1 for d, h in hashes.items() if indexed.get(d) != h and d not in duplicates)
        pending += len(set(indexed) - set(hashes))
        index = {"generation": folder.name, "created": manifest["created"], "model": manifest["model"],
                 "dim": manifest["dim"], "documents": manifest["documents"], "chunks": manifest["chunks"],
                 "chunks_by_lang": manifest["chunks_by_lang"], "pending": pending, "fresh": pending == 0}
    except UnusableIndex:
        index = None
    return {"data_dir": str(settings.data_dir), "documents": len(hashes), "by_lang": counts["lang"],
            "by_type": counts["type"], "index": index, "encoder": settings.encoder}
