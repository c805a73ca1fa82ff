"""Response models of the translators' workbench pages and /api/ calls."""

from __future__ import annotations

from pydantic import BaseModel, Field

Span = tuple[int, int]


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


class AlignRow(BaseModel):
    """One row of the side-by-side view."""

    a: list[SentenceModel]
    b: list[SentenceModel]
    score: float
    kind: str = Field(description="1-1, 1-2, 2-1, 1-0 or 0-1")


class DocRef(BaseModel):
    id: str
    lang: str
    title: str


class AlignmentPage(BaseModel):
    a: DocRef | None = None
    b: DocRef | None = None
    status: str = Field(default="", description="How b was chosen: given, confirmed, detected, index")
    confidence: float = 0.0
    links: list[LinkModel] = []
    a_sentences: list[str] = []
    b_sentences: list[str] = []
    rows: list[AlignRow] = []
    error: str = ""
    cut: str = Field(default="", description="Set when the documents are longer than the aligned part")
    a_total: int = Field(default=0, description="Sentences in document a")
    b_total: int = Field(default=0, description="Sentences in document b")


class ConcordanceHitModel(BaseModel):
    id: int
    vi: str
    ko: str
    side: str = Field(description="The side the query matched: vi or ko")
    vi_spans: list[Span]
    ko_spans: list[Span]
    origin: str = Field(description="aligned (a document and its counterpart), mined, or tmx")
    score: float
    vi_doc: str
    ko_doc: str
    vi_title: str
    ko_title: str
    source: str


class ConcordancePage(BaseModel):
    query: str = ""
    lang: str = "all"
    total: int = 0
    limit: int = 20
    offset: int = 0
    took_ms: float = 0.0
    hits: list[ConcordanceHitModel] = []
    memory: dict[str, int] = Field(default={}, description="Translation units by origin")
    error: str = ""


class GlossaryEntryModel(BaseModel):
    id: int
    vi: str
    ko: str
    note: str
    domain: str
    origin: str


class GlossaryPage(BaseModel):
    query: str = ""
    entries: list[GlossaryEntryModel] = []
    editable: bool = Field(default=False, description="Whether the operator configured an admin token")
    message: str = ""


class GlossaryInput(BaseModel):
    vi: str = Field(min_length=1, max_length=200)
    ko: str = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=1000)
    domain: str = Field(default="", max_length=100)


class ExpansionModel(BaseModel):
    query: str
    lang: str
    terms: list[str] = Field(description="Other-language equivalents of the glossary terms in the query")


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
    features: dict[str, float] = {}
