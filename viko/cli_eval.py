"""`viko eval`: retrieval quality on ../shared data (the same code as `make bench-quality`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from viko.settings import Settings

TASK_CHOICES = ("all", "sentences", "documents", "questions")


def _use_checkout_benchmarks() -> None:
    """The benchmarks are measuring tools of the source checkout, not part of the installed
    package: make the checkout's bench/ importable, or say why it cannot be."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "bench" / "quality.py").is_file():
        raise click.ClickException("viko eval runs from a source checkout (bench/ is not installed "
                                   "with the package): clone the repository and run `make bench-quality`")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))


@click.command("eval")
@click.option("--split", type=click.Choice(["dev", "test", "all"]), default="all", show_default=True,
              help="Tune on dev only; test is for reporting.")
@click.option("--task", "tasks", type=click.Choice(TASK_CHOICES), multiple=True, default=("all",),
              show_default=True, help="Repeatable: sentences, documents, questions.")
@click.option("--no-ablation", is_flag=True, help="Skip the per-lever table (faster).")
@click.option("--no-write", is_flag=True, help="Print only; leave docs/benchmarks.md as it is.")
@click.pass_obj
def eval_cmd(ctx: object, split: str, tasks: tuple[str, ...], no_ablation: bool, no_write: bool) -> None:
    """Measure retrieval quality: parallel sentences (NTREX, SIB-200), mixed-language NTREX
    documents, XQuAD-vi questions; BM25, plain dense and viko side by side. Prints the table
    and writes it to docs/benchmarks.md (section "quality"). Needs ../shared/data."""
    _use_checkout_benchmarks()
    from bench.quality import SPLITS, TASKS, evaluate
    from bench.report import write_section

    settings: Settings = getattr(ctx, "settings", None) or Settings.from_env()
    splits = SPLITS if split == "all" else (split,)
    chosen = TASKS if "all" in tasks else tuple(t for t in TASKS if t in tasks)
    try:
        markdown = evaluate(splits, chosen, settings=settings, ablation=not no_ablation,
                            log=lambda line: click.echo(line, err=True))
    except FileNotFoundError as exc:
        click.echo(f"viko: {exc}", err=True)
        sys.exit(1)
    click.echo(markdown)
    if not no_write:
        write_section("quality", markdown)
        click.echo("written to docs/benchmarks.md (section quality)", err=True)
