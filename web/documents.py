"""The document page's data: the text with its best-matching passages, related documents of
both languages, and the counterpart one click away."""

from __future__ import annotations

import numpy as np

from corpus.counterparts import Counterpart
from corpus.document import Document
from search.engine import DocMeta, QueryError, Scored, SearchEngine
from search.snippets import match_spans
from web.models import DocumentPage, HitModel, ParagraphModel
from web.searching import Searcher, hit_model


def paragraphs_of(text: str) -> list[tuple[int, str]]:
    """(offset, paragraph) for every non-blank line of the text."""
    out, pos = [], 0
    for line in text.split("\n"):
        if line.strip():
            out.append((pos, line))
        pos += len(line) + 1
    return out


def best_passages(engine: SearchEngine, searcher: Searcher, doc_id: str, query: str) -> tuple[list[tuple[int, int]], list[str]]:
    """Character ranges of the chunks that match the query best (by meaning and by words),
    and the query's terms. Nothing when the query is empty or invalid."""
    try:
        query = engine.validate(query)
    except QueryError:
        return [], []
    ranked = searcher.ranked(engine, query)
    rows = engine.index.doc_rows.get(doc_id, [])
    if not rows:
        return [], ranked.terms
    rows_arr = np.asarray(rows, dtype=np.int64)
    qvec = ranked.vector
    centred = engine.index.centre(qvec, ranked.qlang if ranked.qlang in ("vi", "ko") else "vi")[0]
    picked = {int(rows_arr[int(np.argmax(engine.index.centred[rows_arr] @ centred))])}
    lexical = engine.index.lexical.scores(ranked.terms)[rows_arr] if ranked.terms else np.zeros(0)
    if len(lexical) and float(lexical.max()) > 0:
        picked.add(int(rows_arr[int(np.argmax(lexical))]))
    chunks = engine.index.chunks
    return sorted((chunks[r].start, chunks[r].end) for r in picked), ranked.terms


def _link_hit(engine: SearchEngine, link: Counterpart) -> HitModel | None:
    rows = engine.index.doc_rows.get(link.other_id)
    meta = engine.meta.get(link.other_id)
    if meta is None:
        return None
    if rows:
        lang = engine.index.doc_lang[link.other_id]
        return hit_model(engine, Scored(link.other_id, lang, link.confidence, rows[0]), [])
    return HitModel(id=link.other_id, lang="", title=meta.title, score=link.confidence, snippet="", highlights=[],
                    url=meta.url, type=meta.type, date=meta.date, source=meta.source)


def document_page(engine: SearchEngine, searcher: Searcher, doc: Document, link: Counterpart | None,
                  query: str = "", related: int = 6) -> DocumentPage:
    passages, terms = best_passages(engine, searcher, doc.id, query) if query.strip() else ([], [])
    paragraphs = []
    for start, text in paragraphs_of(doc.text):
        end = start + len(text)
        best = any(s < end and start < e for s, e in passages)
        paragraphs.append(ParagraphModel(text=text, start=start, best=best, highlights=match_spans(text, terms)))
    page = DocumentPage(id=doc.id, lang=doc.lang, title=doc.title, text=doc.text, url=doc.url, type=doc.type,
                        date=doc.date, source=doc.source, query=query, paragraphs=paragraphs)
    if link is not None:
        page.counterpart = _link_hit(engine, link)
        page.counterpart_confirmed = link.status == "confirmed"
    shown = {doc.id, link.other_id if link else ""}
    for hit in engine.related(doc.id, limit=related + 1):
        if hit.id not in shown and len(page.related) < related:
            meta = engine.meta.get(hit.id, DocMeta())
            page.related.append(HitModel(id=hit.id, lang=hit.lang, title=meta.title or hit.title,
                                         score=round(hit.score, 4), snippet=hit.snippet, highlights=list(hit.highlights),
                                         url=hit.url, type=hit.type, date=hit.date, source=hit.source))
    return page
