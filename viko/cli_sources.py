"""`viko sources ...`: watched sources from the shell (add, list, remove, run-due, history).

`run-due` is what cron calls: it queues the crawls that are due and runs them here, politely
and incrementally, then brings the index up to date; when a `viko serve` on the same data
directory runs the jobs, it leaves the crawls queued for it (and says so). Whoever runs these
holds the data directory, so they act as the operator; each change goes to the audit log.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Any

import click

from viko.cli_common import Context, fail, pass_ctx
from viko.corpus.document import TYPES

OPERATOR_NAME = "cli"


@click.group("sources")
def sources_group() -> None:
    """Watched sources: sites crawled on a schedule (add, list, remove, run-due, history)."""


@sources_group.command("add")
@click.argument("name")
@click.argument("seeds", nargs=-1, required=True)
@click.option("--schedule", type=click.Choice(["hourly", "daily", "weekly"]), default="daily", show_default=True)
@click.option("--same-host/--any-host", default=True, show_default=True, help="Stay on the seeds' hosts.")
@click.option("--include", default="", help="Only URLs matching this regular expression.")
@click.option("--exclude", default="", help="Skip URLs matching this regular expression.")
@click.option("--type", "doc_type", type=click.Choice(list(TYPES)), default=None,
              help="Document type of every page (else guessed per page).")
@click.option("--visibility", default="public", show_default=True, help="public, internal or group:NAME.")
@click.option("--max-pages", type=click.IntRange(1), default=1000, show_default=True, help="Pages fetched per run.")
@click.option("--max-depth", type=click.IntRange(0), default=5, show_default=True, help="Links away from a seed.")
@pass_ctx
def sources_add(c: Context, name: str, seeds: tuple[str, ...], schedule: str, same_host: bool, include: str,
                exclude: str, doc_type: str | None, visibility: str, max_pages: int, max_depth: int) -> None:
    """Register the source NAME crawled from SEED URLs; its first crawl is due at once."""
    from viko.corpus import sources
    from viko.corpus.accounts import Accounts
    from viko.runtime import open_catalogue

    try:
        source = sources.check_source(name, seeds, same_host=same_host, include=include, exclude=exclude,
                                      type=doc_type or "", visibility=visibility, schedule=schedule,
                                      max_pages=max_pages, max_depth=max_depth)
        with open_catalogue(c.settings) as cat:
            added = sources.add(cat, source, OPERATOR_NAME)
            Accounts(cat).audit(OPERATOR_NAME, "source add", added.name)
    except sources.SourceError as exc:
        fail(str(exc), 2)
        return
    click.echo(f"added source {added.id} {added.name!r} ({added.schedule}, {added.visibility}): "
               f"{' '.join(added.seeds)}; due now (`viko sources run-due`, or a running `viko serve`)")


@sources_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source.")
@pass_ctx
def sources_list(c: Context, as_json: bool) -> None:
    """Every source: schedule, visibility, last run and its counts, next due time."""
    from viko.corpus import sources
    from viko.runtime import open_catalogue

    with open_catalogue(c.settings) as cat:
        found = [(s, sources.history(cat, s.id, 1)) for s in sources.all_sources(cat)]
    for source, runs in found:
        if as_json:
            click.echo(json.dumps({**asdict(source), "last_run": _run(runs[0]) if runs else None}, ensure_ascii=False))
            continue
        last = f"last run {runs[0].started_at} {runs[0].state}: {_counts(runs[0])}" if runs else "never run"
        click.echo(f"{source.id:>3} {source.name}  [{source.schedule}, {source.visibility}]  {' '.join(source.seeds)}\n"
                   f"    {last}; next due {source.next_due_at}")
    if not found and not as_json:
        click.echo("no watched sources: `viko sources add NAME URL...`")


@sources_group.command("remove")
@click.argument("key")
@pass_ctx
def sources_remove(c: Context, key: str) -> None:
    """Forget the source KEY (name or id) and its history; its documents stay."""
    from viko.corpus import sources
    from viko.corpus.accounts import Accounts
    from viko.runtime import open_catalogue

    with open_catalogue(c.settings) as cat:
        source = sources.find(cat, key)
        if source is None:
            fail(f"no source {key!r} (`viko sources list`)")
            return
        sources.remove(cat, source.id)
        Accounts(cat).audit(OPERATOR_NAME, "source remove", source.name)
    click.echo(f"removed source {source.id} {source.name!r}")


@sources_group.command("run-due")
@pass_ctx
def sources_run_due(c: Context) -> None:
    """Crawl every source that is due, then update the index (what cron runs; a running
    `viko serve` does the same on its own, so this then only queues them for it)."""
    from viko.jobs import run_due

    done = run_due(c.settings, actor=OPERATOR_NAME)
    if done.busy:
        click.echo(f"{len(done.queued)} due crawls queued for the server that runs this data directory's jobs "
                   f"({done.busy})")
        return
    for job in done.ran:
        click.echo(f"job {job.id} {job.state}: {job.message}")
    if not done.ran:
        click.echo("no source is due")
    if any(job.state == "failed" for job in done.ran):
        sys.exit(1)


@sources_group.command("history")
@click.argument("key")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run, failures included.")
@pass_ctx
def sources_history(c: Context, key: str, limit: int, as_json: bool) -> None:
    """The crawls of the source KEY (name or id), newest first: pages new, changed, unchanged,
    failed and skipped, and each failure's reason."""
    from viko.corpus import sources
    from viko.runtime import open_catalogue

    with open_catalogue(c.settings) as cat:
        source = sources.find(cat, key)
        if source is None:
            fail(f"no source {key!r} (`viko sources list`)")
            return
        runs = sources.history(cat, source.id, limit)
    for run in runs:
        if as_json:
            click.echo(json.dumps(_run(run), ensure_ascii=False))
            continue
        click.echo(f"{run.started_at} {run.state}: {_counts(run)}" + (f"\n    {run.message}" if run.state == "failed" else ""))
        for failure in run.failures:
            click.echo(f"    {failure.get('outcome')} {failure.get('url')}: {failure.get('reason')}")
    if not runs and not as_json:
        click.echo(f"{source.name} has not been crawled yet")


def _run(run: Any) -> dict[str, Any]:
    return {**asdict(run), "failures": list(run.failures)}


def _counts(run: Any) -> str:
    return (f"{run.new} new, {run.changed} changed, {run.unchanged} unchanged ({run.not_modified} not modified), "
            f"{run.failed} failed, {run.skipped} skipped")


def register(group: click.Group) -> None:
    group.add_command(sources_group)
