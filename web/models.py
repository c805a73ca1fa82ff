"""Response models: each page builds one of these; Jinja2 renders it and /api/ returns it."""

from __future__ import annotations

from pydantic import BaseModel, Field


class HitModel(BaseModel):
    id: str
    lang: str
    title: str
    score: float
    snippet: str
    highlights: list[tuple[int, int]] = Field(description="[start, end) character spans of query terms in the snippet")
    url: str
    type: str
    date: str
    source: str


class SearchPage(BaseModel):
    query: str
    lang: str = "all"
    query_lang: str = ""
    total: int = 0
    limit: int = 10
    offset: int = 0
    took_ms: float = 0.0
    hits: list[HitModel] = []
    error: str = ""


class DocumentPage(BaseModel):
    id: str
    lang: str
    title: str
    text: str
    url: str
    type: str
    date: str
    source: str
    paragraphs: list[str]
    counterpart: HitModel | None = None
    related: list[HitModel] = []


class StatusPage(BaseModel):
    data_dir: str
    documents: int
    by_lang: dict[str, int]
    by_type: dict[str, int]
    encoder: str
    index: dict[str, object] | None
