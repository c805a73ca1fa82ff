"""Unicode and Vietnamese tone-mark normalisation, and vi/ko language detection.

Vietnamese text on the web mixes two tone placements ("hoà" / "hòa", "thuý" / "thúy") and
both precomposed and combining forms; search must treat them as one word. Korean text is
Hangul with Latin-script names, numbers and acronyms mixed in.

People also type Vietnamese without diacritics (phones, Korean keyboards, "Hai Phong"):
such text has no Vietnamese-only letter, but every word is a possible Vietnamese syllable
(onset, one to three vowels, one of eight finals), which English words rarely are
("solar", "smart", "farm" are not). A query in Latin script that is not Vietnamese is
taken as English, the third language staff search in.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Combining tone marks: grave, acute, hook above, tilde, dot below.
_TONES = {"\u0300", "\u0301", "\u0309", "\u0303", "\u0323"}
_VOWELS = set("aăâeêioôơuưy")
# Vowels carrying a shape mark take the tone whatever the placement style.
_MARKED = set("ăâêôơư")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_HYPHENATED = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*", re.UNICODE)
_VI_ONLY = set("ăâđêôơư" "ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")
_VI_LETTERS = _VI_ONLY | set("àáãèéìíòóõùúý")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def clean_text(text: str) -> str:
    """NFC, unify line endings, drop control characters and trailing spaces on lines."""
    text = nfc(text).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


@lru_cache(maxsize=65536)
def normalize_vi_word(word: str) -> str:
    """Put the tone mark of one Vietnamese syllable where the common ('old') style puts it."""
    decomposed = unicodedata.normalize("NFD", word)
    tones = [ch for ch in decomposed if ch in _TONES]
    if len(tones) != 1:
        return word
    base = nfc("".join(ch for ch in decomposed if ch not in _TONES))
    pos = _tone_position(base)
    if pos is None:
        return word
    letter = unicodedata.normalize("NFD", base[pos]) + tones[0]
    return base[:pos] + nfc(letter) + base[pos + 1 :]


def _tone_position(base: str) -> int | None:
    low = base.lower()
    start = 0
    if low.startswith("qu") or (low.startswith("gi") and len(low) > 2 and low[2] in _VOWELS):
        start = 2
    idx = [i for i in range(start, len(low)) if low[i] in _VOWELS]
    if not idx:
        # "gì", "gìn": the i of gi is the nucleus when nothing follows it.
        idx = [i for i in range(len(low)) if low[i] in _VOWELS]
        if not idx:
            return None
    nucleus = [i for i in idx if i <= idx[0] + 2 and all(j in idx for j in range(idx[0], i + 1))]
    for i in nucleus:
        if low[i] == "ơ" or (low[i] in _MARKED and not any(low[j] == "ơ" for j in nucleus)):
            return i
    has_final = nucleus[-1] < len(low) - 1
    if len(nucleus) == 1:
        return nucleus[0]
    if has_final or len(nucleus) == 3:
        return nucleus[1] if len(nucleus) == 3 or has_final else nucleus[0]
    return nucleus[0]


def normalize_vi(text: str) -> str:
    """NFC plus a single tone placement for every Vietnamese syllable in the text."""
    return _WORD.sub(lambda m: normalize_vi_word(m.group(0)), nfc(text))


def fold_vi(text: str) -> str:
    """Strip tone and shape marks (lowercase): 'Hải Phòng' -> 'hai phong', for loose matching."""
    text = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return nfc("".join(ch for ch in text if unicodedata.category(ch) != "Mn"))


def fold_vi_fast(text: str) -> str:
    """fold_vi at str.translate's speed, for long texts (fold_vi goes a character at a time);
    the same result (tests/test_textnorm.py), after a table built once (~20 ms, which a short
    query's fold_vi does not wait for)."""
    return nfc(text).lower().translate(_fold_table())


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, int | str | None]:
    """Each character of the BMP to what fold_vi makes of it alone: a precomposed letter to its
    base, đ to d, a combining mark to nothing (the others: NFC in fold_vi_fast composes them)."""
    table: dict[int, int | str | None] = {ord("đ"): "d", ord("Đ"): "d"}
    for code in range(0x80, 0x10000):
        char = chr(code)
        if unicodedata.category(char) == "Mn":
            table[code] = None
        decomposed = unicodedata.decomposition(char)
        if not decomposed or decomposed.startswith("<") or code in table:
            continue  # NFD leaves it as it is
        folded = "".join(c for c in unicodedata.normalize("NFD", char) if unicodedata.category(c) != "Mn")
        folded = unicodedata.normalize("NFC", folded)
        if folded != char:
            table[code] = folded or None
    return table


def script_counts(text: str) -> dict[str, int]:
    """Letters by script: hangul, vietnamese-specific latin, other latin, other."""
    counts = {"hangul": 0, "vi": 0, "latin": 0, "other": 0}
    for ch in text:
        if not ch.isalpha():
            continue
        code = ord(ch)
        if 0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
            counts["hangul"] += 1
        elif ch.lower() in _VI_LETTERS:
            counts["vi"] += 1
        elif code < 0x250 or 0x1E00 <= code <= 0x1EFF:
            counts["latin"] += 1
        else:
            counts["other"] += 1
    return counts


_SYLLABLE = re.compile(r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnpqrstvx])?[aeiouy]{1,3}(?:ch|ng|nh|[cmnpt])?")
# Frequent English words that are also possible Vietnamese syllables ("to", "the", "an").
_ENGLISH_MARKERS = frozenset(
    "the a an of and is are was were be been to in on at for with by from as it its this that"
    " or not we you he she they our your their will can how what which who".split()
)
# Share of words that must be Vietnamese syllables. On the NTREX and XQuAD dev queries with
# diacritics stripped, 0.8 detects 100% as Vietnamese and no English NTREX headline.
UNACCENTED_VI_SHARE = 0.8
# Syllables no English word spells: starting with ng, nh, kh or x, or ending in nh ("xanh",
# "nghiep", "khoi"). A short query of half syllables holding one is Vietnamese beside its
# loanwords ("hydro xanh", "drone nong nghiep"), where the 0.8 share reads it as English.
_NO_ENGLISH_SPELLING = re.compile(r"(?:ng|nh|kh|x)[a-z]*|[a-z]*nh")
SHORT_QUERY_WORDS = 6


def is_vietnamese_syllable(word: str) -> bool:
    """Whether a word (diacritics off, lowercase) is spelled as a Vietnamese syllable can be."""
    return bool(_SYLLABLE.fullmatch(word))


def looks_unaccented_vietnamese(text: str) -> bool:
    """Latin text without diacritics whose words are (nearly) all Vietnamese syllables.
    Names and acronyms inside it ("Doi thu Panthers", "AFC") are left out of the count."""
    # a hyphenated word is one word, a syllable only if each part is: "Jeollanam-do" is a name
    raw = _HYPHENATED.findall(text.lower() if text.isupper() else text)
    if not raw or any(fold_vi(w) != w.lower() for w in raw):
        return False  # some diacritic present: ordinary text
    counted = syllables = english = only = 0
    for word in raw:
        acronym = any(c.isupper() for c in word[1:])
        syllable = not acronym and all(_SYLLABLE.fullmatch(part) for part in word.lower().split("-"))
        only += syllable and bool(_NO_ENGLISH_SPELLING.fullmatch(word.lower()))
        marker = word.lower() in _ENGLISH_MARKERS
        if not syllable and not marker and (acronym or word[:1].isupper()):
            continue  # a name or an acronym, in any language, first word included ("Tesla chet nam nao")
        counted += 1
        syllables += syllable
        # "the", "to", "an", "he" are also Vietnamese syllables (thế, tổ, ăn, hệ): only the
        # markers no Vietnamese syllable spells ("of", "and", "is") tell English apart.
        english += marker and not syllable
    # Most words must be counted: a Title Case English headline is mostly "names".
    if counted == 0 or 2 * counted < len(raw) or english > 0.1 * counted:
        return False
    short = len(raw) <= SHORT_QUERY_WORDS and only > 0 and 2 * syllables >= counted
    return short or syllables >= UNACCENTED_VI_SHARE * counted


def query_language(text: str) -> str:
    """The language a query is searched as: 'vi' (with or without diacritics), 'ko', 'en'
    for other Latin-script text, or 'other' (no letters, other scripts)."""
    lang = detect_language(text)
    if lang != "other":
        return lang
    counts = script_counts(text)
    if counts["latin"] and counts["latin"] >= counts["other"]:
        return "en"
    return "other"


def detect_language(text: str) -> str:
    """'ko', 'vi', or 'other'. Decided by script, so names and acronyms in Latin letters
    inside Korean text (IoT, Jeollanam-do) do not flip the decision."""
    c = script_counts(text[:20000])
    letters = sum(c.values())
    if letters == 0:
        return "other"
    if c["hangul"] >= 0.3 * letters or (c["hangul"] > c["vi"] and c["hangul"] >= 2):
        return "ko"
    latin = c["vi"] + c["latin"]
    if latin and c["vi"] / latin >= 0.04:
        return "vi"
    if latin and c["vi"] >= 1 and latin < 40:
        return "vi"
    if latin and looks_unaccented_vietnamese(text[:2000]):
        return "vi"
    return "other"
