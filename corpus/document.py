"""The document record and the rules that fill in what a source leaves out."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from viko.corpus.access import PUBLIC, RECORD_TYPES, AccessError, parse_visibility
from viko.corpus.textnorm import clean_text, detect_language

LANGS = ("vi", "ko", "other")
TYPES = ("agreement", "news", "report", "offer", "demand")


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    lang: str
    title: str = ""
    url: str = ""
    date: str = ""
    type: str = ""
    source: str = ""
    segmented: bool = False
    visibility: str = PUBLIC  # who may see it (viko.corpus.access); not part of the content
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def content_hash(self) -> str:
        """Changes whenever anything the index sees changes."""
        parts = [self.title, self.text, self.lang, str(self.segmented)]
        if self.type in RECORD_TYPES:  # indexed without its contact details (indexer.build)
            parts.append("record")
        payload = "\x1f".join(parts)
        return hashlib.sha1(payload.encode("utf-8")).hexdigest()

    def with_(self, **changes: object) -> Document:
        return replace(self, **changes)  # type: ignore[arg-type]


class DocumentError(ValueError):
    """A record that cannot become a Document; the message says which field and why."""


# Transparent, editable rules: the first pattern found in the title (then the opening text) wins.
TYPE_RULES: list[tuple[str, str]] = [
    ("agreement", r"biên bản ghi nhớ|thỏa thuận|thoả thuận|hiệp định|hợp đồng hợp tác|"
                  r"memorandum of understanding|\bmou\b|양해각서|협약서|업무협약|협정|합의서"),
    ("offer", r"chào bán công nghệ|chào bán|công nghệ chào|기술 ?공급|기술이전 제안|공급 기술"),
    ("demand", r"nhu cầu công nghệ|đặt hàng công nghệ|cần tìm công nghệ|기술 ?수요|수요 기술"),
    ("report", r"báo cáo|đề án|kết quả nghiên cứu|보고서|연구 ?결과|백서|실태조사"),
    ("news", r"보도자료|tin tức|bản tin|기사|뉴스"),
]


def guess_type(title: str, text: str) -> str:
    """Type from the title's words, or without a title from the text's first line (its own
    heading); 'news' when nothing matches. The body is not read: a report on coffee exports
    that mentions a free trade agreement ("hiệp định") in its opening is not an agreement."""
    haystack = (title if title.strip() else text.strip().split("\n", 1)[0][:300]).lower()
    for kind, pattern in TYPE_RULES:
        if re.search(pattern, haystack):
            return kind
    return "news"


def normalize_date(value: str) -> str:
    """ISO 8601 date (YYYY-MM-DD) or '' ; raises DocumentError on something unparseable."""
    value = value.strip()
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError as exc:
        raise DocumentError(f"date {value!r} is not ISO 8601 (YYYY-MM-DD)") from exc


def make_document(record: dict[str, object]) -> Document:
    """Validate a raw record (JSONL line, crawler output) and fill detected fields."""
    if not isinstance(record, dict):
        raise DocumentError("record must be a JSON object")
    doc_id = record.get("id")
    if not isinstance(doc_id, str) or not doc_id.strip():
        raise DocumentError("'id' is required and must be a non-empty string")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise DocumentError("'text' is required and must be a non-empty string")
    strings = {}
    for key in ("title", "lang", "url", "date", "type", "source"):
        value = record.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise DocumentError(f"'{key}' must be a string")
        strings[key] = clean_text(value)
    text = clean_text(text)
    lang = strings["lang"].lower() or detect_language(strings["title"] + "\n" + text)
    if lang not in LANGS:
        raise DocumentError(f"'lang' must be vi, ko or absent, not {lang!r}")
    extra = {k: str(v) for k, v in record.items() if k not in _KNOWN and v is not None}
    try:
        visibility = parse_visibility(record.get("visibility"))
    except AccessError as exc:
        raise DocumentError(str(exc)) from exc
    return Document(
        id=doc_id.strip(), text=text, lang=lang, title=strings["title"],
        url=strings["url"], date=normalize_date(strings["date"]),
        type=strings["type"].lower() or guess_type(strings["title"], text),
        source=strings["source"], segmented=_flag(record.get("segmented", False), "segmented"),
        visibility=visibility, extra=extra,
    )


_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no", "")


def _flag(value: object, key: str) -> bool:
    """A yes/no field: JSON booleans, 0/1, or their spellings as strings ("false" is false)."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise DocumentError(f"'{key}' must be true or false, not {value!r}")


_KNOWN = {"id", "text", "title", "lang", "url", "date", "type", "source", "segmented", "visibility"}
