"""Bring the index up to date with the catalogue: new and changed documents go into one new
segment, removed and replaced ones become tombstones, and a small merge policy keeps the
number of segments low. Work is proportional to what changed, except for the rare merges.

`update_index` takes these steps, one function each:
1. `plan_update`: which documents are new, changed or gone since the live generation;
2. `_write_changes`: chunk and embed those (a passage seen before keeps its vector), write
   them as one new segment, and tombstone the documents they replace: a `Draft`
   (indexer.draft) of the next generation;
3. `_maintain`: merge segments as the policy says, or re-centre everything when a
   language's size drifted;
4. `_manifest` and `publish` (indexer.store): the next generation goes live atomically.
A run starts by removing what an earlier failed or killed run left (`remove_leftovers`), and
a run that fails removes what it wrote: the index folder holds only what generations list.
How the index is built (chunking, batches, ANN threshold, merge policy) is one record,
`IndexOptions`, filled from the settings by viko.runtime.run_index. `pending_work` says what
a run would embed and analyse, so that a Ray job (indexer.ray_embed) can do both beforehand.
"""

from __future__ import annotations

import hashlib
import time
from collections import ChainMap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from viko.corpus.access import RECORD_TYPES, mask_contacts
from viko.corpus.document import Document
from viko.indexer import centring
from viko.indexer.analyze import ANALYSIS_VERSION, Analyzer
from viko.indexer.ann import ANN_THRESHOLD, Progress
from viko.indexer.chunking import CHUNK_CHARS, Chunk, chunk_document
from viko.indexer.draft import Draft
from viko.indexer.encoders import Encoder
from viko.indexer.manifest import Manifest, float_centroids
from viko.indexer.merge import MAX_SEGMENTS, merge_segments, plan_merges, recompute_centroids
from viko.indexer.segments import LANGS, SegmentWriter, lang_code
from viko.indexer.store import Index, UnusableIndex, index_exists, publish, remove_leftovers

# Centroids are recomputed (and every segment re-centred in one merge) when a language's chunk
# count moved by more than this share since they were computed: growth is geometric between
# two recomputations, so their cost stays linear in the corpus overall.
RECENTRE_DRIFT = 0.25
# Texts per encoder call while indexing (VIKO_BATCH_SIZE). The batch engine sorts a call's texts
# by length and cuts them into token-bounded batches, so a larger call pads less (measured in
# docs/benchmarks.md, "endtoend").
BATCH_TEXTS = 256
EMBED_WINDOW = 2  # encoder calls per step: documents are written once their chunks are embedded


@dataclass(frozen=True)
class IndexStats:
    documents: int
    chunks: int
    embedded: int
    reused: int
    removed: int
    seconds: float
    changed: bool
    truncated: tuple[str, ...] = ()

    def summary(self) -> str:
        if not self.changed:
            return f"index is up to date ({self.documents} documents, {self.chunks} chunks)"
        text = (f"indexed {self.documents} documents as {self.chunks} chunks: {self.embedded} "
                f"embedded, {self.reused} reused, {self.removed} documents removed "
                f"in {self.seconds:.1f}s")
        if self.truncated:
            shown = ", ".join(self.truncated[:5]) + (" ..." if len(self.truncated) > 5 else "")
            text += (f"\n{len(self.truncated)} very long documents are searchable by their opening part "
                     f"only (VIKO_MAX_CHUNKS_PER_DOC; their full text stays in the catalogue): {shown}")
        return text


@dataclass(frozen=True)
class IndexOptions:
    """How an index is built. chunk_chars and overlap are part of what an index is: an index
    built with others is rebuilt, not grown. max_chunks: the most chunks a document is
    indexed by (0: all); ann_threshold: vectors of one language and segment above which its
    dense search walks an HNSW graph; max_segments: the merge policy's bound."""

    chunk_chars: int = CHUNK_CHARS
    overlap: int = 1
    batch_size: int = BATCH_TEXTS
    max_chunks: int = 0
    ann_threshold: int = ANN_THRESHOLD
    max_segments: int = MAX_SEGMENTS


def passage_text(doc: Document, chunk: Chunk) -> str:
    """What the encoder sees for a chunk: the title gives short passages their context."""
    if doc.title and not chunk.text.startswith(doc.title):
        return f"{doc.title}\n{chunk.text}"
    return chunk.text


Analysed = tuple[Sequence[str], Sequence[str]]  # a chunk's index terms and its multi-syllable words


def analyse_chunk(analyzer: Analyzer, lang: str, passage: str, chunk: str) -> Analysed:
    """A chunk's index terms (its passage's, as the encoder saw it) and its multi-syllable
    Vietnamese words in text order, kept in the segment so that highlighting a result never
    segments its passage again (~10 ms a results page). The words are the passage's own terms
    when the encoder saw the chunk alone; with a title in front, the chunk (`chunk`, its own
    text) is analysed apart, so the title's words do not stand first."""
    terms = analyzer.tokens(passage, lang)
    if lang != "vi":
        return terms, ()
    return terms, tuple(t for t in terms if "_" in t) if passage == chunk else analyzer.words(chunk)


def analysis_key(digest: bytes, passage: str, chunk: str) -> bytes:
    """What a chunk's analysis depends on: its passage's digest (language and text) and, where
    it differs from the passage, the chunk's own text (analyse_chunk)."""
    return digest if passage == chunk else hashlib.sha1(digest + chunk.encode("utf-8")).digest()


def _digest(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).digest()


def update_index(documents: Iterable[Document], root: Path, encoder: Encoder, analyzer: Analyzer,
                 options: IndexOptions | None = None, *, rebuild: bool = False,
                 progress: Progress | None = None,
                 precomputed: Mapping[bytes, np.ndarray] | None = None,
                 preanalysed: Mapping[bytes, Analysed] | None = None) -> IndexStats:
    """Bring the index at root up to date with `documents` (everything that should be indexed)
    and publish the result as a new generation; `rebuild` starts afresh. The caller must be the
    index's only writer (viko.runtime.run_index holds the data directory's index lock): the run
    starts by removing every unpublished leftover, and a failed run removes what it wrote.
    `precomputed`: vectors by chunk digest from the same encoder, computed elsewhere (a Ray job,
    indexer.ray_embed, over `pending_work`); the chunks they key are not embedded here.
    `preanalysed`: chunks' analyses by `analysis_key` from the same analyser, likewise."""
    started = time.perf_counter()
    options = options or IndexOptions()
    root = Path(root)
    remove_leftovers(root)  # what a failed or killed run left: the caller is the one writer
    previous = _previous(root, encoder, options, rebuild)
    draft: Draft | None = None
    try:
        plan = plan_update(documents, previous)
        if previous is not None and plan.unchanged:
            return IndexStats(len(plan.live), int(previous.live.sum()), 0, 0, 0, time.perf_counter() - started, False)
        reference = centring.reference_centroids(encoder)
        draft, work = _write_changes(root, plan, previous, encoder, analyzer, options, progress, reference,
                                     precomputed or {}, preanalysed or {})
        _maintain(draft, options, progress, reference)
        manifest = _manifest(draft, plan, encoder, options, reference)
        draft.close()
        publish(root, manifest, draft.centroids)
    except BaseException:
        # Nothing this run wrote was published: its segments (and any temporary folder) go now,
        # so a failed run leaves the index folder as it found it.
        if draft is not None:
            draft.close()
        remove_leftovers(root)
        raise
    finally:
        if previous is not None:
            previous.close()
    return IndexStats(manifest.documents, manifest.chunks, work.embedded, work.reused, len(plan.gone),
                      time.perf_counter() - started, True, tuple(work.truncated))


def passages_to_embed(documents: Iterable[Document], root: Path, encoder: Encoder,
                      options: IndexOptions | None = None, *, rebuild: bool = False) -> dict[bytes, str]:
    """What `update_index` with the same arguments would give the encoder (`pending_work`)."""
    return pending_work(documents, root, encoder, options, rebuild=rebuild).passages


@dataclass(frozen=True)
class PendingWork:
    """What `update_index` would give the encoder: the passages of new and changed documents that
    no replaced chunk has a vector for, by chunk digest; and the analyser: every chunk of those
    documents, by `analysis_key`, as (passage digest, language, passage, the chunk's own text or
    None where it is the passage)."""

    passages: dict[bytes, str]
    chunks: dict[bytes, tuple[bytes, str, str, str | None]]


def pending_work(documents: Iterable[Document], root: Path, encoder: Encoder,
                 options: IndexOptions | None = None, *, rebuild: bool = False) -> PendingWork:
    """What `update_index` with the same arguments would embed and analyse."""
    options = options or IndexOptions()
    previous = _previous(Path(root), encoder, options, rebuild)
    try:
        plan = plan_update(documents, previous)
        reuse = _reusable(previous, plan.replaced)
    finally:
        if previous is not None:
            previous.close()
    work = PendingWork({}, {})
    for doc in plan.changed:
        chunks, texts, hashes, _ = _passages(doc, options)
        for chunk, text, digest in zip(chunks, texts, hashes, strict=True):
            if digest not in reuse:
                work.passages[digest] = text
            own = None if chunk.text == text else chunk.text
            work.chunks[analysis_key(digest, text, chunk.text)] = (digest, doc.lang, text, own)
    return work


@dataclass(frozen=True)
class UpdatePlan:
    """What changed since the live generation (empty `live`: there is none)."""

    live: dict[str, str]     # id -> content hash of every live document
    changed: list[Document]  # new, or with another content hash
    gone: list[str]          # live, but no longer among the documents

    @property
    def unchanged(self) -> bool:
        return not self.changed and not self.gone

    @property
    def replaced(self) -> list[str]:
        """Live documents to tombstone: the changed ones and the gone ones."""
        return [d.id for d in self.changed if d.id in self.live] + self.gone

    @property
    def documents(self) -> int:
        return len(self.live) - len(self.replaced) + len(self.changed)


def plan_update(documents: Iterable[Document], previous: Index | None) -> UpdatePlan:
    """New and changed documents, and gone ones; every document when the live index was
    analysed by another ANALYSIS_VERSION (their vectors are reused: only the analysis is new)."""
    live = previous.doc_hashes() if previous else {}
    reanalyse = previous is not None and previous.manifest.analysis != ANALYSIS_VERSION
    changed: list[Document] = []
    seen: set[str] = set()
    for doc in documents:
        seen.add(doc.id)
        if reanalyse or live.get(doc.id) != doc.content_hash:
            changed.append(doc)
    return UpdatePlan(live, changed, [d for d in live if d not in seen])


def _write_changes(root: Path, plan: UpdatePlan, previous: Index | None, encoder: Encoder, analyzer: Analyzer,
                   options: IndexOptions, progress: Progress | None, reference: centring.Centroids,
                   precomputed: Mapping[bytes, np.ndarray],
                   preanalysed: Mapping[bytes, Analysed]) -> tuple[Draft, _Work]:
    """Embed the new and changed documents into one new segment (none when documents were
    only removed) and tombstone the documents they replace."""
    writer = SegmentWriter(root / "segments", encoder.dim)
    try:
        work = _write_documents(writer, plan.changed, encoder, analyzer, _reusable(previous, plan.replaced),
                                options, progress, precomputed, preanalysed)
    except BaseException:
        writer.abort()
        raise
    draft = Draft.start(root / "segments", previous, work.sums, work.counts, reference)
    if plan.changed or previous is None:
        draft.add(writer.finish(draft.centroids, options.ann_threshold, progress))
    else:  # only removals: tombstones, no new segment
        writer.abort()
    if previous is not None:
        draft.tombstone(previous, plan.replaced)
    return draft, work


def _maintain(draft: Draft, options: IndexOptions, progress: Progress | None,
              reference: centring.Centroids) -> None:
    """Re-centre everything (one merge of all segments) when a language's size drifted by more
    than RECENTRE_DRIFT since the centroids were computed; else merge what the policy says."""
    counts = draft.live_counts()
    then = draft.centroid_counts
    recentre = bool(np.any((np.abs(counts - then) > RECENTRE_DRIFT * np.maximum(then, 1)) & (counts > 0)))
    if recentre:
        draft.centroids = recompute_centroids([draft.segment(n) for n in draft.names], draft.deleted, reference)
        groups = [list(draft.names)]
    else:
        groups = plan_merges({n: int(draft.live(n).sum()) for n in draft.names},
                             {n: draft.segment(n).size for n in draft.names}, options.max_segments)
    for group in groups:
        draft.merged(group, merge_segments(draft.folder, [draft.segment(n) for n in group], draft.deleted,
                                           draft.centroids, options.ann_threshold, progress))
    if recentre:  # the counts the new centroids stand for
        draft.centroid_counts = draft.live_counts()


def _manifest(draft: Draft, plan: UpdatePlan, encoder: Encoder, options: IndexOptions,
              reference: centring.Centroids) -> Manifest:
    by_lang = draft.live_counts()
    return Manifest(
        model=encoder.name, dim=encoder.dim, chunk_chars=options.chunk_chars, overlap=options.overlap,
        segments=tuple(draft.names), documents=plan.documents,
        chunks_by_lang={lang: int(n) for lang, n in zip(LANGS, by_lang, strict=True) if n},
        centroid_counts=tuple(int(n) for n in draft.centroid_counts),
        deleted={name: frozenset(docs) for name, docs in draft.deleted.items() if docs},
        reference_centroids=float_centroids(reference), analysis=ANALYSIS_VERSION)

@dataclass
class _Work:
    embedded: int
    reused: int
    truncated: list[str]
    sums: np.ndarray
    counts: np.ndarray
    reuse: Mapping[bytes, np.ndarray]  # vectors of the replaced chunks: counted as reused
    known: Mapping[bytes, np.ndarray]  # those, then the precomputed: not given to the encoder
    analysed: Mapping[bytes, Analysed]  # the preanalysed: not given to the analyser


def _reusable(previous: Index | None, doc_ids: Sequence[str]) -> dict[bytes, np.ndarray]:
    """Vectors of the chunks of documents about to be replaced, by text digest: an edit that
    keeps most passages re-embeds only the edited ones."""
    out: dict[bytes, np.ndarray] = {}
    if previous is None:
        return out
    for doc_id in doc_ids:
        pos = previous.doc_position[doc_id]
        seg = previous.segments[int(previous.doc_segment[pos])]
        for row in seg.doc_rows(int(previous.doc_local[pos])):
            out[seg.digest(row)] = np.asarray(seg.vectors[row])
    return out


def _passages(doc: Document, options: IndexOptions) -> tuple[list[Chunk], list[str], list[bytes], bool]:
    """A document's chunks, what the encoder sees of each, their digests, and whether the
    document was cut at `max_chunks`."""
    # An offer's or a demand's contact details are not indexed (viko.corpus.access): nobody finds
    # a record by a phone number, and its passages never show one; its page does, to signed-in users.
    text = mask_contacts(doc.text) if doc.type in RECORD_TYPES else doc.text
    chunks = chunk_document(doc.id, doc.lang, text, target_chars=options.chunk_chars,
                            overlap=options.overlap, segmented=doc.segmented)
    cut = bool(options.max_chunks) and len(chunks) > options.max_chunks
    if cut:  # a huge page (a dump, a scraped archive) would otherwise take hours to embed
        chunks = chunks[: options.max_chunks]
    texts = [passage_text(doc, c) for c in chunks]
    return chunks, texts, [_digest(f"{doc.lang}\x1f{t}") for t in texts], cut


def _write_documents(writer: SegmentWriter, docs: Sequence[Document], encoder: Encoder, analyzer: Analyzer,
                     reuse: dict[bytes, np.ndarray], options: IndexOptions, progress: Progress | None,
                     precomputed: Mapping[bytes, np.ndarray],
                     preanalysed: Mapping[bytes, Analysed]) -> _Work:
    work = _Work(0, 0, [], np.zeros((len(LANGS), encoder.dim), np.float64), np.zeros(len(LANGS), np.int64),
                 reuse, ChainMap(reuse, dict(precomputed)), preanalysed)
    window: list[tuple[Document, list[Chunk], list[str], list[bytes]]] = []
    todo = 0
    for n, doc in enumerate(docs, 1):
        chunks, texts, hashes, cut = _passages(doc, options)
        if cut:
            work.truncated.append(doc.id)
        window.append((doc, chunks, texts, hashes))
        todo += sum(h not in work.known for h in hashes)
        if todo >= options.batch_size * EMBED_WINDOW or n == len(docs):
            _flush(writer, window, encoder, analyzer, options.batch_size, work)
            window, todo = [], 0
            if progress:
                progress("embedding", n, len(docs))
    return work


def _flush(writer: SegmentWriter, window: list[tuple[Document, list[Chunk], list[str], list[bytes]]],
           encoder: Encoder, analyzer: Analyzer, batch_size: int, work: _Work) -> None:
    reuse, known = work.reuse, work.known
    pending = [t for _, _, texts, hashes in window for t, h in zip(texts, hashes, strict=True) if h not in known]
    encoded = [encoder.encode_passages(pending[i : i + batch_size]) for i in range(0, len(pending), batch_size)]
    fresh = iter(np.concatenate(encoded) if encoded else np.zeros((0, encoder.dim), np.float32))
    for doc, chunks, texts, hashes in window:
        vectors = np.zeros((len(chunks), encoder.dim), np.float32)
        for i, digest in enumerate(hashes):
            vector = known.get(digest)
            vectors[i] = vector if vector is not None else next(fresh)
        work.reused += sum(h in reuse for h in hashes)
        work.embedded += sum(h not in reuse for h in hashes)
        analysed = [work.analysed.get(analysis_key(h, t, c.text)) or analyse_chunk(analyzer, c.lang, t, c.text)
                    for c, t, h in zip(chunks, texts, hashes, strict=True)]
        terms, words = [a[0] for a in analysed], [a[1] for a in analysed]
        writer.add_document(doc.id, doc.lang, doc.content_hash, chunks, hashes, vectors, terms, words)
        work.sums[lang_code(doc.lang)] += vectors.sum(axis=0)
        work.counts[lang_code(doc.lang)] += len(chunks)


def _previous(root: Path, encoder: Encoder, options: IndexOptions, rebuild: bool) -> Index | None:
    """The live index, when it can grow (same model and chunking); else a fresh start."""
    if rebuild or not index_exists(root):
        return None
    try:
        index = Index.load(root, expect_model=encoder.name)
    except UnusableIndex:
        return None
    return index if index.manifest.chunking_is(options.chunk_chars, options.overlap) else None
