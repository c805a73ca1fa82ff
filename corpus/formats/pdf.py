"""PDF text layer by pypdf; a PDF without one (a scan) is reported, not stored empty.

pypdf's own per-stream limits are set to the extraction budget, and the decoded content of
every page is charged to it: pypdf keeps decoded streams, so a thousand pages of inflated
zeros would otherwise add up without bound."""

from __future__ import annotations

import io
import logging
import re

from pypdf import PdfReader, apply_configuration
from pypdf.errors import LimitReachedError, PdfReadError

from viko.corpus.formats import Extracted, ExtractionError
from viko.corpus.formats.budget import DEFAULT_BUDGET, Budget, Meter, TextCollector, kept_note

logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed-but-readable PDFs are common
MIN_CHARS_PER_PAGE = 5


def _limits(budget: Budget) -> dict[str, int]:
    n = budget.max_bytes
    return {"maximum_declared_stream_length": n, "array_based_stream_maximum_output_length": n,
            "zlib_maximum_output_length": n, "lzw_maximum_output_length": n,
            "run_length_maximum_output_length": n, "jbig2_maximum_output_length": n,
            "brotli_maximum_output_length": n}


def _pages(reader: PdfReader, budget: Budget) -> tuple[list[str], int, bool]:
    """Non-empty page texts within the budget, pages read, and whether text was left out."""
    meter, lines = Meter(budget), TextCollector(budget)
    read = 0
    for page in reader.pages:
        contents = page.get_contents()
        meter.spend(len(contents.get_data()) if contents is not None else 0)
        read += 1
        text = (page.extract_text() or "").strip()
        if text and not lines.add(text):
            break
    return lines.lines, read, lines.cut


def extract_pdf(content: bytes, budget: Budget = DEFAULT_BUDGET) -> Extracted:
    try:
        with apply_configuration(None, **_limits(budget)):
            reader = PdfReader(io.BytesIO(content))
            if reader.is_encrypted and not reader.decrypt(""):
                raise ExtractionError("password-protected PDF")
            pages, read, cut = _pages(reader, budget)
            meta = reader.metadata
    except ExtractionError:
        raise
    except LimitReachedError as exc:
        raise ExtractionError(f"expands beyond {budget.mb} MB: not extracted ({exc})") from exc
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ExtractionError(f"unreadable PDF: {exc}") from exc
    text = "\n\n".join(pages)
    if len(re.sub(r"\s", "", text)) < MIN_CHARS_PER_PAGE * max(1, read):
        raise ExtractionError(f"no text layer ({read} pages, scanned images?): needs OCR")
    title = str(meta.title or "") if meta else ""
    author = str(meta.author or "") if meta else ""
    date = ""
    if meta is not None:
        try:
            created = meta.creation_date
            date = created.date().isoformat() if created else ""
        except (ValueError, TypeError):
            date = ""
    return Extracted(text=text, title=title.strip(), author=author.strip(), date=date, format="pdf",
                     note=kept_note(budget) if cut else "")
