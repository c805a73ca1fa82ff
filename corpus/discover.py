"""Sitemaps (urlset, sitemap index, gzip) and RSS/Atom feeds: lists of URLs to crawl."""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass

from lxml import etree

MAX_UNZIPPED = 50_000_000  # the sitemap protocol's own limit is 50 MB uncompressed
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=True)


@dataclass(frozen=True)
class Discovery:
    kind: str  # 'sitemap', 'sitemapindex', 'rss', 'atom' or '' when the XML is none of these
    urls: tuple[str, ...] = ()


def _local(tag: object) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def gunzip(content: bytes, limit: int = MAX_UNZIPPED) -> bytes:
    """Decompress a .gz body without letting a gzip bomb exhaust memory."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(content, limit + 1)
    if len(out) > limit:
        raise ValueError(f"gzip content larger than {limit} bytes uncompressed")
    return out


def discover(content: bytes) -> Discovery:
    """URLs listed by a sitemap or feed (gzip allowed)."""
    if content[:2] == b"\x1f\x8b":
        try:
            content = gunzip(content)
        except (ValueError, zlib.error, gzip.BadGzipFile):
            return Discovery("")
    try:
        root = etree.fromstring(content.lstrip(), _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return Discovery("")
    if root is None:
        return Discovery("")
    kind = _local(root.tag)
    if kind in ("urlset", "sitemapindex"):
        child = "url" if kind == "urlset" else "sitemap"
        locs = [(loc.text or "").strip() for el in root if _local(el.tag) == child
                for loc in el if _local(loc.tag) == "loc"]
        return Discovery("sitemap" if kind == "urlset" else "sitemapindex", tuple(u for u in locs if u))
    if kind in ("rss", "rdf"):
        return Discovery("rss", tuple(_rss_links(root)))
    if kind == "feed":
        return Discovery("atom", tuple(_atom_links(root)))
    return Discovery("")


def _rss_links(root: etree._Element) -> list[str]:
    out = []
    for item in root.iter():
        if _local(item.tag) != "item":
            continue
        link = next(((el.text or "").strip() for el in item if _local(el.tag) == "link"), "")
        if not link:
            link = next(((el.text or "").strip() for el in item if _local(el.tag) == "guid"
                         and el.get("isPermaLink", "true") != "false"), "")
        if link:
            out.append(link)
    return out


def _atom_links(root: etree._Element) -> list[str]:
    out = []
    for entry in root:
        if _local(entry.tag) != "entry":
            continue
        for link in entry:
            if _local(link.tag) == "link" and link.get("rel", "alternate") == "alternate" and link.get("href"):
                out.append(link.get("href", ""))
                break
    return out
