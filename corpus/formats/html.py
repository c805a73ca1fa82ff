"""HTML: main text and metadata by trafilatura (dates by htmldate inside it), links and
crawl hints (canonical, feeds, robots meta) by lxml."""

from __future__ import annotations

from dataclasses import dataclass

import lxml.html
import trafilatura
from htmldate import find_date
from lxml import etree

from viko.corpus.formats import Extracted, ExtractionError
from viko.corpus.urls import canonicalize

_FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/xml"}


@dataclass(frozen=True)
class PageLinks:
    links: tuple[str, ...] = ()
    canonical: str = ""
    feeds: tuple[str, ...] = ()
    noindex: bool = False
    nofollow: bool = False
    lang: str = ""


def extract_html(html: str, url: str = "") -> Extracted:
    """Main text without menus, footers and related-link boxes."""
    doc = trafilatura.bare_extraction(html, url=url or None, with_metadata=True, include_comments=False,
                                      include_tables=True, favor_precision=True, deduplicate=False)
    data = doc.as_dict() if doc is not None and hasattr(doc, "as_dict") else (doc or {})
    text = str(data.get("text") or "").strip()
    if not text:
        raise ExtractionError("no main text found in the HTML page")
    date = str(data.get("date") or "")
    if not date:
        try:
            date = find_date(html, url=url or None, outputformat="%Y-%m-%d") or ""
        except Exception:  # a missing date never loses the page
            date = ""
    return Extracted(text=text, title=str(data.get("title") or ""), date=date[:10],
                     author=str(data.get("author") or ""), sitename=str(data.get("sitename") or ""),
                     format="html")


def page_links(html: str, base_url: str) -> PageLinks:
    """Outgoing links (canonical form), <link rel=canonical>, feeds and robots meta."""
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return PageLinks()
    base = base_url
    for href in root.xpath("//base/@href")[:1]:
        base = canonicalize(str(href), base_url) or base_url
    robots = " ".join(str(v) for v in root.xpath("//meta[@name='robots' or @name='ROBOTS']/@content")).lower()
    links: dict[str, None] = {}
    for a in root.xpath("//a[@href]|//area[@href]|//iframe[@src]"):
        if "nofollow" in (a.get("rel") or "").lower():
            continue
        url = canonicalize(a.get("href") or a.get("src") or "", base)
        if url:
            links[url] = None
    canonical, feeds = "", []
    for link in root.xpath("//link[@rel][@href]"):
        rel = (link.get("rel") or "").lower().split()
        url = canonicalize(link.get("href") or "", base)
        if not url:
            continue
        if "canonical" in rel and not canonical:
            canonical = url
        elif "alternate" in rel and (link.get("type") or "").lower() in _FEED_TYPES:
            feeds.append(url)
    lang = str((root.xpath("/html/@lang") or [""])[0])[:2].lower()
    return PageLinks(links=tuple(links), canonical=canonical, feeds=tuple(feeds),
                     noindex="noindex" in robots or "none" in robots.split(","),
                     nofollow="nofollow" in robots, lang=lang)
