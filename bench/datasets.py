"""Loaders for the evaluation data in ../shared/data, with the dev/test split of its README.

Tune on dev only: NTREX documents 0-61, SIB-200 train+dev, XQuAD articles 1-24.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

from viko.corpus.textnorm import nfc


def shared_dir() -> Path | None:
    env = os.environ.get("VIKO_SHARED")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve().parent.parent
    candidates += [here.parent / "shared", here / "shared"]
    for path in candidates:
        if (path / "data").is_dir():
            return path / "data"
    return None


@dataclass(frozen=True)
class ParallelDoc:
    doc_id: str
    vi: list[str]  # sentences
    ko: list[str]


def ntrex_documents(split: str) -> list[ParallelDoc]:
    """NTREX documents in order of first appearance; dev = 0-61, test = 62-122."""
    root = _need("ntrex")
    ids = (root / "docids.tsv").read_text(encoding="utf-8").splitlines()
    vi = (root / "vie.txt").read_text(encoding="utf-8").splitlines()
    ko = (root / "kor.txt").read_text(encoding="utf-8").splitlines()
    order: list[str] = []
    groups: dict[str, tuple[list[str], list[str]]] = {}
    for doc_id, v, k in zip(ids, vi, ko, strict=True):
        if doc_id not in groups:
            order.append(doc_id)
            groups[doc_id] = ([], [])
        groups[doc_id][0].append(nfc(v.strip()))
        groups[doc_id][1].append(nfc(k.strip()))
    docs = [ParallelDoc(d, *groups[d]) for d in order]
    return _split(docs, split, 62)


def sib200_pairs(split: str) -> list[tuple[str, str]]:
    """(vi, ko) sentence pairs; dev = train+dev files, test = test file."""
    root = _need("sib200")
    parts = ["train", "dev"] if split == "dev" else ["test"] if split == "test" else ["train", "dev", "test"]
    pairs = []
    for part in parts:
        vi = _tsv(root / f"vie_Latn.{part}.tsv")
        ko = _tsv(root / f"kor_Hang.{part}.tsv")
        for key in sorted(vi, key=int):
            if key in ko:
                pairs.append((vi[key], ko[key]))
    return pairs


def _tsv(path: Path) -> dict[str, str]:
    with open(path, encoding="utf-8", newline="") as fh:
        return {row["index_id"]: nfc(row["text"]) for row in csv.DictReader(fh, delimiter="\t")}


@dataclass(frozen=True)
class QA:
    question: str
    paragraph: int


def xquad_vi(split: str) -> tuple[list[str], list[QA]]:
    """All 240 paragraphs (the search space) and the questions of the split's articles."""
    root = _need("xquad")
    data = json.loads((root / "xquad.vi.json").read_text(encoding="utf-8"))["data"]
    paragraphs: list[str] = []
    questions: list[QA] = []
    for a, article in enumerate(data):
        wanted = split == "all" or (split == "dev") == (a < 24)
        for para in article["paragraphs"]:
            paragraphs.append(nfc(para["context"]))
            if wanted:
                questions.extend(QA(nfc(qa["question"]), len(paragraphs) - 1) for qa in para["qas"])
    return paragraphs, questions


def _split(items: list[ParallelDoc], split: str, cut: int) -> list[ParallelDoc]:
    if split == "dev":
        return items[:cut]
    if split == "test":
        return items[cut:]
    return items


def _need(name: str) -> Path:
    root = shared_dir()
    if root is None or not (root / name).is_dir():
        raise FileNotFoundError(f"../shared/data/{name} is not available")
    return root / name
