"""Translators' workbench commands: align, align-all, concordance, export-tmx, import-tmx
(glossary and counterpart have modules of their own, registered here)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from viko.cli_common import Context, fail, pass_ctx

if TYPE_CHECKING:
    from viko.align_all import IndexRun


def after_index(run: IndexRun) -> None:
    """What `viko index` says of align-all (viko.align_all.index_and_align ran it): a failure
    is reported, and the new index stays live."""
    if run.align is not None:
        click.echo(run.align.summary())
    else:
        click.echo(f"viko: the index is up to date, but aligning translations failed: {run.align_error} "
                   "(run `viko align-all` to retry)", err=True)


def align_progress(line: str) -> None:
    """align-all's progress (each pair's cost and the time left) goes to stderr."""
    click.echo(f"  {line}", err=True)


@click.command("align-all")
@click.option("--no-mine", is_flag=True, help="Skip parallel sentence mining across non-counterparts.")
@pass_ctx
def align_all_cmd(c: Context, no_mine: bool) -> None:
    """Detect counterparts, align every confirmed or confident pair, mine parallel sentences;
    store everything as translation memory (run by `viko index` too; unchanged pairs are kept)."""
    from viko.align_all import run_align_all
    from viko.corpus.catalogue import CatalogueError
    from viko.indexer.encoders import EncoderError
    from viko.indexer.store import UnusableIndex

    try:
        stats = run_align_all(c.settings, do_mine=False if no_mine else None, progress=align_progress)
    except (UnusableIndex, CatalogueError, EncoderError) as exc:
        fail(str(exc))
    click.echo(stats.summary())


@click.command("align")
@click.argument("doc_a")
@click.argument("doc_b")
@click.option("--json", "as_json", is_flag=True, help='One object: {"links": [{"a", "b", "score", "strong"}], "a_sentences", "b_sentences", "strong_sentences"}.')
@pass_ctx
def align_cmd(c: Context, doc_a: str, doc_b: str, as_json: bool) -> None:
    """Align the sentences of two documents (1-1, 1-2, 2-1 and unmatched) and print the links."""
    from viko.align_all import sentence_embedder
    from viko.runtime import open_catalogue
    from viko.workbench.align import align_documents
    from viko.workbench.evidence import ClaimParams, alignment_strength

    with open_catalogue(c.settings) as cat:
        docs = cat.get_many([doc_a, doc_b])
    for d in (doc_a, doc_b):
        if d not in docs:
            fail(f"no document with id {d!r} (see `viko status`; ids are those of `viko import`)")
    embedder = sentence_embedder(c.settings)
    alignment = align_documents(docs[doc_a], docs[doc_b], embedder.embed)
    strong = alignment_strength(alignment, embedder.embed)
    embedder.save()
    held = sum(len(link.a) + len(link.b) for link, ok in zip(alignment.links, strong, strict=True) if ok)
    total = len(alignment.a_sentences) + len(alignment.b_sentences)
    if as_json:
        out = alignment.to_json()
        out["links"] = [{**j, "strong": ok} for j, ok in zip(out["links"], strong, strict=True)]  # type: ignore[call-overload]
        click.echo(json.dumps({**out, "strong_sentences": held}, ensure_ascii=False))
        return
    for link, ok in zip(alignment.links, strong, strict=True):
        score = f"  {link.score:.3f}{'' if ok else ' (weak: not stated as a translation)'}"
        click.echo(click.style(f"{_ids(link.a)} <-> {_ids(link.b)}", bold=True) + (score if link.a and link.b else "  (unmatched)"))
        for i in link.a:
            click.echo(f"  a: {alignment.a_sentences[i]}")
        for j in link.b:
            click.echo(f"  b: {alignment.b_sentences[j]}")
    click.echo(f"{held} of {total} sentences in strong links (a cosine of {ClaimParams().min_cosine} or more, above every "
               f"rival sentence)" + ("" if held else ": these two documents do not read as translations of each other"))


def _ids(indexes: tuple[int, ...]) -> str:
    return "[" + ",".join(str(i) for i in indexes) + "]"


@click.command("concordance")
@click.argument("query")
@click.option("--lang", type=click.Choice(["all", "vi", "ko"]), default="all", show_default=True,
              help="Side the query must match on.")
@click.option("--limit", type=click.IntRange(1, 1000), default=None,
              help="Pairs to show [default: one page, as on the web page (20)].")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def concordance_cmd(c: Context, query: str, lang: str, limit: int | None, as_json: bool) -> None:
    """Aligned sentence pairs containing a word or phrase (either language), match highlighted."""
    from viko.corpus.glossary import load_glossary
    from viko.corpus.tm import ORIGIN_NOTES
    from viko.runtime import open_catalogue
    from viko.workbench.concordance import PAGE_SIZE, ConcordanceError, concordance

    limit = PAGE_SIZE if limit is None else limit

    with open_catalogue(c.settings) as cat:
        try:
            res = concordance(cat, query, lang=lang, limit=limit, glossary=load_glossary(cat, c.settings.glossary))
        except ConcordanceError as exc:
            fail(str(exc), 2)
    if as_json:
        click.echo(json.dumps(res.to_json(), ensure_ascii=False))
        return
    mined = f" and {res.look_alikes} look-alike pairs (mined, not translations)" if res.look_alikes else ""
    click.echo(f"{res.total - res.look_alikes} translation units{mined} ({res.took_ms:.1f} ms)")
    from viko.search.snippets import highlight

    if res.linked:
        click.echo("Word alignment (not in the glossary; marked in italics): " + "; ".join(
            f"{t.form} (in {t.together} of {t.units} units with the query, Dice {t.dice:.2f})" for t in res.linked))
    for hit in res.hits:
        u = hit.unit
        for side, text, spans, doc in (("vi", u.vi, hit.vi_spans, u.vi_doc), ("ko", u.ko, hit.ko_spans, u.ko_doc)):
            origins = iter(hit.origins(side))
            shown = "".join((click.style(p, italic=True, underline=True) if next(origins) == "alignment" else
                             click.style(p, bold=True, underline=True)) if m else p
                            for p, m in highlight(text, list(spans)))
            click.echo(f"  {side}: {shown}" + (f"  [{doc}]" if doc else ""))
        click.echo(f"     {ORIGIN_NOTES.get(u.origin, u.origin)}{' ' + u.source if u.source else ''}, score {u.score:.3f}\n")


@click.command("export-tmx")
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--query", default=None, help="Only the units of this concordance search.")
@click.option("--pair", nargs=2, default=None, help="Only the units of this document pair (two ids).")
@click.option("--include-mined", is_flag=True,
              help="Also the mined sentence pairs (look-alikes across documents that are not translations).")
@pass_ctx
def export_tmx_cmd(c: Context, out: Path, query: str | None, pair: tuple[str, str] | None,
                   include_mined: bool) -> None:
    """Write translation units as TMX 1.4b (all of them, a document pair, or a search): the
    aligned translations and imported memories; mined pairs only with --include-mined."""
    from viko.corpus.tm import TranslationMemory
    from viko.runtime import open_catalogue
    from viko.workbench.concordance import ConcordanceError, concordance
    from viko.workbench.tmx import write_tmx

    with open_catalogue(c.settings) as cat:
        if query is not None:
            try:
                units = [h.unit for h in concordance(cat, query, limit=1_000_000).hits
                         if include_mined or h.unit.origin != "mined"]
            except ConcordanceError as exc:
                fail(str(exc), 2)
        else:
            units = list(TranslationMemory(cat).units(pair=tuple(pair) if pair else None,  # type: ignore[arg-type]
                                                      include_mined=include_mined))
        tmp = out.with_name(out.name + ".tmp")
        try:
            n = write_tmx(units, tmp)
            tmp.replace(out)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            fail(f"cannot write {out}: {exc.strerror or exc}")
    click.echo(f"{out}: {n} translation units")


@click.command("import-tmx")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_ctx
def import_tmx_cmd(c: Context, files: tuple[Path, ...]) -> None:
    """Import TMX files (vi and ko variants) as searchable concordance; re-importing a file
    name replaces its units."""
    from viko.runtime import open_catalogue
    from viko.workbench.tmx import import_tmx

    ok = False
    with open_catalogue(c.settings) as cat:
        for path in files:
            report = import_tmx(cat, path)
            for message in report.errors:
                click.echo(f"  {message}", err=True)
            click.echo(f"{path}: {report.summary()}")
            ok = ok or report.added > 0
    if not ok:
        sys.exit(1)


def register(group: click.Group) -> None:
    from viko.cli_glossary import glossary_group

    for command in (align_cmd, align_all_cmd, concordance_cmd, export_tmx_cmd, import_tmx_cmd, glossary_group):
        group.add_command(command)
