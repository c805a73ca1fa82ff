"""What every `viko` command module shares: the click context object, the one way to fail,
and query text checks. Command modules import this, never viko.cli, so the CLI's imports
read one way (viko.cli -> command modules -> this)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from viko.settings import Settings


class Context:
    """The click context object: the settings every command runs with."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings


pass_ctx: Callable[..., Any] = click.make_pass_decorator(Context)


def fail(message: str, code: int = 1) -> None:
    click.echo(f"viko: {message}", err=True)
    sys.exit(code)


class QueryTextError(ValueError):
    """A query that is not text (undecodable bytes): reported per query, never a traceback."""


def query_from_argv(arg: str) -> str:
    """A query as given on the command line. Python hands undecodable argv bytes over as
    lone surrogates (PEP 383); no analyzer can take those."""
    try:
        arg.encode("utf-8")
    except UnicodeEncodeError as exc:
        raw = arg.encode("utf-8", "surrogateescape")
        raise QueryTextError(_not_utf8(raw, exc.start)) from None
    return arg


def query_from_line(raw: bytes) -> str:
    """One stdin line of `search -`, decoded strictly: a bad line is that query's error."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise QueryTextError(_not_utf8(raw, exc.start)) from None


def _not_utf8(raw: bytes, where: int) -> str:
    return f"the query is not UTF-8 text (byte {raw[where:where + 1]!r} at position {where})"


def engine_or_fail(builder: Any, settings: Settings) -> Any:
    """builder(settings), or a clear message and exit 1 when the index or catalogue cannot be used."""
    from viko.corpus.catalogue import CatalogueError
    from viko.indexer.encoders import EncoderError
    from viko.indexer.store import UnusableIndex

    try:
        return builder(settings)
    except (UnusableIndex, CatalogueError, EncoderError) as exc:
        fail(str(exc))
