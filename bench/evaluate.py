"""`python -m bench.evaluate`: retrieval quality on ../shared data, by task and split (the same
code as `make bench-quality`). It lives with the benchmarks, in the source checkout: bench/ is
not installed with the package."""

from __future__ import annotations

import sys

import click

from viko.settings import Settings

TASK_CHOICES = ("all", "sentences", "documents", "questions")


@click.command("eval")
@click.option("--split", type=click.Choice(["dev", "test", "all"]), default="all", show_default=True,
              help="Tune on dev only; test is for reporting.")
@click.option("--task", "tasks", type=click.Choice(TASK_CHOICES), multiple=True, default=("all",),
              show_default=True, help="Repeatable: sentences, documents, questions.")
@click.option("--no-ablation", is_flag=True, help="Skip the per-lever table (faster).")
@click.option("--no-write", is_flag=True, help="Print only; leave docs/benchmarks.md as it is.")
def eval_cmd(split: str, tasks: tuple[str, ...], no_ablation: bool, no_write: bool) -> None:
    """Measure retrieval quality: parallel sentences (NTREX, SIB-200), mixed-language NTREX
    documents, XQuAD-vi questions; BM25, plain dense and viko side by side. Prints the table
    and writes it to docs/benchmarks.md (section "quality"). Needs ../shared/data."""
    from bench.quality import SPLITS, TASKS, evaluate
    from bench.report import write_section

    settings = Settings.from_env()
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


if __name__ == "__main__":
    eval_cmd()
