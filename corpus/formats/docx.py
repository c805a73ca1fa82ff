"""DOCX by python-docx: paragraphs and table cells in document order."""

from __future__ import annotations

import io
import zipfile

import docx
from docx.document import Document as DocxDocument
from docx.table import Table
from docx.text.paragraph import Paragraph

from corpus.formats import Extracted, ExtractionError


def _blocks(document: DocxDocument) -> list[str]:
    out: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, Table):
            for row in block.rows:
                cells = list(dict.fromkeys(c.text.strip() for c in row.cells))  # merged cells repeat
                out.append(" | ".join(c for c in cells if c))
    return out


def extract_docx(content: bytes) -> Extracted:
    try:
        document = docx.Document(io.BytesIO(content))
        lines = _blocks(document)
        props = document.core_properties
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ExtractionError(f"unreadable DOCX: {exc}") from exc
    text = "\n".join(line for line in lines if line.strip())
    if not text.strip():
        raise ExtractionError("DOCX has no text")
    date = props.created.date().isoformat() if props.created else ""
    return Extracted(text=text, title=(props.title or "").strip(), author=(props.author or "").strip(),
                     date=date, format="docx")
