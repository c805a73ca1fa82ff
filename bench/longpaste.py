"""Section "longpaste": a pasted paragraph finds its other-language version.

Corpus: the NTREX documents of a split in both languages (headline kept: a paste is the text
as published) with the XQuAD-vi paragraphs of the same split beside them, long Vietnamese
Wikipedia paragraphs that a Vietnamese paste's many words match lexically. Queries:

* NTREX paragraph: a document's first sentences, up to PARAGRAPH_CHARS characters, pasted
  whole; a hit when its other-language version is in the top 2 (the pasted document itself is
  normally first); both directions.
* NTREX whole document: all of it (at most the box's 5,000 characters); same measure.
* XQuAD-vi paragraph pasted whole: it has no Korean version, so the check is that the paragraph
  itself is first (a long query must not drift to another paragraph).

    python -m bench.longpaste [--split dev|test]      (prints one split)
    python -m bench.run longpaste                      (writes the section: dev, then test)
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import numpy as np

from bench import eval_tasks as ev
from bench.datasets import ntrex_documents, shared_dir, xquad_vi
from bench.eval_cache import CachedEncoder
from bench.eval_context import EvalContext
from bench.report import table, write_section
from viko.corpus.document import Document
from viko.indexer.analyze import default_analyzer
from viko.indexer.encoders import load_encoder
from viko.search.engine import SearchEngine
from viko.settings import Settings
from viko.workbench.pairing import detect_documents
from viko.workbench.sentvec import SentenceEmbedder

PARAGRAPH_CHARS = 500
MAX_CHARS = 5000


def paragraph(sentences: Sequence[str], chars: int) -> str:
    out: list[str] = []
    for s in sentences:
        if out and len(" ".join([*out, s])) > chars:
            break
        out.append(s)
    return " ".join(out)[:MAX_CHARS]


def corpus(split: str) -> tuple[list[Document], list[tuple[str, str, str, str]]]:
    """Documents, and (kind, query, query lang, wanted id) cases."""
    docs: list[Document] = []
    cases: list[tuple[str, str, str, str]] = []
    for d in ntrex_documents(split):
        for lang, other, text in (("vi", "ko", d.vi), ("ko", "vi", d.ko)):
            docs.append(Document(id=f"{d.doc_id}#{lang}", text="\n".join(text), lang=lang))
            cases.append(("ntrex paragraph", paragraph(text, PARAGRAPH_CHARS), lang, f"{d.doc_id}#{other}"))
            cases.append(("ntrex document", paragraph(text, MAX_CHARS), lang, f"{d.doc_id}#{other}"))
    paragraphs, _ = xquad_vi(split)
    for i, p in enumerate(paragraphs):
        docs.append(Document(id=f"xquad-{i:03d}", text=p, lang="vi"))
        cases.append(("xquad-vi paragraph", p[:MAX_CHARS], "vi", f"xquad-{i:03d}"))
    return docs, cases


def measure(engine: SearchEngine, cases: list[tuple[str, str, str, str]]) -> dict[tuple[str, str], list[float]]:
    engine.encoder.encode_queries([q for _, q, _, _ in cases])  # one batch, then cached
    out: dict[tuple[str, str], list[float]] = {}
    for kind, query, lang, wanted in cases:
        started = time.perf_counter()
        ids = [h.id for h in engine.search(query, limit=2).hits]
        took = (time.perf_counter() - started) * 1000
        top = 1 if kind.startswith("xquad") else 2
        out.setdefault((kind, lang), []).append(float(wanted in ids[:top]))
        out.setdefault((kind, "ms"), []).append(took)
    return out


def evaluate(split: str = "dev") -> str:
    settings = Settings.from_env()
    ctx = EvalContext(CachedEncoder(load_encoder(settings.encoder)), default_analyzer(), settings, print)
    docs, cases = corpus(split)
    index = ev.cached_index("longpaste", docs, ctx.encoder, ctx.analyzer)
    engine = ctx.engine(index, counterparts=detect_documents(index, docs, embed=SentenceEmbedder(ctx.encoder).embed))
    try:
        scores = measure(engine, cases)
    finally:
        ctx.encoder.save()
    rows: list[list[object]] = []
    for kind in ("ntrex paragraph", "ntrex document", "xquad-vi paragraph"):
        for lang in ("vi", "ko"):
            if (kind, lang) in scores:
                hits = scores[kind, lang]
                label = "itself first" if kind.startswith("xquad") else "other language in top 2"
                rows.append([kind, f"{lang} paste", label, len(hits), float(np.mean(hits))])
    ms = [t for (kind, what), values in scores.items() if what == "ms" for t in values]
    return (f"## Long pastes ({split})\n\n`python -m bench.longpaste --split {split}`: {len(docs)} documents "
            f"(NTREX {split} in both languages, headline kept, beside the XQuAD-vi {split} paragraphs). A paragraph "
            f"is a document's first sentences up to {PARAGRAPH_CHARS} characters; a document is all of it, at most "
            f"{MAX_CHARS:,}. Query time (whole engine.search, one thread, query vectors cached): p50 "
            f"{np.percentile(ms, 50):.0f} ms, p95 {np.percentile(ms, 95):.0f} ms.\n\n"
            + table(["paste", "language", "measure", "queries", "share"], rows))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--split", default="dev", choices=("dev", "test"))
    parser.add_argument("--no-write", action="store_true", help="kept for symmetry: this command never writes")
    args = parser.parse_args(argv)
    if shared_dir() is None:
        print("longpaste: skipped (../shared/data is absent)")
        return
    markdown = evaluate(args.split)
    print(markdown)
    if not args.no_write:
        print("(`python -m bench.run longpaste` writes the section, dev and test)")


def run() -> None:
    if shared_dir() is None:
        print("longpaste: skipped (../shared/data is absent)")
        return
    write_section("longpaste", evaluate("dev") + "\n\nTest split (reported, never tuned on):\n\n"
                  + evaluate("test").split("\n\n", 2)[2])


if __name__ == "__main__":
    main()
