"""The concordance's word-alignment marks: how often a mark is right, and how many rows get one.

A memory of translations (NTREX document sentence pairs and SIB-200 sentence pairs of one
split); the queries are the bundled glossary's terms found in it, both languages. The
concordance runs without the glossary, so every mark on the other side comes from the word
alignment (or a Latin-script term kept as it is, not counted); the glossary's equivalents of
the query give the truth. A row whose other side holds an equivalent is *checkable*: its mark
is right when at least half of it lies inside an equivalent. Rows without an equivalent (the
translator chose another word) are counted apart: a mark there may be right or wrong.
Parameters are chosen on dev (`python -m bench.translate_marks dev`), reported on test too.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench.datasets import ntrex_documents, sib200_pairs
from bench.report import table

if TYPE_CHECKING:
    from viko.corpus.tm import Unit
    from viko.workbench.concordance import ConcordanceResults
    from viko.workbench.wordalign import LinkParams


@dataclass
class MarkCounts:
    queries: int = 0
    queries_linked: int = 0
    rows: int = 0
    rows_marked: int = 0
    checkable: int = 0          # rows whose other side holds a glossary equivalent
    checkable_marked: int = 0
    right: int = 0              # marks mostly inside an equivalent (checkable rows)
    wrong: int = 0
    unknown_marked: int = 0     # marked rows without an equivalent
    wrong_links: dict[str, int] = field(default_factory=dict)    # "query → mark": marks
    unknown_links: dict[str, int] = field(default_factory=dict)  # the same, in rows without an equivalent
    ms: list[float] = field(default_factory=list)       # concordance time per query, marks on
    ms_off: list[float] = field(default_factory=list)   # ... and with the word alignment off

    @property
    def precision(self) -> float:
        return self.right / max(self.right + self.wrong, 1)


def memory_units(split: str) -> list[Unit]:
    """NTREX sentence pairs as aligned units of their document pair, SIB-200 ones as imported."""
    from viko.corpus.tm import Unit

    return [Unit(v, k, "aligned", 1.0, f"{d.doc_id}#vi", f"{d.doc_id}#ko")
            for d in ntrex_documents(split) for v, k in zip(d.vi, d.ko, strict=True)] + [
            Unit(v, k, "tmx", 1.0, source="sib200") for v, k in sib200_pairs(split)]


def _truth_spans(text: str, forms: list[str], lang: str) -> list[tuple[int, int]]:
    from viko.corpus.tm import search_key

    key = search_key(text)
    out = []
    for form in forms:
        body = re.escape(search_key(form))
        pattern = re.compile(body if lang == "ko" else rf"(?<!\w){body}(?!\w)")
        out += [m.span() for m in pattern.finditer(key)]
    return out


def _inside(span: tuple[int, int], truth: list[tuple[int, int]]) -> bool:
    a, b = span
    covered = sum(max(0, min(b, e) - max(a, s)) for s, e in truth)
    return covered * 2 >= b - a


def measure(split: str, params: LinkParams | None = None, limit: int = 50) -> MarkCounts:
    """Marks on the first `limit` rows of each glossary query over the split's memory."""
    from viko.corpus.catalogue import Catalogue
    from viko.corpus.glossary import Glossary, GlossaryStore, bundled_path
    from viko.corpus.tm import TranslationMemory
    from viko.indexer.analyze import default_analyzer
    from viko.workbench.concordance import concordance
    from viko.workbench.wordalign import LinkParams

    off = LinkParams(min_together=10**9)  # no query has that many units: nothing is linked
    default_analyzer().warm_up()  # loaded once per process, as `viko serve` does at start
    counts = MarkCounts()
    with tempfile.TemporaryDirectory() as folder:
        cat = Catalogue.open(Path(folder) / "catalogue.sqlite")
        with cat.conn:
            TranslationMemory(cat).add_many(memory_units(split))
        store = GlossaryStore(cat)
        store.seed(bundled_path())
        glossary = Glossary(store.entries())
        for lang in ("vi", "ko"):
            other = "ko" if lang == "vi" else "vi"
            terms = sorted({search_key_of(e.side(lang)) for e in glossary.entries if e.side(lang).strip()})
            for term in terms:
                equivalents = [e.side(other) for e in glossary.entries if search_key_of(e.side(lang)) == term]
                started = time.perf_counter()
                res = concordance(cat, term, lang=lang, limit=limit, links=params)
                counts.ms.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                concordance(cat, term, lang=lang, limit=limit, links=off)
                counts.ms_off.append((time.perf_counter() - started) * 1000)
                if res.total:
                    _count(counts, res, equivalents, other)
        cat.close()
    return counts


def search_key_of(text: str) -> str:
    from viko.corpus.tm import search_key

    return search_key(text)


def _count(counts: MarkCounts, res: ConcordanceResults, equivalents: list[str], other: str) -> None:
    counts.queries += 1
    counts.queries_linked += bool(res.linked)
    for hit in res.hits:
        text = getattr(hit.unit, other)
        spans = hit.vi_spans if other == "vi" else hit.ko_spans
        marks = [s for s, o in zip(spans, hit.origins(other), strict=True) if o == "alignment"]
        truth = _truth_spans(text, equivalents, other)
        counts.rows += 1
        counts.rows_marked += bool(marks)
        counts.checkable += bool(truth)
        if not truth:
            counts.unknown_marked += bool(marks)
            for a, b in marks:
                _add(counts.unknown_links, f"{res.query} → {text[a:b]}".lower())
            continue
        counts.checkable_marked += bool(marks)
        for span in marks:
            if _inside(span, truth):
                counts.right += 1
            else:
                counts.wrong += 1
                _add(counts.wrong_links, f"{res.query} → {text[span[0]:span[1]]}".lower())


def _add(counter: dict[str, int], key: str, n: int = 1) -> None:
    counter[key] = counter.get(key, 0) + n


def _merged(c: MarkCounts) -> dict[str, int]:
    """The marks the glossary cannot judge: counted wrong, or in rows without an equivalent."""
    out = dict(c.wrong_links)
    for key, n in c.unknown_links.items():
        _add(out, key, n)
    return out


# Marks the glossary cannot judge (no equivalent in the row, or another word than the
# glossary's), read by a person (2026-12, issue 20). A link not listed here is reported as
# not checked.
HAND_CHECKED = {
    "도시 → thành phố": "right: city (the glossary gives đô thị)",
    "현대 → hiện đại": "right: modern (the glossary's 현대 is Hyundai)",
    "대전 → thế chiến": "right: 대전 in 세계 대전, world war (the glossary's is the city Daejeon)",
    "nha trang → 백악관": "right for the words matched: the unaccented query also finds Nhà Trắng, the White House",
}


def demo_rows(catalogue: Path, queries: list[str]) -> tuple[int, int, list[str]]:
    """The demo memory as users see it (bundled glossary on): first-page rows, rows with an
    alignment mark, and each query's linked forms."""
    from viko.corpus.catalogue import Catalogue
    from viko.corpus.glossary import load_glossary
    from viko.workbench.concordance import concordance

    rows = marked = 0
    links = []
    with Catalogue.open(catalogue) as cat:
        glossary = load_glossary(cat)
        for q in queries:
            res = concordance(cat, q, glossary=glossary)
            rows += len(res.hits)
            marked += sum(1 for h in res.hits if "alignment" in h.origins("ko" if h.side == "vi" else "vi"))
            links += [f"{q} → {t.form} ({t.together}/{t.units}, {t.dice:.2f})" for t in res.linked]
    return rows, marked, links


def section(demo_catalogue: Path | None, queries: list[str]) -> str:
    """Markdown for the "translate" section: precision of the marks on dev and test, the rows
    marked, the cost, and the demo corpus's links."""
    rows: list[list[object]] = []
    unknown: dict[str, int] = {}
    hand_right = hand_all = 0
    for split in ("dev", "test"):
        c = measure(split)
        for key, n in _merged(c).items():
            unknown[key] = unknown.get(key, 0) + n
        rows.append([f"NTREX {split} + SIB-200 {split}", c.queries, c.queries_linked, c.rows, c.rows_marked,
                     c.checkable, c.checkable_marked, c.right, c.wrong, c.precision,
                     statistics.median(c.ms), max(c.ms), statistics.median(c.ms_off), max(c.ms_off)])
        judged = [(n, HAND_CHECKED[k].startswith("right")) for k, n in _merged(c).items()
                  if k in HAND_CHECKED]
        hand_all += c.right + c.wrong + sum(n for k, n in c.unknown_links.items())
        hand_right += c.right + sum(n for n, ok in judged if ok)
    md = ["Concordance marks from the memory's word alignment (workbench.wordalign; Dice over the memory's "
          "translations, parameters chosen on dev): the bundled glossary's terms as queries (first 50 rows each, "
          "concordance run without the glossary), a mark right when at least half of it lies inside the "
          "glossary's equivalent in a row that holds one (checkable rows):", "",
          table(["memory", "queries", "queries linked", "rows", "rows marked", "checkable rows", "checkable marked",
                 "marks right", "marks wrong", "precision", "median ms", "max ms", "median ms, alignment off",
                 "max ms, off"], rows), "",
          "Marks the glossary cannot judge (another word than its equivalent, or counted wrong above), with a "
          "person's reading: " + ("; ".join(f"{k} ({n} marks): {HAND_CHECKED.get(k, 'not checked')}"
                                            for k, n in sorted(unknown.items())) or "none") + ". "
          f"All marks of both memories, judged by the glossary or by hand: {hand_right} of {hand_all} right "
          f"({hand_right / max(hand_all, 1):.3f})."]
    if demo_catalogue is not None and demo_catalogue.exists():
        total, marked, links = demo_rows(demo_catalogue, queries)
        md += ["", f"Demo memory, glossary on, {len(queries)} concordance queries: {marked} of {total} first-page rows "
               f"carry an alignment mark (the others: the glossary's equivalent, or nothing); linked forms "
               f"(units with both / with the query, Dice): {'; '.join(links) or 'none'}."]
    return "\n".join(md)


def main(split: str = "dev") -> None:
    c = measure(split)
    print(f"{split}: queries {c.queries} linked {c.queries_linked}; rows {c.rows} marked {c.rows_marked}; "
          f"checkable {c.checkable} marked {c.checkable_marked}; right {c.right} wrong {c.wrong} "
          f"precision {c.precision:.3f}; unknown rows marked {c.unknown_marked}")
    for key, n in sorted(_merged(c).items()):
        print(f"  {key} ({n}): {HAND_CHECKED.get(key, 'not checked')}")


if __name__ == "__main__":
    main(*sys.argv[1:])
