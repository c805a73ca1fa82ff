"""Atom 1.0 documents (RFC 4287), written with the standard library's ElementTree, which
escapes every text and attribute; what no XML 1.0 document may hold (most control
characters, lone surrogates) is dropped first, so a stray byte in a document cannot make a
feed unreadable. Entry ids are `tag:` URIs (RFC 4151) made of the server's host name, the
day the document was added and its id: they stay the same when the document changes, so a
feed reader shows a changed document as updated, not as a new one."""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
EPOCH = "1970-01-01T00:00:00+00:00"


@dataclass(frozen=True)
class FeedEntry:
    id: str  # a tag: URI
    title: str
    link: str  # absolute
    updated: str  # RFC 3339
    published: str = ""
    summary: str = ""
    lang: str = ""
    category: str = ""


def clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def doc_tag(host: str, added: str, doc_id: str) -> str:
    """The entry id of a document: stable for the life of the document on this server."""
    day = added[:10] if re.fullmatch(r"\d{4}-\d{2}-\d{2}", added[:10]) else "2024-01-01"
    return f"tag:{host},{day}:viko/doc/{quote(doc_id, safe='')}"


def _add(parent: ET.Element, tag: str, text: str = "", **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: clean(v) for k, v in attrs.items()})
    if text:
        element.text = clean(text)
    return element


def atom_feed(title: str, feed_id: str, self_url: str, alternate: str, entries: Sequence[FeedEntry]) -> bytes:
    """The feed as UTF-8 bytes. Its `updated` is its newest entry's (a feed with none was
    last updated at the epoch: nothing ever changed in it)."""
    root = ET.Element("feed", {"xmlns": ATOM_NS})  # unprefixed names: Atom is the default namespace
    _add(root, "title", title)
    _add(root, "id", feed_id)
    _add(root, "updated", max((e.updated for e in entries), default=EPOCH))
    _add(root, "link", rel="self", type="application/atom+xml", href=self_url)
    _add(root, "link", rel="alternate", type="text/html", href=alternate)
    _add(_add(root, "author"), "name", "viko")
    _add(root, "generator", "viko")
    for entry in entries:
        node = _add(root, "entry")
        if entry.lang:
            node.set(XML_LANG, clean(entry.lang))
        _add(node, "id", entry.id)
        _add(node, "title", entry.title, type="text")
        _add(node, "link", rel="alternate", type="text/html", href=entry.link)
        _add(node, "updated", entry.updated)
        if entry.published:
            _add(node, "published", entry.published)
        if entry.category:
            _add(node, "category", term=entry.category)
        if entry.summary:
            _add(node, "summary", entry.summary, type="text")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
