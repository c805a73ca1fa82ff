"""The files of a Ray index job (indexer.ray_embed): the export the driver writes, what its
actors do with each block of it, and the checks the driver makes on what comes back.

The export holds one row per chunk of the new and changed documents (`build.pending_work`),
keyed by `build.analysis_key`: the passage's digest, language and text, the chunk's own text
where it differs, and whether the passage is to be embedded (once per digest, and only where
no vector is reused). Each actor loads the encoder and an Analyzer once and returns, per row,
the terms and words `build.analyse_chunk` gives (Parquet list<string>), the vector where one
was asked for (null elsewhere), the model's name and the analyser's fingerprint. The driver
takes the result only when it is exactly the export's rows and passages, from its own model
and analyser (`analyse.analyser_fingerprint`: the analysis code and the segmenters' versions)."""

from __future__ import annotations

import math
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from viko.indexer.build import Analysed, PendingWork, analyse_chunk

MAX_ROWS_PER_FILE = 20_000  # a file is one block of the job, which an actor holds whole
FILES_PER_ACTOR = 4       # blocks per actor, so that actors that finish early take more


class RayEmbedError(RuntimeError):
    """The Ray job could not embed or analyse the passages, or returned what the index cannot take."""


def write_export(work: PendingWork, folder: Path, actors: int, batch_size: int) -> Path:
    """The export in files of about equal size, a few per actor (each file is one block of the
    job, the unit an actor takes), of one encoder batch at least."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    rows, asked = list(work.chunks.items()), set()
    per_file = max(batch_size, min(MAX_ROWS_PER_FILE, math.ceil(len(rows) / (actors * FILES_PER_ACTOR))))
    for n, start in enumerate(range(0, len(rows), per_file)):
        part = rows[start : start + per_file]
        embed = []
        for _, (digest, *_) in part:  # each passage to embed once, on the first of its rows
            embed.append(digest in work.passages and digest not in asked)
            asked.add(digest)
        table = pa.table({"key": pa.array([k for k, _ in part], pa.binary()),
                          "digest": pa.array([r[0] for _, r in part], pa.binary()),
                          "lang": pa.array([r[1] for _, r in part], pa.string()),
                          "text": pa.array([r[2] for _, r in part], pa.string()),
                          "chunk": pa.array([r[3] for _, r in part], pa.string()),
                          "embed": pa.array(embed, pa.bool_())})
        pq.write_table(table, folder / f"part-{n:05d}.parquet")
    return folder


class EncoderActor:
    """One Ray actor: loads the encoder and an Analyzer once, then analyses and embeds block
    after block of the export."""

    def __init__(self, spec: str, device: str, threads: int) -> None:
        from viko.indexer.analyze import Analyzer, analyser_fingerprint
        from viko.indexer.encoders import load_encoder

        self.encoder = load_encoder(spec, device=device, threads=threads)
        self.analyzer = Analyzer()
        self.fingerprint = analyser_fingerprint()

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        texts, embed = batch.column("text").to_pylist(), np.asarray(batch.column("embed").to_pylist(), bool)
        chunks = [t if c is None else c for t, c in zip(texts, batch.column("chunk").to_pylist(), strict=True)]
        analysed = [analyse_chunk(self.analyzer, lang, text, chunk)
                    for lang, text, chunk in zip(batch.column("lang").to_pylist(), texts, chunks, strict=True)]
        vectors = np.zeros((len(texts), self.encoder.dim), np.float32)
        if embed.any():
            vectors[embed] = self.encoder.encode_passages([t for t, e in zip(texts, embed, strict=True) if e])
        words = pa.list_(pa.string())
        return pa.table({
            "key": batch.column("key"),
            "digest": batch.column("digest"),
            "model": pa.array([self.encoder.name] * len(texts), pa.string()),
            "analyser": pa.array([self.fingerprint] * len(texts), pa.string()),
            "terms": pa.array([list(a[0]) for a in analysed], words),
            "words": pa.array([list(a[1]) for a in analysed], words),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), self.encoder.dim,
                                                        mask=pa.array(~embed)),
        })


def read_results(path: Path, work: PendingWork, *, model: str, dim: int,
                 analyser: str) -> tuple[dict[bytes, np.ndarray], dict[bytes, Analysed]]:
    """The job's vectors by digest and analyses by key (`update_index`'s `precomputed` and
    `preanalysed`), each checked (read_vectors, read_analyses)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    analysed = read_analyses(table, work.chunks.keys(), analyser=analyser)
    vectors = read_vectors(table.filter(pc.is_valid(table.column("vector"))), work.passages.keys(), model=model, dim=dim)
    return vectors, analysed


def read_vectors(source: Path | Any, expected: Collection[bytes], *, model: str, dim: int) -> dict[bytes, np.ndarray]:
    """The job's vectors by digest (from a Parquet file or a table), refused unless they are
    exactly the expected passages' (no more, no fewer), made by `model`, of `dim` finite values each."""
    import pyarrow.parquet as pq

    table = pq.read_table(source) if isinstance(source, Path) else source
    if not table.num_rows and not expected:
        return {}
    models = set(table.column("model").unique().to_pylist())
    if models != {model}:
        raise RayEmbedError(f"the Ray workers embedded with {', '.join(sorted(map(str, models)))}, but this index "
                            f"is built with {model}: give every node the same encoder (VIKO_ENCODER); "
                            "the index was not changed")
    column = table.column("vector").combine_chunks()
    width = getattr(column.type, "list_size", None)
    if width != dim:
        raise RayEmbedError(f"the Ray workers returned vectors of {width} dimensions, the index has {dim}")
    matrix = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32).reshape(-1, dim)
    digests = table.column("digest").to_pylist()
    if len(set(digests)) != len(digests) or set(digests) != set(expected):
        raise RayEmbedError(f"the Ray job returned {len(set(digests))} distinct vectors for {len(expected)} "
                            "passages: not the passages it was given; the index was not changed")
    if not np.isfinite(matrix).all():
        raise RayEmbedError("the Ray workers returned vectors with non-finite values; the index was not changed")
    return dict(zip(digests, matrix, strict=True))


def read_analyses(table: Any, expected: Collection[bytes], *, analyser: str) -> dict[bytes, Analysed]:
    """The job's analyses (terms, words) by analysis key, refused unless they are exactly the
    expected chunks' (no more, no fewer) and come from this process's analyser (`analyser`:
    its fingerprint): an index must not mix two analyses of its texts."""
    fingerprints = set(table.column("analyser").unique().to_pylist())
    if table.num_rows and fingerprints != {analyser}:
        others = ", ".join(sorted(str(f)[:12] for f in fingerprints))
        raise RayEmbedError(f"the Ray workers analysed the texts with another analyser (fingerprint {others}) "
                            f"than this process's ({analyser[:12]}): give every node the same viko and the same "
                            "underthesea and kiwipiepy versions; the index was not changed")
    keys = table.column("key").to_pylist()
    if len(set(keys)) != len(keys) or set(keys) != set(expected):
        raise RayEmbedError(f"the Ray job returned {len(set(keys))} distinct analyses for {len(expected)} "
                            "chunks: not the chunks it was given; the index was not changed")
    terms, words = table.column("terms").to_pylist(), table.column("words").to_pylist()
    return {k: (t, tuple(w)) for k, t, w in zip(keys, terms, words, strict=True)}
