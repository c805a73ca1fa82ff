"""`viko counterpart ...`: a document's counterpart in the other language, and a translator's
decisions about it (kept in the catalogue across re-indexing; search ranking uses them)."""

from __future__ import annotations

import json

import click

from viko.cli_common import Context, fail, pass_ctx


@click.group("counterpart")
def counterpart_group() -> None:
    """A document's counterpart in the other language: show, confirm, reject, forget."""


@counterpart_group.command("show")
@click.argument("doc_id")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def counterpart_show(c: Context, doc_id: str, as_json: bool) -> None:
    """The counterpart of a document (confirmed > rejected > detected) and why."""
    from viko.corpus.counterparts import get_counterpart
    from viko.runtime import open_catalogue

    with open_catalogue(c.settings) as cat:
        if cat.get(doc_id) is None:
            fail(f"no document with id {doc_id!r}")
        link = get_counterpart(cat, doc_id)
    if as_json:
        click.echo(json.dumps(link.to_json() if link else None, ensure_ascii=False))
    elif link is None:
        click.echo(f"{doc_id}: no counterpart")
    else:
        what = {"confirmed": "confirmed translation", "claimed": "translation (detected)",
                "possible": "possible translation: confirm or reject it"}[link.kind]
        feats = ", ".join(f"{k} {v:+.2f}" for k, v in link.contributions().items())
        click.echo(f"{doc_id} -> {link.other_id}  ({what}, confidence {link.confidence:.2f})"
                   + "".join(f"\n  - {r}" for r in link.reasons()) + (f"\n  log-odds: {feats}" if feats else ""))


def _decide(c: Context, doc_id: str, other_id: str, decision: str | None, note: str = "") -> None:
    from viko.corpus.counterparts import CounterpartError, decide, forget
    from viko.runtime import open_catalogue

    with open_catalogue(c.settings) as cat:
        try:
            if decision is None:
                if not forget(cat, doc_id, other_id):
                    fail(f"no decision recorded for {doc_id} and {other_id}")
            else:
                decide(cat, doc_id, other_id, decision, note)
        except CounterpartError as exc:
            fail(str(exc), 2)
    click.echo(f"{doc_id} / {other_id}: {decision or 'decision withdrawn'} "
               "(run `viko align-all` to update the translation memory)")


@counterpart_group.command("confirm")
@click.argument("doc_id")
@click.argument("other_id")
@click.option("--note", default="")
@pass_ctx
def counterpart_confirm(c: Context, doc_id: str, other_id: str, note: str) -> None:
    """Record that OTHER_ID is the translation of DOC_ID (kept across re-indexing)."""
    _decide(c, doc_id, other_id, "confirmed", note)


@counterpart_group.command("reject")
@click.argument("doc_id")
@click.argument("other_id")
@click.option("--note", default="")
@pass_ctx
def counterpart_reject(c: Context, doc_id: str, other_id: str, note: str) -> None:
    """Record that the two documents are not translations of each other."""
    _decide(c, doc_id, other_id, "rejected", note)


@counterpart_group.command("forget")
@click.argument("doc_id")
@click.argument("other_id")
@pass_ctx
def counterpart_forget(c: Context, doc_id: str, other_id: str) -> None:
    """Withdraw a confirm/reject decision; the detector decides again."""
    _decide(c, doc_id, other_id, None)


def register(group: click.Group) -> None:
    group.add_command(counterpart_group)
