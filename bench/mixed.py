"""Section "mixed": a department's own archive beside the news, and what the floor lets through.

A department runs viko over its internal documents beside public ones. Here: the 60-document
first-day collection of NTREX dev (section "firstday"; each document in one language only)
plus the first N of the HWP tax rulings in `../shared` (Korean, National Tax Service), as
`viko add` stores them. Measured with the default parameters, for N = 0, 50, 200 and 600:

* the first-day queries (the other language's headline): recall@3 of the wanted article, and
  how many rulings each query is answered with (none of them is about the news);
* nonsense and out-of-domain queries (section "firstday"): the share answered with nothing;
* Vietnamese queries about a kind of tax, judged by each ruling's own category (its `세목`
  field, or the prefix of its document number): rulings of the asked-for category returned,
  rulings of another judged category returned, and right-category rulings in the first 10.
  Only value-added tax (부가), capital gains (양도) and inheritance and gift tax (상증) are
  judged; a ruling of another or no category counts for neither.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bench import eval_tasks as ev
from bench import firstday as fd
from bench.datasets import shared_dir
from bench.eval_cache import CachedEncoder
from bench.report import table, write_section
from viko.corpus.document import Document
from viko.corpus.formats import ExtractionError
from viko.corpus.formats.hwp import extract_hwp
from viko.indexer.analyze import Analyzer, default_analyzer
from viko.indexer.encoders import load_encoder
from viko.search.engine import SearchEngine
from viko.search.expansion import file_glossary
from viko.settings import Settings

RULINGS = (0, 50, 200, 600)
JUDGED = ("부가", "양도", "상증")
# (Vietnamese query, the ruling category it asks for): written for this section.
TAX_QUERIES = (
    ("thuế giá trị gia tăng", "부가"), ("thuế suất 0% thuế giá trị gia tăng hàng xuất khẩu", "부가"),
    ("khấu trừ thuế GTGT đầu vào", "부가"), ("thuế chuyển nhượng bất động sản", "양도"),
    ("thuế thu nhập từ chuyển nhượng nhà ở", "양도"), ("thuế thừa kế", "상증"), ("thuế tặng cho tài sản", "상증"),
)


def rulings(limit: int) -> tuple[list[Document], dict[str, str]]:
    """The first `limit` rulings that extract, and each one's category ('' unknown)."""
    root = shared_dir()
    assert root is not None
    docs: list[Document] = []
    kinds: dict[str, str] = {}
    for path in sorted((root / "hwp" / "nts-rulings").glob("*.hwp")):
        if len(docs) >= limit:
            break
        try:
            text = extract_hwp(path.read_bytes()).text
        except ExtractionError:
            continue
        doc = Document(id=f"ruling-{path.stem}", text=text, lang="ko")
        docs.append(doc)
        kinds[doc.id] = category(text)
    return docs, kinds


def category(text: str) -> str:
    """A ruling's tax: its `[ 세목 ]` field, else the Hangul prefix of its document number."""
    for field in (r"\[\s*세\s*목\s*\]\s*([가-힣]+)", r"\[\s*문서번호\s*\]\s*([가-힣]+)"):
        found = re.search(field, text)
        if found:
            return found.group(1)
    return ""


def first_day(engine: SearchEngine, pool: fd.Pool, ids: Sequence[str], analyzer: Analyzer) -> list[float]:
    """recall@3, rulings per query (those stated as matches, those said to be possible),
    nonsense empty, out-of-domain empty."""
    found, asked, ruled, possible = 0, 0, 0, 0
    for doc_id, query in fd.unshared_queries(pool, ids, analyzer):  # as in section firstday
        hits = engine.search(query, limit=1000).hits
        found += any(h.id == doc_id for h in hits[:3])
        ruled += sum(h.id.startswith("ruling-") and not h.possible for h in hits)
        possible += sum(h.id.startswith("ruling-") and h.possible for h in hits)
        asked += 1
    nonsense = sum(engine.search(q, limit=3).total == 0 for q in fd.NONSENSE) / len(fd.NONSENSE)
    ood = sum(engine.search(q, limit=3).total == 0 for q in fd.OUT_OF_DOMAIN) / len(fd.OUT_OF_DOMAIN)
    return [found / max(asked, 1), ruled / max(asked, 1), possible / max(asked, 1), nonsense, ood]


def tax_queries(engine: SearchEngine, kinds: dict[str, str]) -> list[object]:
    """Right-category rulings returned (of which said to be possible), other judged categories
    returned (likewise), right ones in the top 10."""
    right, right_possible, other, other_possible, top = 0, 0, 0, 0, 0
    for query, wanted in TAX_QUERIES:
        hits = engine.search(query, limit=1000).hits
        for h in hits:
            kind = kinds.get(h.id, "")
            right, right_possible = right + (kind == wanted), right_possible + (kind == wanted and h.possible)
            wrong = kind in JUDGED and kind != wanted
            other, other_possible = other + wrong, other_possible + (wrong and h.possible)
        top += sum(kinds.get(h.id) == wanted for h in hits[:10])
    return [f"{right} ({right_possible})", f"{other} ({other_possible})", top]


def evaluate(settings: Settings | None = None, split: str = "dev", counts: Sequence[int] = RULINGS) -> str:
    settings = settings or Settings.from_env()
    encoder = CachedEncoder(load_encoder(settings.encoder))
    analyzer = default_analyzer()
    glossary = file_glossary(settings.glossary)[0]
    pool = fd.ntrex_pool(split)
    ids = fd.collection(pool, 60, 0)
    by_id = {d.id: d for d in pool.docs}
    extra, kinds = rulings(max(counts))
    rows: list[list[object]] = []
    for count in counts:
        docs = [by_id[i] for i in ids] + extra[:count]
        index = ev.cached_index(f"mixed{count}" if split == "dev" else f"mixed-{split}{count}", docs, encoder, analyzer)
        encoder.save()
        engine = SearchEngine(index, encoder, analyzer, params=settings.ranking, glossary=glossary)
        tax = tax_queries(engine, kinds) if count else ["–"] * 3
        rows.append([count, len(docs), *first_day(engine, pool, ids, analyzer), *tax])
        print(f"mixed {split} {count}: {rows[-1]}", flush=True)
    judged = {k: sum(v == k for v in kinds.values()) for k in JUDGED}
    return (f"Rulings by judged category among the {len(extra)}: "
            + ", ".join(f"{k} {n}" for k, n in judged.items()) + f"; {len(TAX_QUERIES)} tax queries.\n\n"
            + table(["rulings", "documents", "first-day recall@3", "rulings stated per first-day query",
                     "rulings said possible per query", "nonsense empty", "out-of-domain empty", "tax: right category (possible)", "tax: other category (possible)",
                     "tax: right in top 10"], rows))


def run() -> None:
    if shared_dir() is None:
        print("../shared/data is not available: section mixed skipped")
        return
    intro = __doc__.split("\n\n", 1)[1].strip() if __doc__ else ""
    dev = evaluate()
    test = evaluate(split="test", counts=(0, 600))
    write_section("mixed", f"## A department's archive beside the news\n\n{intro}\n\n### dev (parameters chosen here)\n\n"
                           f"{dev}\n\n### test (reported, never tuned on; the same rulings and tax queries)\n\n{test}")
