"""Cells of the spreadsheets viko writes (search exports, session agendas).

Their text comes from documents and registration forms that strangers wrote: a cell that a
spreadsheet would read as a formula (starting with =, +, -, @, a tab or a carriage return) is
written with a leading apostrophe, so a title cannot run code when the file is opened."""

from __future__ import annotations

from typing import Any

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would evaluate, made literal; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value
