"""Numbers as their value, so that amounts match across languages and ways of writing.

"20 triệu người" and "2000만 명" are one number, as are "2.000 tỷ đồng", "2,000 billion" and
"2조": the analysers keep digits as they are written ("20", "2000"), so a Vietnamese query
and a Korean document never shared an amount. `quantity_terms` gives each amount written
with a scale word (nghìn, triệu, tỷ; 천, 만, 억, 조; thousand, million, billion) or with digit
grouping ("2.000", "1,500,000") its whole value in plain digits, the form a number without
either already has as a term. A decimal comma or point stays as written unless a scale word
makes the value whole ("1,5 triệu" is 1500000); "제3조" is an article, not three trillion.
"""

from __future__ import annotations

import re

_NUMBER = r"\d+(?:[.,]\d+)*"
_LATIN_SCALES = {"nghìn": 10**3, "ngàn": 10**3, "triệu": 10**6, "tỷ": 10**9, "tỉ": 10**9,
                 "thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_LATIN = re.compile(rf"(?<![\w.,])({_NUMBER})\s*(nghìn|ngàn|triệu|tỷ|tỉ|thousand|million|billion|trillion)"
                    r"(?:\s+(tỷ|tỉ|billion))?(?!\w)", re.IGNORECASE)
_KO_SMALL = {"십": 10, "백": 100, "천": 1000}
_KO_LARGE = {"만": 10**4, "억": 10**8, "조": 10**12}
# One Korean group: digits, then 십/백/천 and/or 만/억/조 ("2천억", "2000만", "5억"); a chain of
# groups with falling large units is one amount ("1조 2천억"). Not after 제 (제3조: article 3).
_KO_GROUP = rf"{_NUMBER}\s?(?:[십백천]?[만억조]|[십백천])"
_KOREAN = re.compile(rf"(?<![\w.,])(?<!제)(?:{_KO_GROUP})(?:\s?{_KO_GROUP})*")
_KO_SCALE = re.compile(r"[십백천]?[만억조]|[십백천]")
_KO_PART = re.compile(rf"({_NUMBER})\s?([십백천]?)([만억조]?)")
# a Korean counter may follow ("1,200톤"), a Latin letter or another digit group not
_GROUPED = re.compile(r"(?<![\w.,])\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*(?![0-9A-Za-z_]|[.,]\d)")


def quantity_terms(text: str) -> list[str]:
    """The value, in plain digits, of each amount in the text written with a scale word or
    with digit grouping, in text order (a number already written plainly gives nothing)."""
    return [value for _, _, value in amounts(text)]


def is_scale_word(word: str) -> bool:
    """Whether a word is only a scale (triệu, million, 억, 천억): part of an amount, no word alone."""
    return word.lower() in _LATIN_SCALES or _KO_SCALE.fullmatch(word) is not None


def amounts(text: str) -> list[tuple[int, int, str]]:
    """(start, end, value in plain digits) of each amount quantity_terms reads, in text order."""
    found: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []
    for m in _LATIN.finditer(text):
        value = _number(m.group(1))
        scale = _LATIN_SCALES[m.group(2).lower()] * (_LATIN_SCALES[m.group(3).lower()] if m.group(3) else 1)
        _add(found, taken, m, None if value is None else value * scale)
    for m in _KOREAN.finditer(text):
        _add(found, taken, m, _korean(m.group(0)))
    for m in _GROUPED.finditer(text):
        if not any(a <= m.start() < b for a, b in taken):
            _add(found, taken, m, _number(m.group(0)))
    return sorted(found)


def _add(found: list[tuple[int, int, str]], taken: list[tuple[int, int]], m: re.Match[str],
         value: float | None) -> None:
    taken.append(m.span())
    if value is not None and value >= 1 and abs(value - round(value)) < 1e-6:
        found.append((m.start(), m.end(), str(round(value))))


def _korean(amount: str) -> float | None:
    """The value of a chain of Korean groups ("1조 2천억" -> 1.2e12), None where a group's
    large unit does not fall or a number cannot be read."""
    total, last = 0.0, None
    for m in _KO_PART.finditer(amount):
        if not m.group(2) and not m.group(3):
            return None
        value = _number(m.group(1))
        large = _KO_LARGE.get(m.group(3), 1)
        if value is None or (last is not None and large >= last):
            return None
        total += value * _KO_SMALL.get(m.group(2), 1) * large
        last = large
    return total or None


def _number(text: str) -> float | None:
    """Digits with grouping (groups of three after a separator) and at most one decimal
    separator at the end: "2.000" 2000, "1,5" 1.5, "1,500,000" 1500000; None otherwise."""
    parts = re.split(r"[.,]", text)
    if len(parts) == 1:
        return float(parts[0])
    if all(len(p) == 3 for p in parts[1:]) and len(set(re.findall(r"[.,]", text))) == 1:
        return float("".join(parts))
    head, tail = parts[:-1], parts[-1]
    if all(len(p) == 3 for p in head[1:]):
        return float("".join(head) + "." + tail)
    return None
