"""PDF text layer by pypdf; a PDF without one (a scan) is reported, not stored empty."""

from __future__ import annotations

import io
import logging
import re

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from corpus.formats import Extracted, ExtractionError

logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed-but-readable PDFs are common
MIN_CHARS_PER_PAGE = 5


def extract_pdf(content: bytes) -> Extracted:
    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionError("password-protected PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
    except ExtractionError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ExtractionError(f"unreadable PDF: {exc}") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if len(re.sub(r"\s", "", text)) < MIN_CHARS_PER_PAGE * max(1, len(pages)):
        raise ExtractionError(f"no text layer ({len(pages)} pages, scanned images?): needs OCR")
    title = str(meta.title or "") if meta else ""
    author = str(meta.author or "") if meta else ""
    date = ""
    if meta is not None:
        try:
            created = meta.creation_date
            date = created.date().isoformat() if created else ""
        except (ValueError, TypeError):
            date = ""
    return Extracted(text=text, title=title.strip(), author=author.strip(), date=date, format="pdf")
