"""What a search returns: hits with their metadata, a page of results, and the error a
query that cannot be run raises (its message is meant for the user)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class QueryError(ValueError):
    """A query that cannot be run; the message is meant for the user."""


@dataclass(frozen=True)
class DocMeta:
    title: str = ""
    url: str = ""
    type: str = ""
    date: str = ""
    source: str = ""
    visibility: str = "public"  # viko.corpus.access


@dataclass(frozen=True)
class Hit:
    id: str
    lang: str
    score: float
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    passage: tuple[int, int]
    title: str = ""
    url: str = ""
    type: str = ""
    date: str = ""
    source: str = ""
    possible: bool = False  # matched on weak evidence only (search.relevance): said so

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "lang": self.lang, "title": self.title, "score": round(self.score, 4),
                "snippet": self.snippet, "highlights": [list(h) for h in self.highlights],
                "url": self.url, "type": self.type, "date": self.date, "source": self.source,
                "possible": self.possible}


@dataclass(frozen=True)
class Results:
    query: str
    query_lang: str
    hits: list[Hit]
    total: int
    took_ms: float
    terms: list[str] = field(default_factory=list)
    searched_as: str = ""  # the words as searched, when they differ from the typed ones
    suggestions: tuple[str, ...] = ()  # spelling corrections offered when nothing matched
    possible_total: int = 0  # of total, the possible matches (Hit.possible)

    def to_json(self) -> dict[str, Any]:
        return {"query": self.query, "query_lang": self.query_lang, "total": self.total,
                "possible_total": self.possible_total,
                "searched_as": self.searched_as, "rewritten": bool(self.searched_as),
                "suggestions": list(self.suggestions),
                "took_ms": round(self.took_ms, 2), "hits": [h.to_json() for h in self.hits]}
