"""One module per document format; each turns bytes into an `Extracted` or raises
`ExtractionError` with a reason a person can act on."""

from __future__ import annotations

from dataclasses import dataclass


class ExtractionError(ValueError):
    """The content has no usable text; the message says why (shown in reports)."""


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str = ""
    date: str = ""
    author: str = ""
    sitename: str = ""
    format: str = ""
    encoding: str = ""
    lang_hint: str = ""
    note: str = ""  # why the text is partial (budget), shown in reports
