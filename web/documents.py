"""The document page's data: the text with its best-matching passages, related documents of
both languages, and the counterpart one click away.

A long document is shown a page at a time (paragraphs of about `web_doc_page_chars`
characters), never whole: a 10 MB text would otherwise cost tens of megabytes of HTML per
view. The full text stays one link away, as plain text."""

from __future__ import annotations

import numpy as np
from viko.corpus.counterparts import Counterpart
from viko.corpus.document import Document
from viko.search.engine import DocMeta, QueryError, Scored, SearchEngine
from viko.search.snippets import match_spans
from viko.web.models import DocumentPage, HitModel, ParagraphModel
from viko.web.searching import Searcher, hit_model


def paragraphs_of(text: str) -> list[tuple[int, str]]:
    """(offset, paragraph) for every non-blank line of the text."""
    out, pos = [], 0
    for line in text.split("\n"):
        if line.strip():
            out.append((pos, line))
        pos += len(line) + 1
    return out


def page_spans(paragraphs: list[tuple[int, str]], size: int) -> list[list[tuple[int, str]]]:
    """The paragraphs cut into pages of at most `size` characters (a longer paragraph is cut)."""
    pages: list[list[tuple[int, str]]] = [[]]
    used = 0
    for start, text in paragraphs:
        for cut in range(0, len(text), max(1, size)):
            piece = text[cut: cut + size]
            if pages[-1] and used + len(piece) > size:
                pages.append([])
                used = 0
            pages[-1].append((start + cut, piece))
            used += len(piece)
    return pages


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
    centred = engine.index.centre(qvec, ranked.qlang)[0]
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


def _chosen_page(pages: list[list[tuple[int, str]]], passages: list[tuple[int, int]], page_no: int) -> int:
    """1-based page to show: the one asked for, else the one holding the best passage."""
    if page_no:
        return min(page_no, len(pages))
    for number, paras in enumerate(pages, 1):
        if any(s < start + len(text) and start < e for start, text in paras for s, e in passages):
            return number
    return 1


def document_page(engine: SearchEngine, searcher: Searcher, doc: Document, link: Counterpart | None,
                  query: str = "", related: int = 6, *, page_no: int = 0, page_chars: int = 50_000) -> DocumentPage:
    passages, terms = best_passages(engine, searcher, doc.id, query) if query.strip() else ([], [])
    pages = page_spans(paragraphs_of(doc.text), page_chars)
    number = _chosen_page(pages, passages, page_no)
    paragraphs = []
    for start, text in pages[number - 1]:
        end = start + len(text)
        best = any(s < end and start < e for s, e in passages)
        spans = match_spans(text, terms)
        if spans and doc.lang == "vi":  # re-marked on whole words: see SearchEngine.words_of
            spans = match_spans(text, terms, engine.words_of(text, doc.lang))
        paragraphs.append(ParagraphModel(text=text, start=start, best=best, highlights=spans))
    page_text = "\n".join(text for _, text in pages[number - 1])
    page = DocumentPage(id=doc.id, lang=doc.lang, title=doc.title, text=page_text, url=doc.url, type=doc.type,
                        date=doc.date, source=doc.source, query=query, paragraphs=paragraphs,
                        page=number, pages=len(pages), text_chars=len(doc.text))
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
