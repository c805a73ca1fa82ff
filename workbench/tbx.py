"""TBX import and export of the glossary.

Export writes TBX-Basic in the ISO 30042:2019 (TBX v3, DCA style) layout: one conceptEntry
per term pair with a Vietnamese and a Korean langSec, the note as <note>, the domain as
<descrip type="subjectField">. Import also reads TBX v2 (martif/termEntry/langSet with
tig or ntig), matching element names without regard to namespace; each concept gives its
first Vietnamese and first Korean term as the pair, further synonyms pair with the other
side's first term. Parsing resolves no entities and loads nothing from the network.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from lxml import etree

from viko.corpus.glossary import Entry
from viko.corpus.textnorm import clean_text
from viko.workbench.tmx import XML_LANG, lang_of

TBX_NS = "urn:iso:std:iso:30042:ed-2"


class TbxError(ValueError):
    """A TBX file that cannot be read; the message says why."""


@dataclass
class TbxReport:
    entries: list[Entry] = field(default_factory=list)
    skipped: int = 0  # concepts without both a Vietnamese and a Korean term
    errors: list[str] = field(default_factory=list)


def write_tbx(entries: Iterable[Entry], out: str | Path | IO[bytes]) -> int:
    ns = f"{{{TBX_NS}}}"
    root = etree.Element(ns + "tbx", {"style": "dca", "type": "TBX-Basic", XML_LANG: "en"}, nsmap={None: TBX_NS})
    header = etree.SubElement(root, ns + "tbxHeader")
    source = etree.SubElement(etree.SubElement(header, ns + "fileDesc"), ns + "sourceDesc")
    etree.SubElement(source, ns + "p").text = "viko glossary (Vietnamese - Korean)"
    body = etree.SubElement(etree.SubElement(root, ns + "text"), ns + "body")
    count = 0
    for n, entry in enumerate(entries, 1):
        concept = etree.SubElement(body, ns + "conceptEntry", id=f"c{entry.id or n}")
        if entry.domain:
            etree.SubElement(concept, ns + "descrip", type="subjectField").text = entry.domain
        if entry.note:
            etree.SubElement(concept, ns + "note").text = entry.note
        for lang in ("vi", "ko"):
            lang_sec = etree.SubElement(concept, ns + "langSec", {XML_LANG: lang})
            term_sec = etree.SubElement(lang_sec, ns + "termSec")
            etree.SubElement(term_sec, ns + "term").text = entry.side(lang)
        count += 1
    tree = etree.ElementTree(root)
    target = str(out) if isinstance(out, Path) else out
    tree.write(target, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return count


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _text(el: etree._Element) -> str:
    return " ".join(clean_text("".join(el.itertext())).split())


def _concept(concept: etree._Element) -> tuple[list[Entry], bool]:
    terms: dict[str, list[str]] = {"vi": [], "ko": []}
    note = domain = ""
    for el in concept.iter():
        name = _local(el)
        if name in ("langSec", "langSet"):
            lang = lang_of(el.get(XML_LANG) or el.get("lang") or "")
            if lang:
                terms[lang] += [t for t in (_text(x) for x in el.iter() if _local(x) == "term") if t]
        elif name == "note" and not note:
            note = _text(el)
        elif name == "descrip" and el.get("type") == "subjectField" and not domain:
            domain = _text(el)
        elif name == "descrip" and el.get("type") == "definition" and not note:
            note = _text(el)
    vi, ko = list(dict.fromkeys(terms["vi"])), list(dict.fromkeys(terms["ko"]))
    if not vi or not ko:
        return [], False
    pairs = [(vi[0], k) for k in ko] + [(v, ko[0]) for v in vi[1:]]
    return [Entry(v, k, note, domain, "tbx") for v, k in pairs], True


def read_tbx(path: Path) -> TbxReport:
    report = TbxReport()
    opts = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False}
    tags = ("conceptEntry", "termEntry", "{*}conceptEntry", "{*}termEntry")
    try:
        for _, concept in etree.iterparse(str(path), events=("end",), tag=tags, **opts):
            entries, ok = _concept(concept)
            report.entries += entries
            report.skipped += 0 if ok else 1
            concept.clear(keep_tail=True)
    except etree.XMLSyntaxError as exc:
        report.errors.append(f"{path}: not well-formed XML at line {exc.lineno}: {exc.msg}")
    except OSError as exc:
        report.errors.append(f"cannot read {path}: {exc}")
    if not report.entries and not report.errors and not report.skipped:
        report.errors.append(f"{path}: no term entries found (is it a TBX file?)")
    return report
