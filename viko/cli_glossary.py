"""`viko glossary ...`: the termbase (list, add, remove, TBX import and export)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from viko.cli_common import Context, fail, pass_ctx


@click.group("glossary")
def glossary_group() -> None:
    """Bilingual term pairs: list, add, remove, import-tbx, export-tbx."""


@glossary_group.command("list")
@click.argument("query", required=False, default="")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def glossary_list(c: Context, query: str, as_json: bool) -> None:
    """Every entry, or those containing QUERY on either side or in the note."""
    from viko.corpus.glossary import open_glossary
    from viko.runtime import open_catalogue

    with open_catalogue(c.settings) as cat:
        entries = open_glossary(cat, c.settings.glossary).entries(query)
    for e in entries:
        if as_json:
            click.echo(json.dumps(e.to_json(), ensure_ascii=False))
        else:
            extra = " · ".join(x for x in (e.domain, e.note) if x)
            click.echo(f"{e.id:>5}  {e.vi}  =  {e.ko}" + (f"   ({extra})" if extra else ""))


@glossary_group.command("add")
@click.argument("vi")
@click.argument("ko")
@click.option("--note", default="", help="Usage note, source, definition.")
@click.option("--domain", default="", help="Subject field (agriculture, energy, ...).")
@pass_ctx
def glossary_add(c: Context, vi: str, ko: str, note: str, domain: str) -> None:
    """Add a term pair (or update the note of an existing one)."""
    from viko.corpus.glossary import GlossaryError, open_glossary
    from viko.runtime import open_catalogue

    with open_catalogue(c.settings) as cat:
        try:
            entry = open_glossary(cat, c.settings.glossary).add(vi, ko, note, domain)
        except GlossaryError as exc:
            fail(str(exc), 2)
    click.echo(f"{entry.id}: {entry.vi} = {entry.ko}")


@glossary_group.command("remove")
@click.argument("entry_id", type=int)
@pass_ctx
def glossary_remove(c: Context, entry_id: int) -> None:
    """Remove the entry with this id (see `viko glossary list`)."""
    from viko.corpus.glossary import open_glossary
    from viko.runtime import open_catalogue

    with open_catalogue(c.settings) as cat:
        if not open_glossary(cat, c.settings.glossary).remove(entry_id):
            fail(f"no glossary entry with id {entry_id}")
    click.echo(f"removed {entry_id}")


@glossary_group.command("import-tbx")
@click.argument("path", type=click.Path(path_type=Path))
@pass_ctx
def glossary_import_tbx(c: Context, path: Path) -> None:
    """Merge a TBX termbase (TBX v3 or v2; vi and ko terms) into the glossary."""
    from viko.corpus.glossary import GlossaryError, open_glossary
    from viko.runtime import open_catalogue
    from viko.workbench.tbx import read_tbx

    report = read_tbx(path)
    for message in report.errors:
        click.echo(f"  {message}", err=True)
    added = 0
    with open_catalogue(c.settings) as cat:
        store = open_glossary(cat, c.settings.glossary)
        for entry in report.entries:
            try:
                store.add_many([entry])
                added += 1
            except GlossaryError as exc:
                click.echo(f"  skipped {entry.vi!r} = {entry.ko!r}: {exc}", err=True)
    click.echo(f"{path}: {added} term pairs imported, {report.skipped} concepts without both vi and ko")
    if not added:
        sys.exit(1)


@glossary_group.command("export-tbx")
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@pass_ctx
def glossary_export_tbx(c: Context, out: Path) -> None:
    """Write the glossary as TBX (TBX-Basic, ISO 30042:2019)."""
    from viko.corpus.glossary import open_glossary
    from viko.runtime import open_catalogue
    from viko.workbench.tbx import write_tbx

    with open_catalogue(c.settings) as cat:
        entries = open_glossary(cat, c.settings.glossary).entries()
    try:
        n = write_tbx(entries, out)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    click.echo(f"{out}: {n} term pairs")
