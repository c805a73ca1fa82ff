"""Whether a text holds a phrase as the query syntax means it (search.syntax, search.constraints):
on the analyser's word boundaries, case and tone placement ignored, an unaccented phrase also
matching accented text; Hangul as a substring (particles attach to Korean words).

`phrase_in` decides one text; `rows_holding` the candidate chunks of a phrase at once, which is
what a filter at a million passages needs: their texts joined and searched together with one
regular expression (each letter a class of the characters that fold to it), so the Python work
is per place the phrase's letters are, not per text or per word. The word-boundary match then
looks only at the stretch between spaces around each place, and the analyser's words that could
split the phrase are located (in order, as indexer.wordbounds.Syllables locates them) from the
places their first syllable's letters are; the whole text's words are found only where
positions cannot be had so (a text not in NFC, a character folding to other than one). The
answers are the whole-text match's (tests/test_phrases.py; docs/benchmarks.md, syntax-scale).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

import numpy as np

from viko.corpus.textnorm import fold_vi_fast, nfc, normalize_vi
from viko.indexer.store import Index
from viko.indexer.wordbounds import HANGUL, KEY_CACHE, WORD, Syllables, keys, number_bounded, splits
from viko.search.doctable import DocTable

# Latin letters and combining marks: what normalize_vi may rewrite (a phrase without them is
# matched without normalising the text, which costs most of the check)
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f\u0300-\u036f\u1e00-\u1eff]")
# Joins the texts checked together (_containing): no space, a starter that composes with nothing
SEP = "\x00"
_SEP = re.compile(SEP)


def phrase_in(text: str, phrase: str, words: Iterable[str] = (),
              spans: Sequence[tuple[int, int]] | None = None) -> bool:
    """Whether the phrase occurs in the text: case and tone placement ignored, an unaccented
    phrase also matching accented text, Latin-script words on whole words that split none of
    the text's multi-syllable words (`words`: the analyser's, "sáng_tạo"); Hangul as a
    substring (particles attach to Korean words: "협약" is in "협약을"). `spans`: where the
    phrase's letters are in the text (_spans), when known (rows_holding finds them at once)."""
    if HANGUL.search(phrase):
        key = _key(phrase)
        within = " ".join(nfc(text).lower().split()) if not _LATIN.search(key) else _key(text)
        if key[:1].isdigit() or key[-1:].isdigit():  # "5억" is not in "65억"
            return re.search(number_bounded(re.escape(key), key), within) is not None
        return key in within  # tone placement moves marks within Latin words only
    unit = [keys(w)[0] for w in WORD.findall(phrase)]
    if not unit:
        return False
    unaccented = all(keys(p)[1] == p for p in unit)

    def lettered(part: str) -> bool:  # the phrase's letters are in the text at all
        return " ".join(unit) in (_letters(part) if unaccented else _key(part))

    # only a word holding the phrase's first or last syllable can be split by it
    ends = {keys(unit[0])[1], keys(unit[-1])[1]}
    kept = [w for w in words if "_" in w and ends & _folds_of(w)]
    spans = spans if spans is not None else _spans(text, tuple(keys(p)[1] for p in unit))
    # where every word that could split it is the phrase itself, any such word found stands at
    # a place of the phrase, which is whole there (words never overlap): no need to find them
    whole = all(_unit_of(w, unaccented) == unit for w in kept)
    units = ([] if whole else _located(text, kept)) if spans is not None else None
    if spans is not None and units is not None:
        seen = False
        for start, end, core in _occurrences(text, unit, spans):
            if not splits((start, end), units):
                if lettered(core):  # a part of the text's: lowercase, tones and spaces go per word
                    return True
                seen = True
        return seen and lettered(text)
    if not lettered(text):
        return False  # not even the letters: no need to find the words
    found = Syllables(text, kept)
    return any(not found.splits(*found.span(i, len(unit))) for i in found.unit_starts(unit))


def _occurrences(text: str, unit: list[str], spans: Sequence[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """(start, end, the stretch between spaces around it) of each place the unit's syllables
    stand next to each other (Syllables.unit_starts), in text order, looked for only around
    the places their letters are (`spans`): a word holds no space, so the words of a stretch
    between spaces are the text's own."""
    out: dict[tuple[int, int], str] = {}
    for lo, hi in spans:
        while lo and not text[lo - 1].isspace():
            lo -= 1
        while hi < len(text) and not text[hi].isspace():
            hi += 1
        part = Syllables(text[lo:hi])
        for i in part.unit_starts(unit):
            start, end = part.span(i, len(unit))
            out.setdefault((start + lo, end + lo), part.text)
    return [(start, end, core) for (start, end), core in sorted(out.items())]


def _ahead(text: str, at: int, tokens: int) -> int:
    """The end of the `tokens`-th run of non-space after `at` (or of the text)."""
    for _ in range(tokens):
        while at < len(text) and not text[at].isspace():
            at += 1
        while at < len(text) and text[at].isspace():
            at += 1
    while at < len(text) and not text[at].isspace():
        at += 1
    return at


def _located(text: str, kept: Sequence[str]) -> list[tuple[int, int]] | None:
    """The character spans of the analyser's words where Syllables(text, kept) locates them
    (each at its first place after the one before, in the analyser's order), found from the
    places their letters are rather than from every word of the text; None where that cannot
    be told so (positions not the text's, capitals inside a word: see Syllables._locate)."""
    units: list[tuple[int, int]] = []
    cursor = 0  # the next word starts at or after this character
    for word in kept:
        unit = _unit_of(word, False)
        if HANGUL.search(word) or len(unit) < 2:
            continue
        firsts = _spans(text, (keys(unit[0])[1],))  # one expression per syllable, not per word
        if firsts is None:
            return None
        spans = [(lo, _ahead(text, hi, len(unit) - 1)) for lo, hi in firsts]
        at = next(((s, e) for s, e, _ in _occurrences(text, unit, spans) if s >= cursor), None)
        if at is None:
            continue
        cursor = at[1]
        if any(c.isupper() for w in WORD.findall(text[at[0] : at[1]]) for c in w[1:]):
            return None  # an acronym joined to a word is no word there; left to Syllables
        units.append(at)
    return units


@lru_cache(maxsize=KEY_CACHE)
def _folds_of(word: str) -> frozenset[str]:
    return frozenset(keys(p)[1] for p in word.split("_"))


@lru_cache(maxsize=KEY_CACHE)
def _unit_of(word: str, folded: bool) -> list[str]:
    return [keys(p)[1 if folded else 0] for p in word.split("_") if p]


def _spans(text: str, folds: tuple[str, ...]) -> list[tuple[int, int]] | None:
    """Every place (overlapping ones too) where the folded syllables stand with spaces between,
    in the text's own positions, found by one regular expression over the text (each letter
    a class of the characters that fold to it); None where positions would not be the text's:
    not NFC, or a character that folds to other than one character alone."""
    classes, odd = _fold_classes()
    if any(c not in classes for f in folds for c in f):
        return None
    if not unicodedata.is_normalized("NFC", text) or odd.search(text):
        return None
    pattern, out = _letters_pattern(folds), []
    found = pattern.search(text)
    while found:  # each start, overlapping ones too (a lookahead would cost every position a try)
        out.append(found.span())
        found = pattern.search(text, found.start() + 1)
    return out


@lru_cache(maxsize=4096)  # a query's candidate texts hold a few hundred of the analyser's words
def _letters_pattern(folds: tuple[str, ...]) -> re.Pattern[str]:
    classes, _ = _fold_classes()
    return re.compile(r"\s+".join("".join(f"[{re.escape(classes[c])}]" for c in f) for f in folds))


@lru_cache(maxsize=1)
def _fold_classes() -> tuple[dict[str, str], re.Pattern[str]]:
    """For each character that fold_vi_fast gives, the characters folding to it alone; and the
    characters whose fold is not one character of their own (combining marks, İ; Σ, whose
    lowercase depends on the next letter). The BMP is folded in one call, each character
    between SEPs (no character composes or changes case across them): ~30 ms, once."""
    chars = [chr(c) for c in range(0x10000) if not (0xD800 <= c < 0xE000 or c in (0, 0x3A3))]
    groups: dict[str, str] = {}
    odd = ["\u03a3"]
    for char, folded in zip(chars, fold_vi_fast(SEP.join(chars)).split(SEP), strict=True):
        if len(folded) == 1:
            groups[folded] = groups.get(folded, "") + char
        else:
            odd.append(char)
    return groups, re.compile("[" + "".join(re.escape(c) for c in odd) + "]")


def _letters(text: str) -> str:
    """fold_vi of a text with its spaces collapsed (at str.translate's speed: corpus.textnorm)."""
    return " ".join(fold_vi_fast(text).split())


def could_hold(text: str, phrase: str) -> bool:
    """A quick necessary condition for phrase_in: the phrase's letters, diacritics aside, are
    in the text in order. Most of a long candidate list of rows fails here, without the
    cost of matching words (a tenth of a millisecond a row)."""
    needle = _letters_of(phrase)
    return bool(needle) and needle in _letters(text)


def texts_holding(texts: Sequence[str], phrase: str) -> list[int]:
    """Positions of the texts where phrase_in holds (document titles): their letters searched
    together first, so the word-boundary match runs only on the texts that hold them."""
    return [i for i in _containing(texts, _letters_of(phrase), _letters) if phrase_in(texts[i], phrase)]


def _letters_of(phrase: str) -> str:
    """What could_hold looks for in a text's _letters ('' when the phrase has no word)."""
    if HANGUL.search(phrase):
        return _letters(_key(phrase))
    unit = [keys(w)[1] for w in WORD.findall(phrase)]
    return _letters(" ".join(unit)) if unit else ""


def _spaced(text: str) -> str:
    """What phrase_in looks for a Hangul phrase without Latin letters in: NFC, lowercase,
    spaces collapsed."""
    return " ".join(nfc(text).lower().split())


def _containing(texts: Sequence[str], needle: str, prepare: Callable[[str], str]) -> list[int]:
    """Positions of the texts whose `prepare`d form holds the needle, with one call of
    `prepare` over all of them joined by SEP (str methods over a few MB are a few ms, where a
    call per text cost a tenth of a ms each). Exact for any `prepare` that maps SEP to itself
    and each character alone (NFC, lowercase, a translate table, spaces collapsed): SEP is
    no space and composes with nothing, so each text's part is its own prepared form, at
    most with a space more at an end, and a needle (no SEP, no space at an end) found in the
    joined form is in one text's."""
    if not needle or SEP in needle or not texts:
        return []
    joined = SEP.join(texts)
    if joined.count(SEP) != len(texts) - 1:  # a text holding SEP itself: one at a time
        return [i for i, t in enumerate(texts) if needle in prepare(t)]
    joined = prepare(joined)
    starts = [m.end() for m in _SEP.finditer(joined)]  # where the texts after the first begin
    out: list[int] = []
    at = joined.find(needle)
    while at >= 0:
        i = bisect_right(starts, at)  # the text the match is in
        out.append(i)
        if i >= len(starts):
            break
        at = joined.find(needle, starts[i])
    return out


def _key(text: str) -> str:
    return " ".join(normalize_vi(text.lower()).split())


def rows_holding(index: Index, table: DocTable, rows: np.ndarray, phrase: str) -> np.ndarray:
    """Rows among `rows` (ascending) where phrase_in holds, at least one per document that has
    one: the texts read at once and searched together, joined by SEP (no space, a starter
    that composes with nothing, so no match spans two texts and each text's part is as it
    would be alone). A Hangul phrase without Latin letters is decided so entirely (its
    phrase_in is that substring test); any other phrase's word-boundary match (phrase_in) runs
    only on the rows whose letters hold it, given where they are, and only until its document
    has a row that does (a document's rows are consecutive)."""
    texts = _texts(index, rows)
    joined = SEP.join(texts)
    if joined.count(SEP) != len(texts) - 1:  # a text holding SEP itself: one at a time
        return rows[[i for i, t in enumerate(texts) if phrase_in(t, phrase, index.chunk_words(int(rows[i])) or ())]]
    key = _key(phrase) if HANGUL.search(phrase) else ""
    if key and not _LATIN.search(key):
        return rows[_hangul_holders(texts, joined, key)]
    starts = _starts(joined)
    unit = [keys(w)[1] for w in WORD.findall(phrase)]
    found = _spans(joined, tuple(unit)) if unit and not key else None
    at: dict[int, list[tuple[int, int]] | None] = {}
    if found is None:  # where each text's letters are is not known from the joined texts
        at = dict.fromkeys(_containing(texts, _letters_of(phrase), _letters))
    for lo, hi in found or ():
        i = bisect_right(starts, lo) - 1
        at.setdefault(i, []).append((lo - starts[i], hi - starts[i]))  # type: ignore[union-attr]
    held: list[int] = []
    for i, spans in at.items():  # in text order
        row = int(rows[i])
        if held and table.row_doc[row] == table.row_doc[held[-1]]:
            continue  # the document already holds it
        if phrase_in(texts[i], phrase, index.chunk_words(row) or (), spans=spans):
            held.append(row)
    return np.asarray(held, np.int64)


def _starts(joined: str) -> list[int]:
    """Where each of the texts joined by SEP begins."""
    return [0] + [m.end() for m in _SEP.finditer(joined)]


def _hangul_holders(texts: Sequence[str], joined: str, key: str) -> list[int]:
    """Positions of the texts holding a Hangul phrase without Latin letters (its _key) as
    phrase_in looks for it (NFC, lowercase, spaces collapsed): one expression over them all,
    unless lowercase could change what it looks at (then _containing)."""
    if any(c.lower() != c or c.upper() != c for c in key) or "\u0130" in joined:
        return [i for i in _containing(texts, key, _spaced) if phrase_in(texts[i], key)]
    normal = nfc(joined)
    starts = _starts(normal)
    found = re.finditer(number_bounded(r"\s+".join(re.escape(w) for w in key.split(" ")), key), normal)
    return sorted({bisect_right(starts, m.start()) - 1 for m in found})


def _texts(index: Index, rows: np.ndarray) -> list[str]:
    """The chunk texts of some rows, in their order, read from their segments directly."""
    out = [""] * len(rows)
    segment = index.segment_of(rows)
    for s in np.unique(segment).tolist():
        at = np.flatnonzero(segment == s)
        seg, base = index.segments[s], int(index.bases[s])
        for i, local in zip(at.tolist(), (rows[at] - base).tolist(), strict=True):
            out[i] = seg.text(local)
    return out
