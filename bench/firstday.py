"""Section "firstday": queries as people really type them, on collections as they really start.

A new installation holds a handful of documents, and its users type Korean for Vietnamese
documents, Vietnamese without diacritics, or English. Measured here (parameters chosen on
dev; the test split reported, never tuned on; the demo corpus has no split and is dev only):

* small collections of 6, 20 and 60 documents drawn from the demo corpus and from NTREX
  (dev), each document present in one language only (DRAWS collections of each size, so
  that a figure is not one collection's 37 queries); the query is its title / headline in
  the other language, kept only when it shares no analysed term with the document.
  recall@3 of the right document through `SearchEngine.search` (relevance floor on), and
  the share of nonsense queries answered with nothing;
* the NTREX headline and XQuAD question tasks with every Vietnamese query stripped of its
  diacritics, beside the accented figures;
* the English NTREX headlines as queries: both language versions in the top 2.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import random
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bench import eval_tasks as ev
from bench.datasets import ntrex_documents, shared_dir
from bench.eval_cache import CachedEncoder
from bench.report import table, write_section
from viko.corpus.counterparts import Counterparts
from viko.corpus.demo import __file__ as demo_init
from viko.corpus.document import Document
from viko.corpus.textnorm import query_language
from viko.indexer import centring
from viko.indexer.analyze import Analyzer, default_analyzer
from viko.indexer.encoders import load_encoder
from viko.indexer.store import Index
from viko.search.engine import SearchEngine
from viko.search.expansion import file_glossary
from viko.search.params import RankingParams
from viko.settings import Settings
from viko.workbench.pairing import detect_documents
from viko.workbench.sentvec import SentenceEmbedder

SIZES = (6, 20, 60)
DRAWS = {6: 8, 20: 3, 60: 6}
NONSENSE = ("xyzzy quux", "asdf qwer zxcv", "ㅋㅋㅋ ㅎㅎㅎ 헐", "lorem ipsum dolor sit amet", "blah blah test 123",
            "aaaa bbbb cccc", "qwpeoir zmxncb")
# Real topics absent from the cooperation documents of the demo corpus (NTREX news may cover them).
OUT_OF_DOMAIN = ("고양이 사진 보기", "mua vé máy bay giá rẻ", "recipe for chocolate cake", "오늘 날씨 어때",
                 "아이돌 콘서트 티켓 예매", "cách nấu phở bò ngon", "강아지 훈련 방법", "lyrics of a love song")
Log = Callable[[str], None]


@dataclass(frozen=True)
class Pool:
    """Documents with their counterpart's title in the other language (the query)."""
    name: str
    docs: list[Document]
    queries: dict[str, str]  # doc id -> other-language title
    stems: dict[str, str]  # doc id -> pair id (a collection holds one side of a pair)


def strip_diacritics(text: str) -> str:
    """What a phone keyboard without Vietnamese input gives: no tone or shape marks."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFC", "".join(c for c in unicodedata.normalize("NFD", text)
                                                if unicodedata.category(c) != "Mn"))


def demo_pool() -> Pool:
    from pathlib import Path

    folder = Path(demo_init).parent
    rows = [json.loads(line) for line in (folder / "demo.jsonl").read_text(encoding="utf-8").splitlines() if line]
    titles = {r["id"]: r["title"] for r in rows}
    docs = [Document(id=r["id"], text=r["text"], title=r["title"], lang=r["lang"]) for r in rows]
    queries, stems = {}, {r["id"]: r["id"] for r in rows}
    for line in (folder / "pairs.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        vi, ko = line.split("\t")[:2]
        queries[vi], queries[ko] = titles[ko], titles[vi]
        stems[vi] = stems[ko] = vi
    return Pool("demo", docs, queries, stems)


def ntrex_pool(split: str) -> Pool:
    docs, queries, stems = [], {}, {}
    for d in ntrex_documents(split):
        for lang, own, other in (("vi", d.vi, d.ko), ("ko", d.ko, d.vi)):
            doc_id = f"{d.doc_id}#{lang}"
            docs.append(Document(id=doc_id, text="\n".join(own[1:]), lang=lang))
            queries[doc_id], stems[doc_id] = other[0], d.doc_id
    return Pool("ntrex", docs, queries, stems)


def sub_index(pool: Pool, doc_ids: Sequence[str], encoder: CachedEncoder, analyzer: Analyzer) -> Index:
    """An index of some of the pool's documents (their passages' vectors come from the cache)."""
    by_id = {d.id: d for d in pool.docs}
    return ev.cached_index(f"{pool.name}-firstday", [by_id[d] for d in doc_ids], encoder, analyzer)


def collection(pool: Pool, size: int, seed: int) -> list[str]:
    """`size` documents, half of each language, no two sides of one pair."""
    rng = random.Random(seed)
    with_query = [d.id for d in pool.docs if d.id in pool.queries]
    rng.shuffle(with_query)
    picked: list[str] = []
    stems: set[str] = set()
    langs = {d.id: d.lang for d in pool.docs}
    for lang in ("vi", "ko"):
        for doc in with_query:
            if len([p for p in picked if langs[p] == lang]) >= size // 2:
                break
            if langs[doc] == lang and pool.stems[doc] not in stems:
                picked.append(doc)
                stems.add(pool.stems[doc])
    others = [d.id for d in pool.docs if pool.stems[d.id] not in stems]
    rng.shuffle(others)
    return picked + others[: max(size - len(picked), 0)]


def unshared_queries(pool: Pool, ids: Sequence[str], analyzer: Analyzer) -> list[tuple[str, str]]:
    """(document, its query) for the documents whose query shares no term with them (a shared
    name or number is not the case the first-day figures measure)."""
    docs = {d.id: d for d in pool.docs}
    out = []
    for doc_id in ids:
        query = pool.queries.get(doc_id)
        if query is None:
            continue
        qlang = query_language(query)
        own = set(analyzer.query_tokens(query, qlang if qlang in ("vi", "ko") else "other"))
        if not own & set(analyzer.tokens(docs[doc_id].text, docs[doc_id].lang)):
            out.append((doc_id, query))
    return out


def first_day(engine_for: Callable[[Index], SearchEngine], analyzer: Analyzer, encoder: CachedEncoder,
              pool: Pool, size: int) -> dict[str, float]:
    found, total, empty, asked, count, ood_empty = 0, 0, 0, 0, 0, 0
    found_possible, others_stated, others_possible = 0, 0, 0
    for seed in range(DRAWS[size]):
        ids = collection(pool, size, seed)
        count = len(ids)
        engine = engine_for(sub_index(pool, ids, encoder, analyzer))
        for doc_id, query in unshared_queries(pool, ids, analyzer):
            hits = engine.search(query, limit=3).hits
            found += any(h.id == doc_id for h in hits)
            found_possible += any(h.id == doc_id and h.possible for h in hits)
            others_stated += sum(h.id != doc_id and not h.possible for h in hits)
            others_possible += sum(h.id != doc_id and h.possible for h in hits)
            total += 1
        for query in NONSENSE:
            empty += engine.search(query, limit=3).total == 0
            asked += 1
        for query in OUT_OF_DOMAIN:
            ood_empty += engine.search(query, limit=3).total == 0
    return {"recall@3": found / max(total, 1), "queries": float(total), "nonsense empty": empty / max(asked, 1),
            "out-of-domain empty": ood_empty / max(DRAWS[size] * len(OUT_OF_DOMAIN), 1), "documents": float(count),
            "found as possible": found_possible / max(found, 1),
            "others stated": others_stated / max(total, 1), "others possible": others_possible / max(total, 1)}


def stripped_tasks(ctx_engine: Callable[..., SearchEngine], encoder: CachedEncoder, analyzer: Analyzer,
                   split: str) -> list[list[object]]:
    rows: list[list[object]] = []
    docs, queries = ev.ntrex_corpus(split)
    index = ev.cached_index("ntrex", docs, encoder, analyzer)
    engine = ctx_engine(index, counterparts=detect_documents(index, docs, embed=SentenceEmbedder(encoder).embed))  # as align-all stores them
    plain = ev.mixed_documents(engine, queries, ["full"])["full"]
    stripped_q = [(strip_diacritics(q) if lang == "vi" else q, lang, stem) for q, lang, stem in queries]
    stripped = ev.mixed_documents(engine, stripped_q, ["full"])["full"]
    for metric in ("both@2 vi", "nDCG@10"):
        rows.append([f"ntrex ({split})", metric, plain[metric], stripped[metric], stripped[metric] - plain[metric]])
    pdocs, questions = ev.xquad_corpus(split)
    engine = ctx_engine(ev.cached_index("xquad", pdocs, encoder, analyzer))
    plain = ev.question_passage(engine, questions, ["full"])["full"]
    stripped = ev.question_passage(engine, [(strip_diacritics(q), g) for q, g in questions], ["full"])["full"]
    for metric in ("R@1", "MRR@10"):
        rows.append([f"xquad-vi ({split})", metric, plain[metric], stripped[metric], stripped[metric] - plain[metric]])
    return rows


# The small-collection cases of the search-box issue, on the six documents of
# tests/fixtures/firstday.jsonl: (query, the document that should come first).
FIXTURE_CASES = (
    ("nha kinh thong minh", "farm-ko"), ("dao tao nhan luc ban dan", "chip-ko"),
    ("đào tạo nhân lực bán dẫn", "chip-ko"), ("salt-tolerant rice variety trial", "rice-vi"),
    ("염분에 강한 벼 품종", "rice-vi"), ("태양광 패널 지붕 설치 사업", "solar-vi"),
    ("dien mat troi ap mai", "solar-vi"), ("rooftop solar", "solar-vi"),
)


def fixture_cases(engine_for: Callable[[Index], SearchEngine], encoder: CachedEncoder,
                  analyzer: Analyzer) -> list[list[object]]:
    from pathlib import Path

    from viko.corpus.document import make_document

    path = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "firstday.jsonl"
    docs = [make_document(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line]
    engine = engine_for(ev.cached_index("firstday-fixture", docs, encoder, analyzer))
    rows: list[list[object]] = []
    for query, wanted in (*FIXTURE_CASES, *((q, "") for q in NONSENSE[:3])):
        results = engine.search(query, limit=10)
        ids = [h.id for h in results.hits]
        rank = ids.index(wanted) + 1 if wanted in ids else "–"
        rows.append([f"`{query}`", wanted or "(nothing)", rank, results.total, results.searched_as or ""])
    return rows


def english_headlines(ctx_engine: Callable[..., SearchEngine], encoder: CachedEncoder, analyzer: Analyzer,
                      split: str) -> dict[str, float]:
    root = shared_dir()
    assert root is not None
    ids = (root / "ntrex" / "docids.tsv").read_text(encoding="utf-8").splitlines()
    eng = (root / "ntrex" / "eng.txt").read_text(encoding="utf-8").splitlines()
    first: dict[str, str] = {}
    for doc_id, line in zip(ids, eng, strict=True):
        first.setdefault(doc_id, line.strip())
    docs, queries = ev.ntrex_corpus(split)
    index = ev.cached_index("ntrex", docs, encoder, analyzer)
    engine = ctx_engine(index, counterparts=detect_documents(index, docs, embed=SentenceEmbedder(encoder).embed))
    stems = list(dict.fromkeys(stem for _, _, stem in queries))
    encoder.encode_queries([first[s] for s in stems])
    hits, ndcg = [], []
    for stem in stems:
        query = first[stem]
        ranked, _ = engine.rank(query, query_language(query), ["vi", "ko", "other"])
        top = [s.doc_id for s in ranked[:10]]
        relevant = {f"{stem}#vi", f"{stem}#ko"}
        hits.append(float(set(top[:2]) == relevant))
        ndcg.append(ev.ndcg_at(top, relevant))
    return {"both@2": float(np.mean(hits)), "nDCG@10": float(np.mean(ndcg)), "queries": float(len(stems))}


def evaluate(settings: Settings | None = None, log: Log = print, *, variants: Sequence[str] = ("before", "viko"),
             split: str = "dev") -> str:
    settings = settings or Settings.from_env()
    encoder = CachedEncoder(load_encoder(settings.encoder))
    analyzer = default_analyzer()
    glossary = file_glossary(settings.glossary)[0]

    def engine_for(index: Index, *, params: RankingParams = settings.ranking,
                   counterparts: Counterparts | None = None) -> SearchEngine:
        return SearchEngine(index, encoder, analyzer, params=params, glossary=glossary, counterparts=counterparts)

    parts = []
    body: list[list[object]] = []
    pools = [demo_pool(), ntrex_pool(split)] if split == "dev" else [ntrex_pool(split)]
    for pool in pools:
        ev.cached_index(pool.name, pool.docs, encoder, analyzer)  # embeds the pool once, into the cache
        encoder.save()
        for variant in variants:
            params = variant_params(variant, settings.ranking)
            with _reference_weight(variant):
                for size in SIZES:
                    r = first_day(functools.partial(engine_for, params=params), analyzer, encoder, pool, size)
                    log(f"firstday {pool.name} {size} {variant}: {r}")
                    body.append([f"{pool.name} ({split})", int(r["documents"]), variant, int(r["queries"]),
                                 r["recall@3"], r["nonsense empty"], r["out-of-domain empty"],
                                 r["found as possible"], r["others stated"], r["others possible"]])
        encoder.save()
    parts.append("Small collections, query in the other language sharing no term with the document "
                 "(target: recall@3 ≥ 0.9, nonsense empty = 1.0). In the first three results: the share of the "
                 "found documents said to be possible matches, and per query the other documents stated as "
                 "matches and those said to be possible (search.relevance):\n\n"
                 + table(["pool", "documents", "variant", "queries", "recall@3", "nonsense empty",
                          "out-of-domain empty", "found as possible", "others stated", "others possible"], body))
    if split == "dev":
        parts.append("The six-document collection of tests/fixtures/firstday.jsonl, the cases of the search-box "
                     "issue (rank of the document that should come first; searched as: the words searched when "
                     "they are not the words typed):\n\n"
                     + table(["query", "wanted", "rank", "results", "searched as"],
                             fixture_cases(engine_for, encoder, analyzer)))
    stripped = stripped_tasks(engine_for, encoder, analyzer, split)
    parts.append("Vietnamese queries without diacritics (target: within 0.03 of accented):\n\n"
                 + table(["task", "metric", "accented", "unaccented", "difference"], stripped))
    english = english_headlines(engine_for, encoder, analyzer, split)
    parts.append(f"English NTREX headlines as queries ({int(english['queries'])} documents, {split}; target both@2 ≥ 0.7):"
                 f" both@2 **{english['both@2']:.3f}**, nDCG@10 {english['nDCG@10']:.3f}.")
    encoder.save()
    return "\n\n".join(parts)


def variant_params(name: str, params: RankingParams) -> RankingParams:
    """'before': candidate-only calibration, per-language fused scores left as they are, the
    cosine floor alone and no names across scripts (the previous rules; the new query-language
    handling is on in both)."""
    if name != "before":
        return params
    return dataclasses.replace(params, calibration_weight=0.0, fused_calibration=False,
                               min_background_z=float("inf"), min_support_z=float("inf"), min_term_coverage=0.0,
                               min_dense_z=float("-inf"), name_spellings=False)


class _reference_weight:
    """'before' also centres on the corpus alone: the indexer's reference weight is an index-time
    setting (another cached index), not a ranking parameter."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.saved = centring.REFERENCE_WEIGHT

    def __enter__(self) -> None:
        if self.name == "before":
            centring.REFERENCE_WEIGHT = 0.0

    def __exit__(self, *exc: object) -> None:
        centring.REFERENCE_WEIGHT = self.saved


def run() -> None:
    if shared_dir() is None:
        print("../shared/data is not available: section firstday skipped")
        return
    intro = __doc__.split("\n\n", 1)[1].strip() if __doc__ else ""
    dev = evaluate()
    test = evaluate(variants=("viko",), split="test")
    write_section("firstday", f"{intro}\n\n### dev (parameters chosen here)\n\n{dev}\n\n"
                              f"### test (reported, never tuned on)\n\n{test}")
