"""Sentence splitting and sentence-aware chunking with overlap.

Chunks keep whole sentences, so a passage shown as a snippet or aligned for translators
never starts mid-sentence; consecutive chunks share `overlap` sentences so that a fact
spanning a boundary is still inside one chunk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A sentence ends at . ! ? … (and CJK/Korean full stops) followed by space and a new start.
_END = re.compile(r"(?<=[.!?…。？！])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[\w\uac00-\ud7a3])")
# Abbreviations that end with a period but not a sentence.
_ABBREV = re.compile(
    r"(?:\b(?:TP|Tp|TS|ThS|PGS|GS|KS|BS|Mr|Mrs|Ms|Dr|St|No|Co|Ltd|Inc|vs|etc|e\.g|i\.e|"
    r"U\.S|Q|P|H|Tr|tr|Số|số)\.|\b[A-ZĐ]\.)$"
)
MAX_SENTENCE_CHARS = 1200
# Target passage length: about one paragraph, well inside the encoder's 512 tokens; 600 gave
# the quality tables in docs/benchmarks.md (other sizes were not measured: each re-embeds all).
CHUNK_CHARS = 600


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    lang: str
    seq: int
    start: int
    end: int
    text: str


def split_sentences(text: str, segmented: bool = False) -> list[Span]:
    """Sentence spans (character offsets into text). Paragraph breaks always end a sentence;
    with segmented=True every line is one sentence, exactly as the source gave it."""
    spans: list[Span] = []
    offset = 0
    for line in text.split("\n"):
        start = offset
        offset += len(line) + 1
        if not line.strip():
            continue
        if segmented:
            spans.append(_trim(text, start, start + len(line)))
            continue
        spans.extend(_split_line(text, start, line))
    return [s for s in spans if s.end > s.start]


def _split_line(text: str, base: int, line: str) -> list[Span]:
    out: list[Span] = []
    cut = 0
    for match in _END.finditer(line):
        head = line[cut : match.start()]
        if _ABBREV.search(head) or len(head.strip()) < 2:
            continue
        out.append(_trim(text, base + cut, base + match.start()))
        cut = match.end()
    out.append(_trim(text, base + cut, base + len(line)))
    return [piece for span in out for piece in _cap(text, span)]


def _cap(text: str, span: Span) -> list[Span]:
    """Very long 'sentences' (tables, lists without stops) are cut at spaces."""
    if span.end - span.start <= MAX_SENTENCE_CHARS:
        return [span]
    pieces, start = [], span.start
    while span.end - start > MAX_SENTENCE_CHARS:
        stop = text.rfind(" ", start, start + MAX_SENTENCE_CHARS)
        stop = stop if stop > start + MAX_SENTENCE_CHARS // 2 else start + MAX_SENTENCE_CHARS
        pieces.append(_trim(text, start, stop))
        start = stop
    pieces.append(_trim(text, start, span.end))
    return pieces


def _trim(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end)


def sentences(text: str, segmented: bool = False) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text, segmented)]


def chunk_document(doc_id: str, lang: str, text: str, *, target_chars: int = CHUNK_CHARS,
                   overlap: int = 1, segmented: bool = False) -> list[Chunk]:
    """Pack whole sentences into chunks of about target_chars, repeating `overlap` sentences."""
    spans = split_sentences(text, segmented)
    chunks: list[Chunk] = []
    i = 0
    while i < len(spans):
        j = i
        while j + 1 < len(spans) and spans[j + 1].end - spans[i].start <= target_chars:
            j += 1
        start, end = spans[i].start, spans[j].end
        chunks.append(Chunk(doc_id, lang, len(chunks), start, end, text[start:end]))
        if j + 1 >= len(spans):
            break
        i = max(j + 1 - overlap, i + 1)
    return chunks
