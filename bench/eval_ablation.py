"""What each lever adds, measured on the dev split only (the table under the quality section)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from bench import eval_tasks as ev
from bench.report import table
from viko.search.expansion import NoExpansion
from viko.workbench.pairing import detect_documents
from viko.workbench.sentvec import SentenceEmbedder

if TYPE_CHECKING:
    from bench.eval_context import EvalContext

_VIKO: dict[str, Any] = {"method": "full", "k": 2, "kind": "csls", "lexical_weight": 0.1}
SENTENCE_STEPS: list[tuple[str, dict[str, Any]]] = [
    ("plain dense (cosine)", {"method": "plain"}),
    ("+ per-language centring", {"method": "centred"}),
    ("+ margin, ratio k=4 (as counterparts)", {"method": "full", "k": 4, "kind": "ratio"}),
    ("+ margin, CSLS k=2", {"method": "full", "k": 2, "kind": "csls"}),
    ("+ shared-term BM25 × 0.1 (viko)", _VIKO),
    ("  e5 \"query: \" prefix on both sides instead of \"passage: \"", {**_VIKO, "side": "query"}),
    ("  shared-term BM25 × 0.5 instead", {"method": "full", "k": 2, "kind": "csls", "lexical_weight": 0.5}),
]


class Step(NamedTuple):
    """One row: the engine mode, the ranking parameters changed (a dataclasses.replace() of
    the settings' RankingParams) and whether the glossary expands the query."""
    label: str
    mode: str
    changes: dict[str, Any]
    glossary: bool = True


DOCUMENT_STEPS: list[Step] = [
    Step("BM25 alone", "bm25", {}),
    Step("plain dense", "plain", {}),
    Step("+ per-language centring", "dense", {}),
    Step("+ calibrated BM25 fusion, weight 1.5 (no bridging, no glossary)", "full", {"bridge_weight": 0.0}, False),
    Step("+ counterpart bridging", "full", {}, False),
    Step("+ glossary expansion (viko)", "full", {}),
    Step("  lexical weight 1 instead of 1.5", "full", {"lexical_weight": 1.0}),
    Step("  lexical weight 2 instead of 1.5", "full", {"lexical_weight": 2.0}),
    Step("  bridge weight 0.5 instead of 1", "full", {"bridge_weight": 0.5}),
    Step("  reciprocal-rank fusion instead of z-scores", "full", {"fusion": "rrf"}),
    Step("  document score: best passage blended 50/50 with whole-document vector", "full", {"document_weight": 0.5}),
]
QUESTION_STEPS: list[Step] = [
    Step("BM25 alone", "bm25", {}),
    Step("plain dense", "plain", {}),
    Step("centred dense", "dense", {}),
    Step("z-score fusion, lexical weight 1.5 (viko)", "full", {}),
    Step("  reciprocal-rank fusion instead", "full", {"fusion": "rrf"}),
    Step("  lexical weight 1 instead", "full", {"lexical_weight": 1.0}),
    Step("  lexical weight 2 instead", "full", {"lexical_weight": 2.0}),
    Step("  document score: best passage blended 50/50 with whole-document vector", "full", {"document_weight": 0.5}),
]


def _sentences(ctx: EvalContext) -> str:
    pairs = {ds: ev.sentence_pairs(ds, "dev") for ds in ("ntrex", "sib200")}
    variants = {label: opts for label, opts in SENTENCE_STEPS}
    scores = {ds: ev.parallel_sentences(p, ctx.encoder, ctx.analyzer, variants) for ds, p in pairs.items()}
    rows: list[list[object]] = [[label] + [scores[ds][label][d] for ds in pairs for d in ("vi→ko", "ko→vi")]
                                for label in variants]
    return table(["sentences (dev): lever", "NTREX vi→ko", "NTREX ko→vi", "SIB vi→ko", "SIB ko→vi"], rows)


def _engine_rows(ctx: EvalContext, index: Any, steps: Sequence[Step],
                 evaluate: Any, queries: Any, docs: Any) -> list[tuple[str, dict[str, float]]]:
    out = []
    counterparts = detect_documents(index, docs, embed=SentenceEmbedder(ctx.encoder).embed)  # as align-all stores them
    for step in steps:
        params = dataclasses.replace(ctx.settings.ranking, **step.changes)
        engine = ctx.engine(index, params, counterparts=counterparts,
                            glossary=None if step.glossary else NoExpansion())
        out.append((step.label, evaluate(engine, queries, [step.mode])[step.mode]))
    return out


def _documents(ctx: EvalContext) -> str:
    docs, queries = ev.ntrex_corpus("dev")
    index = ev.cached_index("ntrex", docs, ctx.encoder, ctx.analyzer)
    rows = _engine_rows(ctx, index, DOCUMENT_STEPS, ev.mixed_documents, queries, docs)
    metrics = ["both@2 vi", "both@2 ko", "nDCG@10"]
    return table(["documents (NTREX dev): lever", *metrics], [[label] + [m[k] for k in metrics] for label, m in rows])


def _questions(ctx: EvalContext) -> str:
    docs, qs = ev.xquad_corpus("dev")
    index = ev.cached_index("xquad", docs, ctx.encoder, ctx.analyzer)
    rows = _engine_rows(ctx, index, QUESTION_STEPS, ev.question_passage, qs, docs)
    metrics = ["R@1", "R@10", "MRR@10"]
    return table(["questions (XQuAD-vi dev): lever", *metrics], [[label] + [m[k] for k in metrics] for label, m in rows])


def _demo_glossary(ctx: EvalContext) -> str:
    """The glossary lever where it applies: the project's own cooperation-domain demo corpus
    (NTREX news has almost no glossary terms). Written by the project, so not a tuning set."""
    from bench.demo_data import demo_queries, demo_settings
    from viko.corpus.counterparts import Counterparts
    from viko.indexer.store import Index
    from viko.runtime import open_catalogue

    settings = demo_settings(ctx.settings.encoder)
    index = Index.load(settings.index_root)
    with open_catalogue(settings) as cat:
        counterparts = Counterparts.load(cat)  # what `viko index` detected, as the product uses them
    queries = demo_queries()
    rows: list[list[object]] = []
    share = ctx.settings.ranking.unlinked_share
    steps = [Step("without glossary", "full", {}, False), Step("with glossary (viko)", "full", {}),
             Step(f"  untranslated documents: no share of their own evidence (0 instead of {share:g})", "full",
                  {"unlinked_share": 0.0}),
             Step(f"  untranslated documents: their own evidence twice (1 instead of {share:g})", "full",
                  {"unlinked_share": 1.0})]
    for step in steps:
        params = dataclasses.replace(ctx.settings.ranking, **step.changes)
        engine = ctx.engine(index, params, counterparts=counterparts, glossary=None if step.glossary else NoExpansion())
        ndcg, cross = [], []
        for query, qlang, relevant in queries:
            ids = [s.doc_id for s in engine.rank(query, qlang, ["vi", "ko", "other"])[0][:10]]
            ndcg.append(ev.ndcg_at(ids, relevant))
            other = {d for d in relevant if index.doc_lang.get(d) not in (qlang, None)}
            if other:
                cross.append(len(other & set(ids)) / len(other))
        rows.append([step.label, sum(ndcg) / len(ndcg), sum(cross) / max(len(cross), 1)])
    return table([f"demo corpus ({len(queries)} queries): glossary", "nDCG@10", "other-language recall@10"], rows)


def ablation_markdown(ctx: EvalContext, tasks: Sequence[str]) -> str:
    parts = ["### What each lever adds (dev split)"]
    builders = {"sentences": _sentences, "documents": _documents, "questions": _questions}
    for task in tasks:
        ctx.log(f"  ablation: {task}")
        parts.append(builders[task](ctx))
        ctx.encoder.save()
    if "documents" in tasks:
        parts.append(_demo_glossary(ctx))
    return "\n\n".join(parts)

