"""Response models: each page builds one of these; Jinja2 renders it and /api/ returns it."""

from __future__ import annotations

from pydantic import BaseModel, Field


class HitModel(BaseModel):
    id: str
    lang: str
    title: str
    score: float
    snippet: str = Field(description="The best-matching passage of the document, in the document's language")
    highlights: list[tuple[int, int]] = Field(description="[start, end) character spans of query terms in the snippet")
    url: str
    type: str
    date: str
    source: str
    counterpart_id: str = Field(default="", description="The same document in the other language, when known")


class FacetValueModel(BaseModel):
    value: str
    count: int
    selected: bool


class SearchPage(BaseModel):
    query: str
    query_lang: str = ""
    filters: dict[str, list[str]] = Field(default_factory=dict, description="Chosen facet values (lang, type, source, year)")
    sort: str = "relevance"
    total: int = 0
    limit: int = 10
    offset: int = 0
    page: int = 1
    pages: int = 0
    took_ms: float = 0.0
    hits: list[HitModel] = []
    facets: dict[str, list[FacetValueModel]] = {}
    suggestions: list[str] = Field(default_factory=list, description="Close indexed terms, offered when nothing matches")
    unfiltered_total: int = Field(default=0, description="Matches without the facet filters (offered when filters hide everything)")
    error: str = ""


class ParagraphModel(BaseModel):
    text: str
    start: int = Field(description="Offset of the paragraph in the document text")
    best: bool = Field(default=False, description="Part of a passage that best matches the query")
    highlights: list[tuple[int, int]] = []


class DocumentPage(BaseModel):
    id: str
    lang: str
    title: str
    text: str = Field(description="The text of this page of the document (all of it when it has one page)")
    url: str
    type: str
    date: str
    source: str
    query: str = ""
    paragraphs: list[ParagraphModel]
    counterpart: HitModel | None = None
    counterpart_confirmed: bool = Field(default=False, description="A person confirmed the counterpart link")
    related: list[HitModel] = []
    page: int = Field(default=1, description="This page of the document (1-based)")
    pages: int = Field(default=1, description="Pages of the document; /text/ID has the whole text")
    text_chars: int = Field(default=0, description="Length of the whole text in characters")


class CrawlOutcome(BaseModel):
    url: str
    outcome: str
    http_status: int | None = None
    reason: str = ""
    at: str = ""


class StatusPage(BaseModel):
    data_dir: str
    documents: int
    by_lang: dict[str, int]
    by_type: dict[str, int]
    by_lang_type: dict[str, dict[str, int]] = {}
    catalogue_updated: str = ""
    encoder: str
    index: dict[str, object] | None
    crawl_outcomes: dict[str, int] = {}
    recent_crawls: list[CrawlOutcome] = []
