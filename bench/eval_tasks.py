"""The three retrieval-quality evaluations, on ../shared data.

1. parallel sentences (NTREX, SIB-200): each sentence finds its translation among all
   sentences of the other language in the split; P@1 both ways.
2. mixed-language documents (NTREX): both languages indexed together, headline queries
   (removed from the text); nDCG@10 and "both versions in top 2".
3. XQuAD-vi: question -> its paragraph among the 240; R@1, R@10, MRR@10.

Each returns {method: {metric: value}} for methods bm25 / plain / full (and ablations).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.datasets import ntrex_documents, sib200_pairs, xquad_vi
from bench.eval_cache import CACHE_DIR
from viko.corpus.document import Document
from viko.indexer import centring, scoring
from viko.indexer.analyze import Analyzer, analyser_fingerprint
from viko.indexer.build import IndexOptions, update_index
from viko.indexer.encoders import Encoder
from viko.indexer.lexical import LexicalIndex
from viko.indexer.store import Index
from viko.search.engine import SearchEngine

Scores = dict[str, dict[str, float]]
EngineFactory = Callable[[Index], SearchEngine]


# -- 1. parallel sentence retrieval ------------------------------------------------------
def sentence_pairs(dataset: str, split: str) -> list[tuple[str, str]]:
    if dataset == "sib200":
        return sib200_pairs(split)
    return [(v, k) for d in ntrex_documents(split) for v, k in zip(d.vi, d.ko, strict=True)]


def p_at_1(scores: np.ndarray) -> float:
    """Rows are queries, columns candidates; the right answer of row i is column i."""
    return float((scores.argmax(axis=1) == np.arange(len(scores))).mean()) if len(scores) else 0.0


def lexical_matrix(analyzer: Analyzer, queries: Sequence[str], qlang: str,
                   targets: Sequence[str], tlang: str) -> np.ndarray:
    """BM25 of every target sentence (its own analyzer) for every query (its own analyzer):
    across the two languages only shared names, numbers and Latin terms can match."""
    index = LexicalIndex.build([analyzer.tokens(t, tlang) for t in targets])
    return np.stack([index.scores(analyzer.query_tokens(q, qlang)) for q in queries])


def parallel_sentences(pairs: list[tuple[str, str]], encoder: Encoder, analyzer: Analyzer,
                       variants: dict[str, dict[str, Any]]) -> Scores:
    """P@1 both ways per variant. A variant's "side" picks e5's prefix for both languages:
    "passage" (default: like with like, as the index embeds) or "query"."""
    texts = {"vi": [p[0] for p in pairs], "ko": [p[1] for p in pairs]}
    vecs: dict[tuple[str, str], np.ndarray] = {}

    def vec(side: str, lang: str) -> np.ndarray:
        if (side, lang) not in vecs:
            fn = encoder.encode_queries if side == "query" else encoder.encode_passages
            vecs[side, lang] = fn(texts[lang])
        return vecs[side, lang]

    lex = {"vi": lexical_matrix(analyzer, texts["vi"], "vi", texts["ko"], "ko"),
           "ko": lexical_matrix(analyzer, texts["ko"], "ko", texts["vi"], "vi")}
    out: Scores = {}
    for name, opts in variants.items():
        opts = dict(opts)
        side = opts.pop("side", "passage")
        out[name] = {f"{src}→{dst}": p_at_1(sentence_score_matrix(vec(side, src), vec(side, dst), lex[src], **opts))
                     for src, dst in (("vi", "ko"), ("ko", "vi"))}
    return out


def sentence_score_matrix(a: np.ndarray, b: np.ndarray, lexical: np.ndarray, *, method: str,
                          k: int = 4, kind: str = "ratio", lexical_weight: float = 0.0) -> np.ndarray:
    if method == "bm25":
        return lexical
    if method == "plain":
        return a @ b.T
    if method == "centred":
        return scoring.centre(a, a.mean(axis=0)) @ scoring.centre(b, b.mean(axis=0)).T
    dense = scoring.bitext_scores(a, b, k=k, kind=kind)  # type: ignore[arg-type]
    if lexical_weight:
        dense = scoring.standardise(dense) + lexical_weight * _row_scaled(lexical)
    return dense


def _row_scaled(m: np.ndarray) -> np.ndarray:
    top = m.max(axis=1, keepdims=True)
    return np.where(top > 0, m / np.maximum(top, 1e-9), 0.0)


# -- shared: build (or reuse) an index of evaluation documents ---------------------------
def cached_index(name: str, docs: list[Document], encoder: Encoder, analyzer: Analyzer,
                 chunk_chars: int = 600, overlap: int = 1) -> Index:
    key = hashlib.sha1("\x1e".join(f"{d.id}\x1f{d.content_hash}" for d in docs).encode()).hexdigest()[:10]
    # Chunks are centred when indexed: another reference weight is another index; and analysed:
    # another analyser (its code, the segmenters' versions) is another index too.
    root = CACHE_DIR / (f"index-{name}-w{centring.REFERENCE_WEIGHT:g}-{key}-{chunk_chars}-{overlap}"
                        f"-a{analyser_fingerprint()[:8]}")
    update_index(docs, root, encoder, analyzer, IndexOptions(chunk_chars=chunk_chars, overlap=overlap))
    return Index.load(Path(root))


# -- 2. mixed-language documents ----------------------------------------------------------
def ntrex_corpus(split: str) -> tuple[list[Document], list[tuple[str, str, str]]]:
    """Documents without their headline, and (query, query lang, doc id stem) triples."""
    docs, queries = [], []
    for d in ntrex_documents(split):
        docs.append(Document(id=f"{d.doc_id}#vi", text="\n".join(d.vi[1:]), lang="vi"))
        docs.append(Document(id=f"{d.doc_id}#ko", text="\n".join(d.ko[1:]), lang="ko"))
        queries += [(d.vi[0], "vi", d.doc_id), (d.ko[0], "ko", d.doc_id)]
    return docs, queries


def ndcg_at(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if d in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


def mixed_documents(engine: SearchEngine, queries: list[tuple[str, str, str]], modes: Sequence[str]) -> Scores:
    engine.encoder.encode_queries([q for q, _, _ in queries])  # one batch, then cached
    out: Scores = {}
    for mode in modes:
        hits: dict[str, list[float]] = {"vi": [], "ko": []}
        ndcg: list[float] = []
        for query, qlang, stem in queries:
            ranked, _ = engine.rank(query, qlang, ["vi", "ko", "other"], mode)
            ids = [s.doc_id for s in ranked[:10]]
            relevant = {f"{stem}#vi", f"{stem}#ko"}
            hits[qlang].append(float(set(ids[:2]) == relevant))
            ndcg.append(ndcg_at(ids, relevant))
        out[mode] = {"both@2 vi": float(np.mean(hits["vi"])), "both@2 ko": float(np.mean(hits["ko"])),
                     "nDCG@10": float(np.mean(ndcg))}
    return out


# -- 3. XQuAD-vi question -> paragraph ----------------------------------------------------
def xquad_corpus(split: str) -> tuple[list[Document], list[tuple[str, str]]]:
    paragraphs, questions = xquad_vi(split)
    docs = [Document(id=f"p{i:03d}", text=p, lang="vi") for i, p in enumerate(paragraphs)]
    return docs, [(q.question, f"p{q.paragraph:03d}") for q in questions]


def question_passage(engine: SearchEngine, questions: list[tuple[str, str]], modes: Sequence[str]) -> Scores:
    engine.encoder.encode_queries([q for q, _ in questions])  # one batch, then cached
    out: Scores = {}
    for mode in modes:
        r1, r10, mrr = [], [], []
        for question, gold in questions:
            ranked, _ = engine.rank(question, "vi", ["vi"], mode)
            ids = [s.doc_id for s in ranked[:10]]
            rank = ids.index(gold) + 1 if gold in ids else 0
            r1.append(rank == 1)
            r10.append(rank > 0)
            mrr.append(1 / rank if rank else 0.0)
        out[mode] = {"R@1": float(np.mean(r1)), "R@10": float(np.mean(r10)), "MRR@10": float(np.mean(mrr))}
    return out
