"""What the data directory holds: the same facts for `viko status` and the status page."""

from __future__ import annotations

from typing import Any

from viko.indexer.analyze import ANALYSIS_VERSION
from viko.indexer.manifest import MANIFEST_FILE, Manifest
from viko.indexer.store import UnusableIndex, current_generation, live_doc_hashes
from viko.runtime import open_catalogue
from viko.settings import Settings


def collect_status(settings: Settings) -> dict[str, Any]:
    with open_catalogue(settings) as cat:
        counts = cat.counts()
        hashes = cat.hashes()
        from viko.corpus.dedup import duplicate_ids, not_indexed  # duplicates are stored but never indexed

        duplicates = duplicate_ids(cat)
        skipped = not_indexed(cat)
    index: dict[str, Any] | None = None
    try:
        folder = current_generation(settings.index_root)
        manifest = Manifest.load(folder / MANIFEST_FILE)
        indexed = live_doc_hashes(settings.index_root, manifest)
        pending = sum(1 for d, h in hashes.items() if indexed.get(d) != h and d not in duplicates)
        pending += len(set(indexed) - set(hashes)) + len(set(indexed) & duplicates)  # to be dropped
        reanalyse = manifest.analysis != ANALYSIS_VERSION  # `viko index` rewrites every document's terms
        if reanalyse:
            pending += sum(1 for d, h in hashes.items() if indexed.get(d) == h and d not in duplicates)
        index = {"generation": folder.name, "created": manifest.created, "model": manifest.model,
                 "dim": manifest.dim, "documents": manifest.documents, "chunks": manifest.chunks,
                 "chunks_by_lang": dict(manifest.chunks_by_lang), "pending": pending, "fresh": pending == 0,
                 "reanalyse": reanalyse}
    except UnusableIndex:
        index = None
    return {"data_dir": str(settings.data_dir), "documents": len(hashes), "by_lang": counts["lang"],
            "by_type": counts["type"], "index": index, "encoder": settings.encoder,
            "not_indexed": skipped.to_json()}


def not_indexed_line(status: dict[str, Any]) -> str:
    """`viko status`'s line about the stored documents that are deliberately not indexed
    (empty when there are none)."""
    skipped = status.get("not_indexed") or {}
    total = int(skipped.get("documents", 0))
    if not total:
        return ""
    reasons = ", ".join(f"{n} {reason}{'s' if n != 1 else ''}" for reason, n in sorted(skipped["by_reason"].items()))
    example = next(iter(skipped.get("examples", [])), None)
    shown = f"; e.g. {example['id']} duplicates {example['of']}" if example else ""
    return (f"{total} stored document{'s are' if total != 1 else ' is'} not indexed: {reasons} of other "
            f"documents, searchable through those{shown} (`viko get ID` lists every copy)")
