"""The side-by-side alignment page, `/align?a=ID[&b=ID]` as HTML and `/api/align` as JSON
(one handler serves both): which pair, its links, and glossary terms per sentence; and the
counterpart decisions taken on it (`/align/decide`, `/api/counterpart`), which need the
operator's token, checked before the request's fields are validated.

Alignment runs on request through the sentence-embedding cache that `viko align-all` fills,
so a pair aligned before costs only the dynamic programme. A request aligns at most
`web_align_max_sentences` sentences per side: the cost grows with the product of the two
lengths (4,000 x 4,000 sentences took about 1 GB), so longer documents show their opening
and say so; `viko align-all` aligns whole documents offline.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError

from viko.align_all import sentence_embedder
from viko.corpus.access import Viewer, shown_text
from viko.corpus.accounts import Accounts
from viko.corpus.counterparts import CounterpartError, decide, forget, get_counterpart
from viko.corpus.document import Document
from viko.corpus.glossary import Glossary, open_glossary
from viko.runtime import open_catalogue
from viko.settings import Settings
from viko.web.auth import may_see
from viko.web.shared import TokenFirstRoute, Web, page_routes
from viko.workbench.align import Alignment, align_sentences, doc_sentences
from viko.workbench.evidence import ClaimParams, alignment_strength
from viko.workbench.sentvec import SentenceEmbedder


class TermModel(BaseModel):
    start: int
    end: int
    other: str = Field(description="The glossary's equivalent in the other language")
    note: str = ""


class SentenceModel(BaseModel):
    index: int
    text: str
    terms: list[TermModel] = Field(default=[], description="Glossary terms in the sentence")


class LinkModel(BaseModel):
    a: list[int] = Field(description="Sentence indexes on side a (empty: b is unmatched)")
    b: list[int]
    score: float = Field(description="Cosine similarity of the two sides' sentence embeddings")
    strong: bool = Field(default=False, description="A cosine of at least strong_cosine, above every rival sentence: stated as a translation")


class AlignRow(BaseModel):
    """One row of the side-by-side view."""

    a: list[SentenceModel]
    b: list[SentenceModel]
    score: float
    kind: str = Field(description="1-1, 1-2, 2-1, 1-0 or 0-1")
    strong: bool = Field(default=False, description="Stated as a translation (else a weak, order-keeping guess)")


class DocRef(BaseModel):
    id: str
    lang: str
    title: str


class AlignmentPage(BaseModel):
    a: DocRef | None = None
    b: DocRef | None = None
    status: str = Field(default="", description="What the pair is: confirmed, claimed (a detected translation), "
                                                "possible (a guess to check) or given (any two documents)")
    confidence: float = 0.0
    links: list[LinkModel] = []
    a_sentences: list[str] = []
    b_sentences: list[str] = []
    rows: list[AlignRow] = []
    error: str = ""
    cut: str = Field(default="", description="Set when the documents are longer than the aligned part")
    a_total: int = Field(default=0, description="Sentences in document a")
    b_total: int = Field(default=0, description="Sentences in document b")
    strong_sentences: int = Field(default=0, description="Sentences of both sides in strong links")
    strong_cosine: float = Field(default=ClaimParams().min_cosine, description="The cosine a strong link reaches at least")


class DecisionInput(BaseModel):
    doc_id: str
    other_id: str
    decision: str = Field(pattern="^(confirmed|rejected|forget)$")
    note: str = Field(default="", max_length=1000)


class CounterpartModel(BaseModel):
    doc_id: str
    other_id: str | None = None
    confidence: float = 0.0
    status: str = Field(default="", description="confirmed (by a person) or detected (with features)")
    kind: str = Field(default="", description="confirmed, claimed (a detected translation) or possible (to check)")
    features: dict[str, float] = {}
    evidence: dict[str, float] = Field(default={}, description="Sentence-level measurements behind the link")
    reasons: list[str] = []


class AlignmentService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._embedder: SentenceEmbedder | None = None

    def _align(self, sa: list[str], sb: list[str]) -> tuple[Alignment, list[bool]]:
        """The alignment and, per link, whether it is strong (workbench.evidence.strong_links)."""
        with self._lock:  # the embedder and its cache are not thread-safe
            if self._embedder is None:
                self._embedder = sentence_embedder(self.settings)  # align-all's engine and cache
            alignment = Alignment(align_sentences(sa, sb, self._embedder.embed), sa, sb)
            return alignment, alignment_strength(alignment, self._embedder.embed)

    def page(self, a_id: str, b_id: str, viewer: Viewer) -> AlignmentPage:
        with open_catalogue(self.settings) as cat:
            a = cat.get(a_id)
            if a is None or not viewer.sees(a.visibility):
                return AlignmentPage(error=f"no document with id {a_id!r}")
            status, confidence = "given", 1.0
            link = get_counterpart(cat, a_id)
            if link is not None and not may_see(cat, link.other_id, viewer):
                link = None  # a counterpart the viewer may not see is no counterpart of theirs
            if not b_id:
                if link is None:
                    return AlignmentPage(a=_ref(a), error=f"{a_id!r} has no counterpart: choose the other document")
                b_id = link.other_id
            if link is not None and link.other_id == b_id:  # claimed, confirmed or only possible
                status, confidence = link.kind, link.confidence
            b = cat.get(b_id)
            if b is None or not viewer.sees(b.visibility):
                return AlignmentPage(a=_ref(a), error=f"no document with id {b_id!r}")
            glossary = Glossary(open_glossary(cat, self.settings.glossary).entries())
        limit = max(1, self.settings.web_align_max_sentences)
        # an offer's or a demand's contact details: for signed-in readers only (as on its page)
        all_a, all_b = (doc_sentences(d.with_(text=shown_text(d.text, d.type, viewer))) for d in (a, b))
        alignment, strong = self._align(all_a[:limit], all_b[:limit])
        totals = len(all_a), len(all_b)
        cut = ""
        if max(totals) > limit:
            cut = (f"only the first {self.settings.web_align_max_sentences} sentences of each side are aligned here "
                   f"({totals[0]} and {totals[1]} in all): `viko align-all` aligns whole documents")
        return AlignmentPage(a=_ref(a), b=_ref(b), status=status, confidence=confidence, cut=cut,
                             a_total=totals[0], b_total=totals[1],
                             links=[LinkModel(**link.to_json(), strong=ok)  # type: ignore[arg-type]
                                    for link, ok in zip(alignment.links, strong, strict=True)],
                             a_sentences=alignment.a_sentences, b_sentences=alignment.b_sentences,
                             rows=_rows(alignment, strong, glossary, a.lang, b.lang),
                             strong_sentences=sum(len(k.a) + len(k.b) for k, ok in zip(alignment.links, strong, strict=True) if ok))


def _ref(doc: Document) -> DocRef:
    return DocRef(id=doc.id, lang=doc.lang, title=doc.title)


def _sentence(i: int, text: str, lang: str, glossary: Glossary) -> SentenceModel:
    other = "ko" if lang == "vi" else "vi"
    terms = [TermModel(start=m.start, end=m.end, other=m.entry.side(other), note=m.entry.note)
             for m in glossary.lookup(text, lang)]
    return SentenceModel(index=i, text=text, terms=terms)


def _rows(al: Alignment, strong: list[bool], glossary: Glossary, lang_a: str, lang_b: str) -> list[AlignRow]:
    rows = []
    for link, ok in zip(al.links, strong, strict=True):
        rows.append(AlignRow(a=[_sentence(i, al.a_sentences[i], lang_a, glossary) for i in link.a],
                             b=[_sentence(j, al.b_sentences[j], lang_b, glossary) for j in link.b],
                             score=round(link.score, 4), kind=f"{len(link.a)}-{len(link.b)}", strong=ok))
    return rows


@dataclass(frozen=True)
class AlignParams:
    """Which pair to align: a, and b (default: a's counterpart). Without a the page shows its
    empty form and the API answers 400."""

    a: str = ""
    b: str = ""


def align_params(a: str = Query("", description="Document id"),
                 b: str = Query("", description="The other document (default: a's counterpart)")) -> AlignParams:
    return AlignParams(a, b)


AlignQuery = Annotated[AlignParams, Depends(align_params)]


def align_router(web: Web) -> APIRouter:
    router = APIRouter(route_class=TokenFirstRoute, tags=["translation"])
    aligner = AlignmentService(web.settings)

    def align(request: Request, params: AlignQuery) -> Any:
        page = aligner.page(params.a, params.b, web.auth.viewer(request)) if params.a else AlignmentPage()
        return web.respond(request, "align.html", page, error=page.error, status=404,
                           blank="" if params.a else "choose a document: a=ID")

    page_routes(router, "/align", "/api/align", align, AlignmentPage,
                "Sentence alignment of a document and its counterpart")
    _counterpart_routes(router, web)
    return router


def _counterpart_routes(router: APIRouter, web: Web) -> None:
    settings, auth = web.settings, web.auth

    @router.get("/api/counterpart/{doc_id:path}", response_model=CounterpartModel, summary="A document's counterpart")
    def api_counterpart(request: Request, doc_id: str) -> Any:
        viewer = auth.viewer(request)
        with open_catalogue(settings) as cat:
            if not may_see(cat, doc_id, viewer):
                raise HTTPException(404, f"no document with id {doc_id!r}")
            link = get_counterpart(cat, doc_id)
            if link is not None and not may_see(cat, link.other_id, viewer):
                link = None
        if link is None:
            return CounterpartModel(doc_id=doc_id)
        return CounterpartModel(doc_id=doc_id, other_id=link.other_id, confidence=link.confidence,
                                status=link.status, kind=link.kind, features=link.contributions(),
                                evidence=link.evidence(), reasons=link.reasons())

    def apply(body: DecisionInput, viewer: Viewer) -> dict[str, str]:
        with web.writing, open_catalogue(settings) as cat:
            if not all(may_see(cat, d, viewer) for d in (body.doc_id, body.other_id)):
                raise HTTPException(404, "no such document")
            try:
                if body.decision == "forget":
                    forget(cat, body.doc_id, body.other_id)
                else:
                    decide(cat, body.doc_id, body.other_id, body.decision, body.note)
            except CounterpartError as exc:
                raise HTTPException(400, str(exc)) from exc
            Accounts(cat).audit(viewer.name, f"counterpart {body.decision}", f"{body.doc_id} / {body.other_id}",
                                body.note)
        return {"doc_id": body.doc_id, "other_id": body.other_id, "decision": body.decision}

    @router.post("/api/counterpart", summary="Confirm, reject or forget a counterpart link (editors)",
                 dependencies=[Depends(web.needs("edit"))])
    def api_decide(request: Request, body: DecisionInput) -> dict[str, str]:
        return apply(body, auth.viewer(request))

    @router.post("/align/decide", include_in_schema=False)
    def decide_form(request: Request, a: str = Form(""), b: str = Form(""), decision: str = Form(""),
                    token: str = Form(""), csrf_token: str = Form("")) -> Response:
        viewer = auth.require(request, ("edit",), token=token, csrf=csrf_token)
        try:
            body = DecisionInput(doc_id=a, other_id=b, decision=decision)
        except ValidationError as exc:
            raise HTTPException(400, f"not a valid decision: {exc.errors()[0]['msg']}") from exc
        apply(body, viewer)
        target = {"a": a, "b": b} if decision != "rejected" else {"a": a}
        return RedirectResponse("/align?" + urlencode(target), status_code=303)
