"""DOCX by python-docx: paragraphs and table cells in document order.

python-docx loads every part of the package into memory, so the archive is judged first by
its declared part sizes and compression ratios (see corpus/formats/budget.py)."""

from __future__ import annotations

import io
import zipfile
import zlib

import docx
from docx.document import Document as DocxDocument
from docx.table import Table
from docx.text.paragraph import Paragraph

from viko.corpus.formats import Extracted, ExtractionError
from viko.corpus.formats.budget import DEFAULT_BUDGET, Budget, Meter, TextCollector, kept_note


def _blocks(document: DocxDocument, lines: TextCollector) -> None:
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            line = block.text
        elif isinstance(block, Table):
            for row in block.rows:
                cells = list(dict.fromkeys(c.text.strip() for c in row.cells))  # merged cells repeat
                if not _add(lines, " | ".join(c for c in cells if c)):
                    return
            continue
        else:
            continue
        if not _add(lines, line):
            return


def _add(lines: TextCollector, line: str) -> bool:
    return not line.strip() or lines.add(line)


def _check_parts(content: bytes, budget: Budget) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            Meter(budget).check_zip(zf)
    except zipfile.BadZipFile as exc:
        raise ExtractionError(f"unreadable DOCX: {exc}") from exc


def extract_docx(content: bytes, budget: Budget = DEFAULT_BUDGET) -> Extracted:
    _check_parts(content, budget)
    lines = TextCollector(budget)
    try:
        document = docx.Document(io.BytesIO(content))
        _blocks(document, lines)
        props = document.core_properties
    except (zipfile.BadZipFile, KeyError, ValueError, zlib.error, EOFError) as exc:
        raise ExtractionError(f"unreadable DOCX: {exc}") from exc
    text = lines.text()
    if not text.strip():
        raise ExtractionError("DOCX has no text")
    date = props.created.date().isoformat() if props.created else ""
    return Extracted(text=text, title=(props.title or "").strip(), author=(props.author or "").strip(),
                     date=date, format="docx", note=kept_note(budget) if lines.cut else "")
