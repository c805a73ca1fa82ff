"""URL canonicalisation: one page, one URL, however a site links to it.

The crawler stores, looks up and de-duplicates pages by the canonical form, and `viko get`
canonicalises its argument the same way, so any variant of a stored page's URL finds it.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

# Parameters that track the visitor, not the content: dropped so syndicated links match.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "mc_cid",
    "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "ref_src", "spm", "scid", "cmpid", "zanpid",
})
# Session identifiers make every visit a new URL: an endless trap unless removed.
SESSION_PARAMS = frozenset({
    "jsessionid", "phpsessid", "sid", "sessionid", "session_id", "sessid", "cfid", "cftoken",
    "zenid", "oscsid", "aspsessionid",
})
_PATH_SESSION = re.compile(r";(jsessionid|phpsessid|sid|sessionid)=[^/?#]*", re.I)
_SAFE_PATH = "/:@!$&'()*+,;=-._~%"
_SAFE_QUERY = "/:@!$'()*+,;-._~%?"
MAX_URL_CHARS = 600
MAX_PATH_DEPTH = 15
MAX_SEGMENT_REPEATS = 3


def _drop_param(key: str) -> bool:
    low = key.lower()
    return (low.startswith("utm_") or low in TRACKING_PARAMS or low in SESSION_PARAMS
            or low.startswith("aspsessionid"))


def _norm_escapes(text: str, safe: str) -> str:
    """Percent-encode what must be, keep existing escapes, upper-case their hex digits."""
    return re.sub(r"%[0-9a-f]{2}", lambda m: m.group(0).upper(), quote(text, safe=safe))


def canonicalize(url: str, base: str | None = None) -> str | None:
    """The canonical form of an http(s) URL (resolved against base), or None if it has none.

    Lower-case scheme and host, no default port, no fragment, no tracking or session
    parameters, sorted query, no trailing slash except the root, dot segments removed.
    """
    url = url.strip()
    if not url:
        return None
    try:
        if base:
            url = urljoin(base, url)
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return None
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    path = _PATH_SESSION.sub("", parts.path) or "/"
    path = _norm_escapes(urlsplit(urljoin("http://x", path)).path or "/", _SAFE_PATH)
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _drop_param(k)]
    query = urlencode(sorted(pairs), safe=_SAFE_QUERY) if pairs else ""
    return urlunsplit((scheme, host, path, query, ""))


def host_of(url: str) -> str:
    """host[:port] of a canonical URL: the unit of politeness and of --same-host."""
    return urlsplit(url).netloc.lower()


def doc_id_for_url(url: str) -> str:
    """Stable document id for a crawled page: readable host plus a short hash of the URL."""
    host = host_of(url).replace(":", "_") or "web"
    return f"{host}-{hashlib.sha1(url.encode('utf-8')).hexdigest()[:12]}"


def url_pattern(url: str) -> str:
    """Host, path with numbers blanked and the query's keys: URLs an endless calendar or
    pager generates share one pattern, so the crawler can bound how many it follows."""
    parts = urlsplit(url)
    keys = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return f"{parts.netloc}{re.sub(r'[0-9]+', '0', parts.path)}?{'&'.join(keys)}"


def trap_reason(url: str) -> str | None:
    """Why a URL looks like a crawler trap, or None."""
    if len(url) > MAX_URL_CHARS:
        return f"URL longer than {MAX_URL_CHARS} characters"
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if len(segments) > MAX_PATH_DEPTH:
        return f"path deeper than {MAX_PATH_DEPTH} segments"
    for seg in set(segments):
        if segments.count(seg) >= MAX_SEGMENT_REPEATS:
            return f"path segment {seg!r} repeats {segments.count(seg)} times"
    return None
