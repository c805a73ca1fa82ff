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
    sector, region, contact, lang, group, or the Vietnamese and Korean names registration
    sheets use: "Tên doanh nghiệp", "Nhu cầu công nghệ", "Lĩnh vực", "기업명", "기술명", "분야"...;
    a title row above the header and merged cells are read; other columns are kept) or JSONL.
    How the columns were read is printed first. Bad rows are reported with their row numbers
    and skipped; run `viko index` afterwards."""
    from viko.matching.spreadsheet import SpreadsheetError, column_mapping, import_records
    from viko.runtime import open_catalogue

    failed = False
    with open_catalogue(c.settings) as cat:
        for path in files:
            if path.suffix.lower() != ".jsonl":
                try:
                    row, mapping = column_mapping(path)
                    click.echo(f"{path}: header on row {row}; columns: "
                               + ", ".join(f"{shown!r} -> {name}" for shown, name in mapping), err=True)
                except SpreadsheetError:
                    pass  # import_records reports it
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
@click.option("--json", "as_json", is_flag=True, help='{"id", "kind", "matches": [{"id", "lang", "title", "score", "weak", "why"}]}')
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
    rec, party = result.record, result.party
    click.echo(click.style(f"{rec.kind} [{rec.lang}] {rec.title}", bold=True) + f"  {rec.id}")
    if party is not None and len(party.members) > 1:
        others = [f"[{m.lang}] {m.id}" for m in party.members if m.id != rec.id]
        click.echo(f"  one party with {', '.join(others)}: matched from every version")
    if not any(not m.weak for m in result.matches):
        click.echo("  no fit above the weak line: the closest records, for reference")
    for rank, m in enumerate(result.matches, 1):
        if m.weak and rank > 1 and not result.matches[rank - 2].weak:
            click.echo("  weak from here (under the score unrelated pairs reach): for reference")
        versions = m.party.members if m.party is not None else (m.record,)
        head = f"{rank:>2}. {m.party.organisation if m.party is not None else m.record.organisation}"
        click.echo(click.style(head, bold=True) + f"  ({m.score:.2f}{', weak' if m.weak else ''})")
        for v in versions:
            click.echo(f"    [{v.lang}] {v.title}  {v.id}")
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
@click.option("--start", default=None, help="Clock time of the first slot, HH:MM (default 09:00).")
@click.option("--slot-minutes", type=click.IntRange(1, 600), default=None, help="Length of a slot (default 20).")
@click.option("--breaks", default=None, help="Breaks as SLOT:MINUTES, comma-separated: 2:15 is 15 minutes after slot 2.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Write agenda.csv, agenda.xlsx, agenda.html and briefs.html here.")
@click.option("--json", "as_json", is_flag=True, help="The schedule as JSON.")
@pass_ctx
def plan_session_cmd(c: Context, tables: int | None, slots: int | None, per_party: int | None, floor: float | None,
                     demands: str | None, offers: str | None, absent: str | None, start: str | None,
                     slot_minutes: int | None, breaks: str | None, out_dir: Path | None, as_json: bool) -> None:
    """Propose the meetings of a matching session: who meets whom, at which table, in which
    slot, maximising the total match score (an integer program solved by HiGHS). A party is an
    organisation's record in all its languages: the limits count parties. Locked and removed
    meetings and the clock from the web planner are kept."""
    from viko.matching.agenda import day_of
    from viko.matching.clock import ClockError, parse_breaks
    from viko.matching.plan import PlanError
    from viko.matching.printout import write_printouts
    from viko.matching.session import SessionStore, plan_for

    matcher = _matcher(c)
    config = SessionStore(c.settings.data_dir).load()
    changes: dict[str, object] = {"tables": tables, "slots": slots, "per_party": per_party, "floor": floor,
               "demands": _ids(demands) if demands is not None else None,
               "offers": _ids(offers) if offers is not None else None,
               "absent": _ids(absent) if absent is not None else None, "start": start,
               "slot_minutes": slot_minutes}
    try:
        changes["breaks"] = parse_breaks(breaks) if breaks is not None else None
        config = config.with_(**{k: v for k, v in changes.items() if v is not None})
        config.clock.check()
        session = plan_for(matcher, config)
    except (PlanError, ClockError) as exc:
        fail(str(exc), 2)
    for message in session.errors:
        click.echo(f"  {message}", err=True)
    if out_dir is not None:
        for path in write_printouts(day_of(session.plan, matcher, config.clock, config.slots), matcher, out_dir):
            click.echo(f"wrote {path}", err=True)
    if as_json:
        times = config.clock.times(config.slots)
        body = session.plan.to_json()
        for meeting in body["meetings"]:  # type: ignore[attr-defined]
            meeting["time"] = "–".join(times[meeting["slot"] - 1])
        click.echo(json.dumps({**body, "tables": config.tables, "slots": config.slots, "per_party": config.per_party,
                               "floor": config.floor, "start": config.start, "slot_minutes": config.slot_minutes,
                               "breaks": [list(b) for b in config.breaks]}, ensure_ascii=False))
        return
    plan, clock = session.plan, config.clock
    click.echo(f"{len(plan.meetings)} meetings, total score {plan.total:.2f} ({plan.status})")
    for m in plan.meetings:
        d, o = matcher.party(m.demand), matcher.party(m.offer)
        click.echo(f"  {clock.label(m.slot + 1, config.slots)} table {m.table + 1}: {d.organisation or d.title}"
                   f" ↔ {o.organisation or o.title}  ({m.score:.2f})" + ("  locked" if m.locked else ""))


def register(group: click.Group) -> None:
    for command in (import_records_cmd, match_cmd, plan_session_cmd):
        group.add_command(command)
