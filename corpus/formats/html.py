"""HTML: main text and metadata by trafilatura (dates by htmldate inside it), links and
crawl hints (canonical, feeds, robots meta) by lxml."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import lxml.html
import trafilatura
from htmldate import find_date
from lxml import etree

from viko.corpus.formats import Extracted, ExtractionError
from viko.corpus.urls import canonicalize

_KO_DATE = re.compile(r"((?:19|20)\d\d)\s*년\s*(\d{1,2})\s*월\s*(\d{1,2})\s*일")
# January 1st as pages write it: 1/1/2026, 01.01.2026, 2026-01-01, 2026년 1월 1일, 1 tháng 1
_JANUARY_FIRST = re.compile(r"(?<!\d)(?:0?1[./-]0?1[./-](?:19|20)\d\d|(?:19|20)\d\d[./-]0?1[./-]0?1|"
                            r"(?:19|20)\d\d\s*년\s*1\s*월\s*1\s*일|1\s*tháng\s*(?:1|một)\b|ngày\s*0?1/0?1)(?!\d)",
                            re.IGNORECASE)
_FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/xml"}


@dataclass(frozen=True)
class PageLinks:
    links: tuple[str, ...] = ()
    canonical: str = ""
    feeds: tuple[str, ...] = ()
    noindex: bool = False
    nofollow: bool = False
    lang: str = ""
    anchors: tuple[str, ...] = ()  # the links' own texts, as is_link_list compares them
    headings: tuple[str, ...] = ()  # h1-h3 texts, likewise


# A page whose main text is mostly its own link texts lists articles (a section front, a
# search result), and one whose text beyond them is its headings only is a shell around a
# list the extractor dropped: the crawler follows their links and stores the articles only.
LINK_LIST_SHARE = 0.5


def _plain(text: str) -> str:
    return " ".join(text.split()).casefold()


def is_link_list(text: str, links: PageLinks) -> bool:
    """Whether the main text is nothing but the page's own link texts and headings, or its
    lines that are link texts hold LINK_LIST_SHARE of its characters."""
    known = set(links.anchors)
    lines = [_plain(line) for line in text.splitlines() if line.strip()]
    own = [line for line in lines if line not in known]
    if all(line in links.headings for line in own):
        return True
    total = sum(len(line) for line in lines)
    return total - sum(len(line) for line in own) >= LINK_LIST_SHARE * total


def extract_html(html: str, url: str = "") -> Extracted:
    """Main text without menus, footers and related-link boxes."""
    doc = trafilatura.bare_extraction(html, url=url or None, with_metadata=True, include_comments=False,
                                      include_tables=True, favor_precision=True, deduplicate=False,
                                      date_extraction_params={"extensive_search": False, "original_date": True})
    data = doc.as_dict() if doc is not None and hasattr(doc, "as_dict") else (doc or {})
    text = str(data.get("text") or "").strip()
    if not text:
        raise ExtractionError("no main text found in the HTML page")
    date = str(data.get("date") or "") or page_date(html, url, text)
    return Extracted(text=text, title=str(data.get("title") or ""), date=date[:10],
                     author=str(data.get("author") or ""), sitename=str(data.get("sitename") or ""),
                     format="html")


def page_date(html: str, url: str, text: str) -> str:
    """A date written in the page, where its markup gives none: htmldate's search of the text.
    That search turns a lone year ("© 2026", "2026-2028") into January 1st, a date nobody
    wrote: such a result stands only where the page writes January 1st; else the main text's
    first Korean full date (2026년 3월 12일, which htmldate does not read) of that year, or none."""
    try:
        found = find_date(html, url=url or None, outputformat="%Y-%m-%d", original_date=True) or ""
    except Exception:  # a missing date never loses the page
        return ""
    if not found.endswith("-01-01") or _JANUARY_FIRST.search(html):
        return found
    for m in _KO_DATE.finditer(text):
        year, month, day = (int(g) for g in m.groups())
        if str(year) != found[:4]:
            continue
        try:
            return dt.date(year, month, day).isoformat()
        except ValueError:  # 2026년 2월 30일: not a date
            continue
    return ""


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
    anchors: dict[str, None] = {}
    for a in root.xpath("//a[@href]|//area[@href]|//iframe[@src]"):
        if text := _plain(a.text_content() or ""):
            anchors[text] = None  # a nofollow link's text is link text too
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
                     nofollow="nofollow" in robots, lang=lang, anchors=tuple(anchors),
                     headings=tuple(dict.fromkeys(_plain(h.text_content() or "") for h in root.xpath("//h1|//h2|//h3"))))
