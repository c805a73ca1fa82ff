"""Bytes -> text and metadata for every supported format, chosen by sniffing the content
(servers often send the wrong Content-Type and files carry the wrong extension)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import replace

from viko.corpus.formats import Extracted, ExtractionError
from viko.corpus.formats.budget import DEFAULT_BUDGET, Budget, kept_note
from viko.corpus.formats.encoding import EncodingError, charset_from_content_type, decode_bytes
from viko.corpus.formats.hwp import drm_name

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BINARY_MAGIC = (
    (b"\x89PNG", "PNG image"), (b"\xff\xd8\xff", "JPEG image"), (b"GIF8", "GIF image"),
    (b"\x1f\x8b", "gzip archive"), (b"\x7fELF", "executable"), (b"MZ", "Windows executable"),
    (b"RIFF", "RIFF media"), (b"Rar!", "RAR archive"), (b"7z\xbc\xaf", "7-Zip archive"),
    (b"\x00\x00\x00", "binary data"), (b"ID3", "MP3 audio"), (b"OggS", "Ogg media"),
)
FORMATS = ("html", "text", "pdf", "docx", "hwp", "hwpx")


def sniff(content: bytes, content_type: str = "") -> str:
    """One of FORMATS, 'xml' (feeds, sitemaps), or ExtractionError saying what it is."""
    if not content.strip():
        raise ExtractionError("empty content")
    head = content[:4096]
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(OLE_MAGIC) or drm_name(head):
        return "hwp"
    if head.startswith(b"HWP Document File V"):
        raise ExtractionError("HWP 3.x document (pre-2002 format): save it as HWP 5 or HWPX")
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(content)
    for magic, label in _BINARY_MAGIC:
        if head.startswith(magic):
            raise ExtractionError(f"binary content ({label}) served as {content_type or 'unknown type'}")
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ExtractionError(f"binary content served as {content_type or 'unknown type'}")
    low = head.lstrip().lower()
    if low.startswith((b"<!doctype html", b"<html")) or b"<body" in low or b"<head" in low:
        return "html"
    if low.startswith(b"<?xml") or re.match(rb"<(rss|feed|urlset|sitemapindex)\b", low):
        return "xml"
    return "html" if "html" in content_type.lower() else "text"


def _sniff_zip(content: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            names = set(zf.namelist())
            mimetype = b""
            if "mimetype" in names:
                with zf.open("mimetype") as stream:  # never inflate a whole part just to sniff
                    mimetype = stream.read(100)
    except zipfile.BadZipFile as exc:
        raise ExtractionError(f"damaged zip archive: {exc}") from exc
    if "word/document.xml" in names:
        return "docx"
    if b"hwp" in mimetype or any(n.lower().startswith("contents/section") for n in names):
        return "hwpx"
    kind = ("spreadsheet (XLSX)" if "xl/workbook.xml" in names else
            "presentation (PPTX)" if "ppt/presentation.xml" in names else "zip archive")
    raise ExtractionError(f"unsupported format: {kind}")


def extract(content: bytes, *, content_type: str = "", url: str = "",
            budget: Budget = DEFAULT_BUDGET) -> Extracted:
    """Text and metadata, or ExtractionError with the reason. Every format works within
    `budget`; text beyond its characters is left out and `note` says so."""
    kind = sniff(content, content_type)
    if kind == "xml":
        raise ExtractionError("XML document (feed or sitemap), not an article")
    if kind in ("html", "text"):
        result = _extract_markup(content, kind, content_type, url, budget)
    else:
        result = _binary_extractor(kind)(content, budget)
    if not result.text.strip():
        raise ExtractionError(f"no text in this {kind.upper()} document")
    if len(result.text) > budget.max_chars:
        result = replace(result, text=result.text[:budget.max_chars], note=kept_note(budget))
    return result if result.title else replace(result, title=fallback_title(result.text))


def _extract_markup(content: bytes, kind: str, content_type: str, url: str, budget: Budget) -> Extracted:
    note = ""
    if len(content) > budget.max_bytes:
        if kind == "html":  # a page cut in the middle would parse into the wrong main text
            raise ExtractionError(f"HTML page larger than {budget.mb} MB: not extracted")
        cut = content.rfind(b"\n", 0, budget.max_bytes)  # whole lines: never half a character
        content, note = content[:cut if cut > 0 else budget.max_bytes], kept_note(budget)
    try:
        text, encoding = decode_bytes(content, charset_from_content_type(content_type), html=kind == "html")
    except EncodingError as exc:
        raise ExtractionError(str(exc)) from exc
    if kind == "text":
        return Extracted(text=text, format="text", encoding=encoding, note=note)
    from viko.corpus.formats.html import extract_html

    return replace(extract_html(text, url), encoding=encoding)


def _binary_extractor(kind: str) -> Callable[[bytes, Budget], Extracted]:
    if kind == "pdf":
        from viko.corpus.formats.pdf import extract_pdf

        return extract_pdf
    if kind == "docx":
        from viko.corpus.formats.docx import extract_docx

        return extract_docx
    if kind == "hwp":
        from viko.corpus.formats.hwp import extract_hwp

        return extract_hwp
    from viko.corpus.formats.hwpx import extract_hwpx

    return extract_hwpx


def fallback_title(text: str) -> str:
    """First early line that reads like a heading (10+ letters), else the first line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()][:25]
    for line in lines:
        if sum(ch.isalpha() for ch in line) >= 10:
            return line[:200]
    return lines[0][:200] if lines else ""
