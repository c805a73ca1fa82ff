"""Technology matchmaking commands: import-records, match, plan-session."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from viko.cli_common import Context, engine_or_fail, fail, pass_ctx


def _matcher(c: Context) -> Any:
    from viko.matching.service import load_matcher
    from viko.runtime import build_engine

    engine = engine_or_fail(build_engine, c.settings)
    return load_matcher(c.settings.catalogue_path, engine)


def _ids(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


@click.command("import-records")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--type", "kind", type=click.Choice(["offer", "demand"]), required=True,
              help="What every row of the files is.")
@pass_ctx
def import_records_cmd(c: Context, files: tuple[Path, ...], kind: str) -> None:
    """Import offers or demands from CSV/TSV/XLSX (header row: title, text, organisation,
    sector, region, contact, lang; other columns are kept) or JSONL. Bad rows are reported
    with their row numbers and skipped; run `viko index` afterwards."""
    from viko.matching.spreadsheet import import_records
    from viko.runtime import open_catalogue

    failed = False
    with open_catalogue(c.settings) as cat:
        for path in files:
            report = import_records(cat, path, kind)
            for row, message in report.errors:
                click.echo(f"  skipped {path}:{row}: {message}" if row else f"  {message}", err=True)
            click.echo(f"{path}: {report.summary()}")
            failed = failed or (report.ok == 0 and bool(report.errors))
    if failed:
        sys.exit(1)


@click.command("match")
@click.argument("record_id")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help='{"id", "kind", "matches": [{"id", "lang", "title", "score", "why"}]}')
@pass_ctx
def match_cmd(c: Context, record_id: str, limit: int, as_json: bool) -> None:
    """For a demand, the offers that answer it; for an offer, the demands it answers; best
    first, each with why (matching passages, shared and glossary terms, sector, region)."""
    from viko.matching.match import MatchError

    matcher = _matcher(c)
    try:
        result = matcher.match(record_id, limit=limit)
    except MatchError as exc:
        fail(f"{exc}: `viko match` takes the id of an offer or a demand", 2)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    rec = result.record
    click.echo(click.style(f"{rec.kind} [{rec.lang}] {rec.title}", bold=True) + f"  {rec.id}")
    for rank, m in enumerate(result.matches, 1):
        click.echo(click.style(f"{rank:>2}. [{m.record.lang}] {m.record.title}", bold=True) + f"  ({m.score:.2f})  {m.record.id}")
        why = m.why
        terms = [f"{vi}↔{ko}" for vi, ko in why.glossary] + list(why.shared)
        line = f"    sector: {', '.join(why.sectors) or '-'}  region: {why.region or '-'}"
        click.echo(line + (f"  terms: {', '.join(terms)}" if terms else ""))


@click.command("plan-session")
@click.option("--tables", type=click.IntRange(1, 500), default=None, help="Tables (default: the saved session's, else 4).")
@click.option("--slots", type=click.IntRange(1, 100), default=None, help="Time slots (default 4).")
@click.option("--per-party", type=click.IntRange(1, 100), default=None, help="Most meetings per party (default 2).")
@click.option("--floor", type=float, default=None, help="Pairs scoring under this are never proposed (default 0.45).")
@click.option("--demands", default=None, help="Comma-separated demand ids (default: every demand).")
@click.option("--offers", default=None, help="Comma-separated offer ids (default: every offer).")
@click.option("--absent", default=None, help="Comma-separated ids of parties that will not come.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Write agenda.csv, agenda.xlsx, agenda.html and briefs.html here.")
@click.option("--json", "as_json", is_flag=True, help="The schedule as JSON.")
@pass_ctx
def plan_session_cmd(c: Context, tables: int | None, slots: int | None, per_party: int | None, floor: float | None,
                     demands: str | None, offers: str | None, absent: str | None, out_dir: Path | None,
                     as_json: bool) -> None:
    """Propose the meetings of a matching session: who meets whom, at which table, in which
    slot, maximising the total match score (an integer program solved by HiGHS). Locked and
    removed meetings from the web planner are kept."""
    from viko.matching.plan import PlanError
    from viko.matching.printout import write_printouts
    from viko.matching.session import SessionStore, plan_for

    matcher = _matcher(c)
    config = SessionStore(c.settings.data_dir).load()
    changes = {"tables": tables, "slots": slots, "per_party": per_party, "floor": floor,
               "demands": _ids(demands) if demands is not None else None,
               "offers": _ids(offers) if offers is not None else None,
               "absent": _ids(absent) if absent is not None else None}
    config = config.with_(**{k: v for k, v in changes.items() if v is not None})
    try:
        session = plan_for(matcher, config)
    except PlanError as exc:
        fail(str(exc), 2)
    for message in session.errors:
        click.echo(f"  {message}", err=True)
    if out_dir is not None:
        for path in write_printouts(session.plan, matcher, out_dir):
            click.echo(f"wrote {path}", err=True)
    if as_json:
        click.echo(json.dumps({**session.plan.to_json(), "tables": config.tables, "slots": config.slots,
                               "per_party": config.per_party, "floor": config.floor}, ensure_ascii=False))
        return
    plan = session.plan
    click.echo(f"{len(plan.meetings)} meetings, total score {plan.total:.2f} ({plan.status})")
    for m in plan.meetings:
        click.echo(f"  slot {m.slot + 1} table {m.table + 1}: {m.demand} ↔ {m.offer}  ({m.score:.2f})"
                   + ("  locked" if m.locked else ""))


def register(group: click.Group) -> None:
    for command in (import_records_cmd, match_cmd, plan_session_cmd):
        group.add_command(command)
