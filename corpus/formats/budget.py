"""One extraction budget per file, shared by every format: office files and compressed
streams are tiny on disk and can expand a thousandfold, so what a file may cost is bounded
by what it expands to (all parts together), not by its size on disk, and by the text kept.

A `Budget` is the setting (from Settings, passed down); a `Meter` spends it for one file.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Protocol

from viko.corpus.formats import ExtractionError

MB = 1_000_000
# A part that inflates more than this many times over its compressed size is padding made to
# inflate: deflate cannot exceed about 1032:1, which only long runs of one byte reach, while
# text, even one sentence repeated over and over, stays below ~500:1 (measured by the tests'
# generators: 470x for a DOCX of one repeated phrase, 1030x for zeros).
MAX_COMPRESSION_RATIO = 1000
RATIO_CHECK_FROM = MB  # small parts may compress well (empty styles); only big ones are judged
_CHUNK = 1 << 20


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class Budget:
    """Per file: bytes all decompressed parts may add up to, and characters of text kept."""

    max_bytes: int = 64 * MB
    max_chars: int = 2_000_000

    @property
    def mb(self) -> int:
        return max(1, self.max_bytes // MB)


DEFAULT_BUDGET = Budget()


class OverBudget(ExtractionError):
    """The file expands beyond the byte budget: not extracted (the reason is shown)."""


class Meter:
    """Bytes spent so far on one file; every inflation and zip part read goes through it."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.spent = 0

    @property
    def left(self) -> int:
        return max(0, self.budget.max_bytes - self.spent)

    def over(self) -> OverBudget:
        return OverBudget(f"expands beyond {self.budget.mb} MB: not extracted")

    def spend(self, n: int) -> None:
        self.spent += n
        if self.spent > self.budget.max_bytes:
            raise self.over()

    def inflate(self, raw: bytes, wbits: int) -> bytes:
        """zlib/deflate data inflated in bounded steps; never more than the budget left."""
        inflater = zlib.decompressobj(wbits)
        out = bytearray()
        data = raw
        while data:
            piece = inflater.decompress(data, min(_CHUNK, self.left + 1))
            self.spend(len(piece))
            out += piece
            data = inflater.unconsumed_tail
            if inflater.eof or not piece:
                break
        return bytes(out)

    def check_zip(self, zf: zipfile.ZipFile, names: list[str] | None = None) -> None:
        """Refuses an archive before anything is inflated: the declared sizes of the parts
        (zipfile never inflates past a part's declared size) must fit, and no big part may
        be a bomb by its compression ratio."""
        infos = zf.infolist() if names is None else [zf.getinfo(n) for n in names]
        if sum(info.file_size for info in infos) > self.budget.max_bytes:
            raise self.over()
        for info in infos:
            if (info.file_size > RATIO_CHECK_FROM
                    and info.file_size > MAX_COMPRESSION_RATIO * max(1, info.compress_size)):
                raise OverBudget(f"{info.filename} inflates {info.file_size // max(1, info.compress_size)}x "
                                 f"(a decompression bomb?): not extracted")

    def read_part(self, zf: zipfile.ZipFile, name: str) -> bytes:
        info = zf.getinfo(name)
        if info.file_size > self.left:
            raise self.over()
        out = bytearray()
        with zf.open(info) as stream:
            for piece in _chunks(stream):
                self.spend(len(piece))
                out += piece
        return bytes(out)

    def open_part(self, zf: zipfile.ZipFile, name: str) -> _MeteredStream:
        """A part as a stream whose reads are charged to the budget (for iterparse)."""
        info = zf.getinfo(name)
        if info.file_size > self.left:
            raise self.over()
        return _MeteredStream(zf.open(info), self)


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while piece := stream.read(_CHUNK):
        yield piece


class _MeteredStream:
    def __init__(self, stream: IO[bytes], meter: Meter) -> None:
        self._stream, self._meter = stream, meter

    def read(self, n: int = -1) -> bytes:
        piece = self._stream.read(_CHUNK if n is None or n < 0 else min(n, _CHUNK))
        self._meter.spend(len(piece))
        return piece

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> _MeteredStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TextCollector:
    """Lines of text until the character budget is spent; `cut` says whether text was left out."""

    def __init__(self, budget: Budget) -> None:
        self.max_chars = budget.max_chars
        self.lines: list[str] = []
        self.chars = 0
        self.cut = False
        self.notes: list[str] = []  # other reasons text was left out, for the report line

    @property
    def full(self) -> bool:
        return self.chars >= self.max_chars

    def add(self, line: str) -> bool:
        """False when the line finds the budget spent (so text is left out: the caller
        stops reading); a line that does not fit is cut."""
        if self.full:
            self.cut = True
            return False
        room = self.max_chars - self.chars
        if len(line) > room:
            line, self.cut = line[:room], True
        self.lines.append(line)
        self.chars += len(line) + 1
        return True

    def text(self, sep: str = "\n") -> str:
        return sep.join(self.lines)


def kept_note(budget: Budget) -> str:
    return f"first {budget.max_chars:,} characters kept"
