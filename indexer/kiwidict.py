"""Kiwi with only the dictionary entries a text can use: the same analysis, a fraction of the load.

Most of Kiwi's load (docs/benchmarks.md, "Cold start") goes to its two big dictionaries of
proper nouns, default.dict (113k entries) and multi.dict (252k multi-word names), which every
Kiwi() reads and builds into its form trie. An entry takes part in an analysis only where its
form occurs in the text: Kiwi looks forms up in a trie of their forms with the spaces removed
and each syllable's final consonant split off as a jamo (KiwiBuilder::build: removeSpace over
normalizeHangul), no typo model is on, and no combining rule takes a proper noun (NNP) on
either side (combiningRule.txt). So a Kiwi given only the entries whose key (that normal form,
Hangul only) occurs in the text's key, plus every entry this cannot reason about (forms without
Hangul or with jamo, pre-analysed words, other tags) and the entries an alias names, analyses
the text as the full Kiwi does, unless the text holds a form that another form equals but for
its spaces (_ambiguous). tests/test_coldstart.py compares the two on every Korean sentence,
title, query and word window at hand.

`viko index` writes the keys to a DictionaryIndex in the data directory's cache (see
indexer.analyze.TermsMemo); a one-shot search reads it instead of the dictionaries
(indexer.kiwilean). A text with jamo or an ambiguous form, or no index, gets the full Kiwi.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import re
import unicodedata
from array import array
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FORMAT = b"viko-kiwi-dictionaries 1"
DICTIONARIES = ("default.dict", "multi.dict")  # in Kiwi's load order; typo.dict (17 lines) stays on
# Text Kiwi may read as jamo (compatibility, conjoining, half-width): no key reasons about it.
_JAMO = re.compile(r"[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\ud7b0-\ud7ff\uffa0-\uffdc]")
_NOT_SYLLABLE = re.compile(r"[^\uac00-\ud7a3\n]+")
_PLUS = re.compile(r"(?<!\+)\+(?!\+)")  # between the morphemes of a pre-analysed word ("++": a plus)


def text_key(text: str) -> str | None:
    """The text's Hangul syllables with final consonants split off, all else dropped (so any
    form Kiwi finds in it has its key inside); None when the text holds jamo or characters
    that compatibility normalisation turns into Hangul ("㉮", "㈜"): no key reasons about them."""
    syllables = plain_syllables(text)
    return None if syllables is None else syllables.translate(_split_finals())


def plain_syllables(text: str) -> str | None:
    """The text's Hangul syllables (text_key before the split), None as text_key."""
    syllables = _NOT_SYLLABLE.sub("", text.replace("\n", ""))
    compatible = unicodedata.normalize("NFKC", text)
    if _JAMO.search(compatible) or _NOT_SYLLABLE.sub("", compatible.replace("\n", "")) != syllables:
        return None
    return syllables


@lru_cache(maxsize=1)
def _split_finals() -> dict[int, str]:
    """A syllable -> itself without its final consonant, then that consonant as a jamo."""
    return {s: chr(s - (s - 0xAC00) % 28) + chr(0x11A7 + (s - 0xAC00) % 28)
            for s in range(0xAC00, 0xD7A4) if (s - 0xAC00) % 28}


def model_path() -> Path:
    from kiwipiepy_model import get_model_path

    return Path(get_model_path())


@lru_cache(maxsize=1)
def fingerprint() -> bytes:
    """The index's format and this module's source, kiwipiepy's and its model's versions and
    the dictionaries' sizes: an index built for anything else is not used."""
    from importlib.metadata import PackageNotFoundError, version

    digest = hashlib.sha256(Path(__file__).read_bytes())
    for package in ("kiwipiepy", "kiwipiepy_model"):
        try:
            digest.update(f"{package} {version(package)};".encode())
        except PackageNotFoundError:
            digest.update(f"{package} -;".encode())
    for name in DICTIONARIES:
        try:
            digest.update(f"{name} {(model_path() / name).stat().st_size};".encode())
        except (OSError, ImportError):
            digest.update(f"{name} -;".encode())
    return FORMAT + b" " + digest.hexdigest().encode() + b"\n"


class DictionaryIndex:
    """The dictionaries' lines, numbered in Kiwi's load order, found by key.

    `always`: the numbers of the lines every text gets; `buckets`: the first one or two key
    characters -> records "key\x1fnumber[,number of an aliased line...]" joined by \x1e, where
    "!" for the numbers marks an ambiguous key (_ambiguous); `starts`: each line's file
    (default.dict 0, multi.dict 1) << 40 | its byte offset. `usable` False: no text may go lean."""

    def __init__(self, always: list[int], buckets: dict[str, bytes], starts: array[int],
                 folder: Path, usable: bool = True) -> None:
        self.always = always
        self.buckets = buckets
        self.starts = starts
        self.folder = folder
        self.usable = usable
        self._records: dict[str, list[tuple[str, str]]] = {}  # buckets decoded so far

    @classmethod
    def build(cls, folder: Path | None = None, model_forms: set[str] | None = None) -> DictionaryIndex:
        """From the dictionaries in `folder` (Kiwi's model's); `model_forms`: the forms Kiwi
        has without them (default: read from a Kiwi)."""
        folder = folder or model_path()
        lines, starts = _read_lines(folder)
        forms = [line.split("\t", 1)[0] for line in lines]
        tags = [line.split("\t", 2)[1] if "\t" in line else "" for line in lines]
        by_form: dict[str, list[int]] = {}
        for number, form in enumerate(forms):
            by_form.setdefault(form, []).append(number)
        # the forms an alias ("X\tY/NNP") or a pre-analysed word ("X\tY/EC + Z/VV") is made of
        targets = {n: [m.strip().rsplit("/", 1)[0].split("__")[0].replace("++", "+") for m in _PLUS.split(tag)]
                   for n, tag in enumerate(tags) if "/" in tag}
        always: set[int] = set()
        grouped: dict[str, list[str]] = {}
        for number, (key, tag) in enumerate(zip(_keys(forms), tags, strict=True)):
            proper_noun = tag == "NNP" or (tag.endswith("/NNP") and len(targets[number]) == 1)
            numbers = _closure(number, targets, by_form) if number in targets else (number,)
            if proper_noun and key:
                grouped.setdefault(key[:2], []).append(key + "\x1f" + ",".join(map(str, sorted(numbers))))
            else:
                always.update(numbers)
        ambiguous = _ambiguous(forms, _model_forms() if model_forms is None else model_forms)
        usable = True
        for spaceless in ambiguous:
            found = text_key(spaceless)
            if found:
                grouped.setdefault(found[:2], []).append(found + "\x1f!")
            else:  # no Hangul to find it by: no text can be shown free of it
                usable = False
        buckets = {prefix: "\x1e".join(records).encode("utf-8") for prefix, records in grouped.items()}
        return cls(sorted(always), buckets, starts, folder, usable)

    def to_bytes(self) -> bytes:
        return fingerprint() + marshal.dumps((self.always, self.buckets, self.starts.tobytes(), self.usable))

    @classmethod
    def load(cls, path: Path) -> DictionaryIndex | None:
        """The index at `path`, or None when there is none or it was built for other dictionaries."""
        try:
            data = Path(path).read_bytes()
            head = fingerprint()
            if not data.startswith(head):
                return None
            always, buckets, starts, usable = marshal.loads(data[len(head):])
            offsets = array("Q")
            offsets.frombytes(starts)
            return cls(list(always), dict(buckets), offsets, model_path(), bool(usable))
        except (OSError, ValueError, EOFError, TypeError, ImportError):
            return None

    def entries(self, text: str) -> frozenset[int] | None:
        """The numbers of the lines a Kiwi needs to analyse `text` as the full one does
        (None: only the full Kiwi will do)."""
        key = text_key(text)
        if key is None or not self.usable:
            return None
        found = set(self.always)
        for prefix in {key[i : i + n] for i in range(len(key)) for n in (1, 2)}:
            if prefix not in self._records:
                records = self.buckets.get(prefix, b"").decode("utf-8").split("\x1e")
                self._records[prefix] = [record.partition("\x1f")[::2] for record in records if record]
            for form_key, numbers in self._records[prefix]:
                if form_key in key:
                    if numbers == "!":
                        return None
                    found.update(int(n) for n in numbers.split(","))
        return frozenset(found)

    def lines(self, numbers: frozenset[int]) -> bytes:
        """Those lines, in load order (the order the full Kiwi adds them in)."""
        out = []
        files = [open(self.folder / name, "rb") for name in DICTIONARIES]  # noqa: SIM115
        try:
            for n in sorted(numbers):
                fh = files[self.starts[n] >> 40]
                fh.seek(self.starts[n] & ((1 << 40) - 1))
                out.append(fh.readline().rstrip(b"\r\n") + b"\n")
        finally:
            for fh in files:
                fh.close()
        return b"".join(out)


def save_index(path: Path) -> bool:
    """Write the index to `path` (atomically) unless one for these dictionaries is there;
    False when it cannot be written. It depends only on the installed dictionaries: built
    once per process, and a second data directory on the same disk gets a hard link to the
    first one's file (tests make hundreds), which nothing ever writes to in place."""
    if _current(path):
        return True
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)
        try:
            if not (_WRITTEN and _current(_WRITTEN[0])):
                raise OSError("no index written yet")
            os.link(_WRITTEN[0], tmp)
        except OSError:
            tmp.write_bytes(_index_bytes())
        tmp.replace(path)
        _WRITTEN[:] = [path]
        return True
    except Exception as exc:  # a cache: without it a one-shot search loads the full Kiwi
        log.warning("Kiwi's dictionary index not written to %s: %s", path, exc)
        return False
    finally:
        tmp.unlink(missing_ok=True)


_WRITTEN: list[Path] = []  # the last index this process wrote


def _current(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(fingerprint())) == fingerprint()
    except OSError:
        return False


@lru_cache(maxsize=1)
def _index_bytes() -> bytes:
    return DictionaryIndex.build().to_bytes()


def _read_lines(folder: Path) -> tuple[list[str], array[int]]:
    """The lines Kiwi reads as entries (not blank, not comments) and where each starts."""
    lines: list[str] = []
    starts = array("Q")
    for file_number, name in enumerate(DICTIONARIES):
        offset = 0
        with open(folder / name, "rb") as fh:
            for raw in fh:
                line = raw.decode("utf-8").rstrip("\r\n")
                if line.strip() and not line.startswith("#"):
                    lines.append(line)
                    starts.append(file_number << 40 | offset)
                offset += len(raw)
    return lines, starts


def _closure(number: int, targets: dict[int, list[str]], by_form: dict[str, list[int]]) -> set[int]:
    """The line and every line of the forms it is made of, transitively (Kiwi refuses a line
    naming a morpheme it does not have)."""
    found, todo = set(), [number]
    while todo:
        n = todo.pop()
        if n not in found:
            found.add(n)
            todo.extend(m for form in targets.get(n, ()) for m in by_form.get(form, ()))
    return found


def _keys(forms: list[str]) -> list[str]:
    """text_key of every form ("" for None), computed on all of them at once."""
    joined = "\n".join(forms)
    syllables = _NOT_SYLLABLE.sub("", joined).split("\n")
    compatible = unicodedata.normalize("NFKC", joined).split("\n")
    if len(compatible) != len(forms):
        raise ValueError("a dictionary form holds a line break")
    split = _split_finals()
    return [s.translate(split) if not _JAMO.search(c) and _NOT_SYLLABLE.sub("", c) == s else ""
            for s, c in zip(syllables, compatible, strict=True)]


def _ambiguous(forms: list[str], model_forms: set[str]) -> set[str]:
    """The spaceless forms that two distinct forms (the dictionaries' or the model's) share.

    Kiwi's trie is keyed by the spaceless form, and which of two such forms ("리오그란데",
    "리오 그란데") a text finds there depends on the order an unstable sort leaves them in,
    which depends on every other form: a lean Kiwi can pick the other one. A text holding
    such a key gets the full Kiwi."""
    seen: dict[str, str] = {}
    ambiguous = set()
    for form in (*model_forms, *forms):
        words = form.split()
        spaceless, spaced = "".join(words), " ".join(words)
        if seen.setdefault(spaceless, spaced) != spaced:
            ambiguous.add(spaceless)
    return ambiguous


def base_kiwi() -> Any:
    """Kiwi's model without the two dictionaries (typo.dict and all else as Kiwi() has them)."""
    from kiwipiepy import Kiwi

    return Kiwi(load_default_dict=False, load_multi_dict=False)


def _model_forms() -> set[str]:
    """Every form of a Kiwi without the two dictionaries (its morphemes', combined ones too)."""
    kiwi = base_kiwi()
    kiwi.tokenize("")  # builds it
    forms = set()
    for number in range(10**7):
        try:
            forms.add(kiwi.morpheme(number).form)
        except ValueError:  # past the last one
            break
    return forms
