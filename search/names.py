"""Names across scripts: a query's name in Latin letters finds its Hangul spelling, and the reverse.

Vietnamese writes a foreign name in Latin letters ("Erdogan", "Livingston"), Korean as it
sounds, in Hangul (에르도안, 리빙스턴). No glossary lists every person, club or town of the
news, so a Korean headline about Erdogan shared no word with the Vietnamese report of it, and
the relevance floor, finding no evidence for the query anywhere, answered nothing.

Both spellings are reduced to one sound key:
* Hangul letter by letter (ㅂ and ㅍ are "p"; the vowel ㅡ Korean puts between consonants is
  dropped);
* Latin by the sounds Korean hears in it (b, v, f -> "p"; l -> "r"; x -> "ks"), with the r of
  English "Corbyn" (코빈) dropped or kept and a g before e or i also read as j ("Gerrard", 제라드).
Two words are one name when their keys are the same or, for keys of LONG_KEY letters or more,
nearly (LONG_SIMILARITY of their letters in common: Turkish "Erdoğan" has a g Korean does not
say). Only words that may be names are looked up (query_names), and only Hangul words of
MIN_SYLLABLES or more are candidates: two-syllable ones collide with native words (심문 for
"Simon", 미래 for "Miller"). Precision and what the floor gains: docs/benchmarks.md, "Why these
parameters". The candidates are the index's own words, in a table from each word's consonants
to the words, built once per index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from viko.corpus.textnorm import fold_vi, is_vietnamese_syllable

MIN_SYLLABLES = 3  # a Hangul word of fewer is often a native word that sounds like a name
MIN_LETTERS = 4  # a Latin word of fewer is an acronym or a syllable
MIN_KEY = 4  # letters of the shortest key compared at all ("four" and 푸어오 are both "po")
LONG_KEY = 6  # keys shorter than this must be the same
LONG_SIMILARITY = 0.88  # share of letters in common (2 x common / both lengths) for longer keys

# Hangul jamo as Korean loanword spelling uses them: initial, vowel, final consonant.
_INITIAL = ("k", "k", "n", "t", "t", "r", "m", "p", "p", "s", "s", "", "j", "j", "j", "k", "t", "p", "h")
_VOWEL = ("a", "e", "ia", "ie", "o", "e", "io", "ie", "o", "oa", "oe", "oe", "io", "o", "oo", "oe", "oi",
          "io", "", "oi", "i")  # ㅡ (eu) is the vowel Korean adds between consonants: nothing
_FINAL = ("", "k", "k", "k", "n", "n", "n", "t", "r", "k", "m", "r", "r", "r", "p", "r", "m", "p", "p", "t",
          "t", "ng", "t", "t", "k", "t", "p", "t")
_SOUND_PAIRS = (("sch", "s"), ("ph", "p"), ("th", "t"), ("sh", "s"), ("ch", "j"), ("ck", "k"), ("qu", "k"),
                ("gh", "k"), ("kh", "k"), ("dg", "j"), ("x", "ks"))
_LETTER = str.maketrans({"b": "p", "v": "p", "f": "p", "d": "t", "l": "r", "q": "k", "z": "j", "g": "k",
                         "u": "o", "y": "i", "w": "o"})
_NO_VOWELS = str.maketrans("", "", "aeio")
_ALL_HANGUL = re.compile("[\uac00-\ud7a3]+")
_LATIN_WORD = re.compile(r"[^\W\d_]+")


def squeezed(text: str) -> str:
    """Runs of one letter as one ("rr" of 쾰른 and of "Gerrard")."""
    return re.sub(r"(.)\1+", r"\1", text)


def hangul_key(word: str) -> str | None:
    """The sound key of a word of Hangul syllables (None for anything else)."""
    if not _ALL_HANGUL.fullmatch(word):
        return None
    return squeezed("".join(map(_syllable_sounds().__getitem__, word)).replace("ng", "nk"))


@lru_cache(maxsize=1)
def _syllable_sounds() -> dict[str, str]:
    """Each Hangul syllable -> its initial, vowel and final as loanword spelling uses them."""
    return {chr(0xAC00 + code): _INITIAL[code // 588] + _VOWEL[code % 588 // 28] + _FINAL[code % 28]
            for code in range(11172)}


def latin_keys(word: str) -> tuple[str, ...]:
    """The sound keys of a Latin-script name, () for a word too short or a Vietnamese syllable."""
    plain = fold_vi(word).lower()
    if len(plain) < MIN_LETTERS or not (plain.isascii() and plain.isalpha()) or is_vietnamese_syllable(plain):
        return ()
    spellings = {plain, re.sub(r"g(?=[eiy])", "j", plain)}
    keys = set()
    for spelling in spellings:
        key = _latin_key(spelling)
        keys.add(key)
        # English r after a vowel is not said ("Corbyn" 코빈), and "er", "ir" sound as 어 ("Virginia")
        keys.add(squeezed(re.sub(r"(?<=[aeio])r(?![aeio])", "", re.sub(r"[ei]r(?![aeio])", "o", key))))
    return tuple(sorted(keys))


def _latin_key(word: str) -> str:
    word = re.sub(r"c(?=[eiy])", "s", word).replace("c", "k")
    for letters, sound in _SOUND_PAIRS:
        word = word.replace(letters, sound)
    word = word.replace("ng", "nk").translate(_LETTER)
    # h is said only before a vowel ("Hai" 하이), never after a consonant or at the end
    word = word[:1] + re.sub(r"(?<![aeio])h|h(?![aeio])", "", word[1:])
    return squeezed(word)


def consonants(key: str) -> str:
    return squeezed(key.translate(_NO_VOWELS))


def similarity(a: str, b: str) -> float:
    """2 x the longest common subsequence over both lengths (1.0: the same key)."""
    row = [0] * (len(b) + 1)
    for ca in a:
        diagonal = 0
        for j, cb in enumerate(b, 1):
            above = row[j]
            row[j] = diagonal + 1 if ca == cb else max(above, row[j - 1])
            diagonal = above
    return 2 * row[-1] / max(len(a) + len(b), 1)


def same_name(a: str, b: str) -> bool:
    """Whether two sound keys are one name: the same, or nearly for long keys (module doc)."""
    shorter = min(len(a), len(b))
    if shorter < MIN_KEY:
        return False
    if a == b:
        return True
    # the longest common part is at most the shorter key: a length apart too far never reaches it
    bound = 2 * shorter / (len(a) + len(b))
    return shorter >= LONG_KEY and bound >= LONG_SIMILARITY and similarity(a, b) >= LONG_SIMILARITY


def query_names(query: str, proper_nouns: Iterable[str]) -> frozenset[str]:
    """The words of a query that may be names, as the analyser's terms: Latin words typed with
    a capital ("Livingston", "WEST"; the "test" of "blah blah test 123" is a word, not a name)
    and Korean proper nouns (`proper_nouns`: indexer.analyze.Analyzer.proper_nouns)."""
    latin = {w.lower() for w in _LATIN_WORD.findall(query) if any(c.isupper() for c in w)}
    return frozenset(latin | set(proper_nouns))


def _with_one_less(skeleton: str) -> set[str]:
    """The consonants less one, of four or more (fewer file too many words under each)."""
    if len(skeleton) < 4:
        return set()
    return {squeezed(skeleton[:i] + skeleton[i + 1 :]) for i in range(len(skeleton))}


Filed = dict[str, dict[str, set[str]]]  # consonants -> sound key -> the words with that key


@dataclass(frozen=True)
class NameTable:
    """The index's names of one script (`script`: "hangul" or "latin") by their consonants,
    then by their keys: a Latin query's name is looked up among the Hangul names and the
    reverse, so a query needs one of the two tables. A Latin name may hold a consonant its
    Hangul spelling does not say (the g of Erdogan): each Latin word is also filed under its
    consonants less one, and each Latin query's consonants less one are looked up."""

    script: str
    filed: Filed = field(default_factory=dict)

    @classmethod
    def from_words(cls, words: Iterable[str], script: str) -> NameTable:
        table = cls(script)
        for word in words:
            if "_" in word:
                continue
            if script == "hangul":
                if len(word) >= MIN_SYLLABLES and (key := hangul_key(word)):
                    _file(table.filed, consonants(key), key, word)
                continue
            for key in latin_keys(word):
                skeleton = consonants(key)
                for filed in (skeleton, *_with_one_less(skeleton)):
                    _file(table.filed, filed, key, word)
        return table

    def spellings(self, term: str) -> tuple[str, ...]:
        """This table's words that are the name `term` (a query's word of the other script)."""
        hangul = len(term) >= MIN_SYLLABLES and hangul_key(term)
        if bool(hangul) == (self.script == "hangul"):
            return ()
        found: set[str] = set()
        for key in (hangul,) if hangul else latin_keys(term):
            skeleton = consonants(key)
            for filed in (skeleton, *_with_one_less(skeleton)):
                keyed = self.filed.get(filed, {})
                if len(key) < LONG_KEY:  # only the same key will do
                    found |= keyed.get(key, set()) if len(key) >= MIN_KEY else set()
                    continue
                for candidate, words in keyed.items():
                    if same_name(key, candidate):
                        found |= words
        found.discard(term)
        return tuple(sorted(found))


def other_script(term: str) -> str:
    """The script a query's word's spellings are in: "latin" for a Hangul word, else "hangul"."""
    return "latin" if hangul_key(term) else "hangul"


def _file(table: Filed, skeleton: str, key: str, word: str) -> None:
    table.setdefault(skeleton, {}).setdefault(key, set()).add(word)
