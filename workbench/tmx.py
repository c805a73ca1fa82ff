"""TMX 1.4b: export translation units, import a translation memory as concordance material.

Export streams with lxml's incremental writer, so a large memory never sits in memory as a
tree; `tmx_chunks` hands the document out in pieces (the web export streams them as they
come). Import parses with entity resolution, DTD loading and network access turned off (a TMX
file is untrusted input), keeps the Vietnamese and Korean variants of each unit (vi-VN,
ko_KR, vie and kor count), and reports what it skipped; a broken file keeps the units read
before the error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from lxml import etree

from viko.corpus.catalogue import Catalogue
from viko.corpus.textnorm import clean_text
from viko.corpus.tm import TranslationMemory, Unit

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DOCTYPE = '<!DOCTYPE tmx SYSTEM "tmx14.dtd">'
# Inline elements holding native codes (formatting tags of the source format), not text.
_CODE_TAGS = {"bpt", "ept", "it", "ph", "ut", "sub"}
# Characters XML 1.0 cannot carry.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_LANGS = {"vi": "vi", "vie": "vi", "ko": "ko", "kor": "ko"}
EXPORT_BATCH = 500  # units per piece handed out: about 100-200 KB of XML


class TmxError(ValueError):
    """A TMX file that cannot be read at all."""


@dataclass
class TmxReport:
    source: str
    added: int = 0
    skipped: int = 0  # units without both a Vietnamese and a Korean segment
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.added} units imported, {self.skipped} skipped (no vi+ko pair)"
                + (f", {len(self.errors)} errors" if self.errors else ""))


def _xml_text(text: str) -> str:
    return _INVALID_XML.sub("", text)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


class _Pieces:
    """A write-only file that keeps what was written until it is taken."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self._parts.append(bytes(data))

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def tmx_chunks(units: Iterable[Unit], *, batch: int = EXPORT_BATCH, tool_version: str = "0.1.0") -> Iterator[bytes]:
    """TMX 1.4b (srclang vi) of units, as successive pieces of bytes, `batch` units at a time."""
    sink = _Pieces()
    with etree.xmlfile(sink, encoding="UTF-8") as xf:
        xf.write_declaration()
        xf.write_doctype(DOCTYPE)
        with xf.element("tmx", version="1.4"):
            xf.write(etree.Element("header", creationtool="viko", creationtoolversion=tool_version,
                                   datatype="plaintext", segtype="sentence", adminlang="en",
                                   srclang="vi", **{"o-tmf": "viko"}, creationdate=_stamp()))
            with xf.element("body"):
                for count, unit in enumerate(units, 1):
                    xf.write(_tu(unit))
                    if count % max(1, batch) == 0:
                        xf.flush()
                        yield sink.take()
    yield sink.take()


def write_tmx(units: Iterable[Unit], out: str | Path | IO[bytes], *, tool_version: str = "0.1.0") -> int:
    """Write units as TMX 1.4b (srclang vi); returns how many were written."""
    count = 0

    def counted() -> Iterator[Unit]:
        nonlocal count
        for unit in units:
            count += 1
            yield unit

    if isinstance(out, str | Path):
        with open(out, "wb") as handle:
            for piece in tmx_chunks(counted(), tool_version=tool_version):
                handle.write(piece)
    else:
        for piece in tmx_chunks(counted(), tool_version=tool_version):
            out.write(piece)
    return count


def _tu(unit: Unit) -> etree._Element:
    tu = etree.Element("tu", tuid=str(unit.id)) if unit.id else etree.Element("tu")
    props = {"x-origin": unit.origin, "x-score": f"{unit.score:.4f}", "x-doc-vi": unit.vi_doc,
             "x-doc-ko": unit.ko_doc, "x-source": unit.source}
    for name, value in props.items():
        if value:
            prop = etree.SubElement(tu, "prop", type=name)
            prop.text = _xml_text(value)
    for lang, text in (("vi", unit.vi), ("ko", unit.ko)):
        tuv = etree.SubElement(tu, "tuv", {XML_LANG: lang})
        seg = etree.SubElement(tuv, "seg")
        seg.text = _xml_text(text)
    return tu


def lang_of(code: str) -> str:
    """'vi' or 'ko' for vi, vi-VN, vi_VN, vie, ko-KR, kor...; '' otherwise."""
    return _LANGS.get(re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0], "")


def _seg_text(seg: etree._Element) -> str:
    parts = [seg.text or ""]
    for child in seg:
        tag = etree.QName(child).localname if isinstance(child.tag, str) else ""
        if tag not in _CODE_TAGS:
            parts.append(_seg_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _unit_from(tu: etree._Element, source: str) -> Unit | None:
    sides: dict[str, str] = {}
    for tuv in tu:
        if not isinstance(tuv.tag, str) or etree.QName(tuv).localname != "tuv":
            continue
        lang = lang_of(tuv.get(XML_LANG) or tuv.get("lang") or "")
        seg = next((c for c in tuv if isinstance(c.tag, str) and etree.QName(c).localname == "seg"), None)
        if lang and seg is not None and lang not in sides:
            text = " ".join(clean_text(_seg_text(seg)).split())
            if text:
                sides[lang] = text
    if "vi" not in sides or "ko" not in sides:
        return None
    return Unit(vi=sides["vi"], ko=sides["ko"], origin="tmx", score=1.0, source=source)


def read_tmx(path: Path, report: TmxReport) -> Iterator[Unit]:
    """Units of a TMX file; problems go to the report, never raise past the first unit."""
    parser_opts = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False}
    try:
        for _, tu in etree.iterparse(str(path), events=("end",), tag=("tu", "{*}tu"), **parser_opts):
            unit = _unit_from(tu, report.source)
            if unit is None:
                report.skipped += 1
            else:
                yield unit
            tu.clear(keep_tail=True)
    except etree.XMLSyntaxError as exc:
        report.errors.append(f"{path}: not well-formed XML at line {exc.lineno}: {exc.msg}")
    except OSError as exc:
        report.errors.append(f"cannot read {path}: {exc}")


def import_tmx(cat: Catalogue, path: Path) -> TmxReport:
    """Add a TMX file's units to the translation memory. Re-importing the same file name
    replaces its earlier units; a file that yields nothing leaves them in place."""
    path = Path(path)
    report = TmxReport(source=path.name)
    units = list(read_tmx(path, report))
    if not units:
        if not report.errors and report.skipped == 0:
            report.errors.append(f"{path}: no translation units found (is it a TMX file?)")
        return report
    report.added = TranslationMemory(cat).replace_source(origin="tmx", source=report.source, units=units)
    return report
