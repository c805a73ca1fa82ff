"""HWPX (OWPML, KS X 6101): a zip of XML parts. Sections are listed in the OPF manifest
(Contents/content.hpf); files without a manifest still have Contents/sectionN.xml."""

from __future__ import annotations

import io
import re
import zipfile
import zlib

from lxml import etree

from viko.corpus.formats import Extracted, ExtractionError
from viko.corpus.formats.budget import DEFAULT_BUDGET, Budget, Meter, Readable, TextCollector, kept_note

# No huge_tree: libxml2's own limits (nesting depth 256, 10 MB text nodes) stay on.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)


def _local(tag: object) -> str:
    """Local name of '{ns}name', or of 'prefix:name' (what a recovering parser keeps when
    the prefix was never declared; lxml's QName refuses that)."""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1] if isinstance(tag, str) else ""


def _section_names(zf: zipfile.ZipFile, meter: Meter) -> tuple[list[str], str]:
    """Section parts in reading order (manifest spine first, each part once: a spine that
    lists one section ten times must not cost ten readings) and the manifest's title."""
    names = set(zf.namelist())
    title = ""
    if "Contents/content.hpf" in names:
        root = etree.fromstring(meter.read_part(zf, "Contents/content.hpf"), _PARSER)
        if root is not None:
            items = {el.get("id"): el.get("href", "") for el in root.iter() if _local(el.tag) == "item"}
            spine = [items.get(el.get("idref"), "") for el in root.iter() if _local(el.tag) == "itemref"]
            found = [h if h in names else f"Contents/{h}" for h in spine if "section" in h.lower()]
            found = list(dict.fromkeys(found))
            title = next((el.text or "" for el in root.iter() if _local(el.tag) == "title"), "")
            if found and all(f in names for f in found):
                return found, title.strip()
    pattern = re.compile(r"Contents/section(\d+)\.xml$", re.I)
    numbered = sorted((int(m.group(1)), n) for n in names if (m := pattern.match(n)))
    return [n for _, n in numbered], title.strip()


DEPTH_NOTE = "text nested deeper than 256 levels left out"


def section_text(xml: bytes | Readable, lines: TextCollector | None = None) -> str:
    """One line per paragraph (<hp:p>); text runs (<hp:t>) belong to their nearest paragraph,
    so table cells nested in a paragraph become their own lines. One streaming pass with a
    stack of open paragraphs: linear in the size of the part whatever its nesting, and
    finished elements are freed as it goes."""
    lines = lines if lines is not None else TextCollector(DEFAULT_BUDGET)
    source = io.BytesIO(xml) if isinstance(xml, bytes) else xml
    open_paras: list[list[str]] = []
    order: list[list[str]] = []  # paragraphs in document (start) order
    parsing = etree.iterparse(source, events=("start", "end"), resolve_entities=False,
                              no_network=True, recover=True)
    for event, el in parsing:
        name = _local(el.tag)
        if event == "start":
            if name == "p":
                open_paras.append([])
                order.append(open_paras[-1])
            continue
        if name == "t" and open_paras:
            open_paras[-1].append(_run_text(el))
        elif name == "p" and open_paras:
            open_paras.pop()
            if not open_paras and not _flush(order, lines):
                break
        parent = el.getparent()
        if name != "t" and parent is not None and _local(parent.tag) != "t":
            el.clear(keep_tail=False)
            while el.getprevious() is not None:
                del parent[0]
    _flush(order, lines)
    # libxml2 stops at its nesting limit (kept on: it bounds the parser) and says so only in its
    # log; recover=True would otherwise drop the rest of the section without a word.
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parsing.error_log) and DEPTH_NOTE not in lines.notes:
        lines.notes.append(DEPTH_NOTE)
    return lines.text()


def _flush(order: list[list[str]], lines: TextCollector) -> bool:
    """Moves finished top-level paragraphs (and those nested in them) into `lines`."""
    for runs in order:
        if (line := "".join(runs).strip()) and not lines.add(line):
            order.clear()
            return False
    order.clear()
    return True


def _run_text(t: etree._Element) -> str:
    parts = [t.text or ""]
    for child in t:
        name = _local(child.tag)
        parts.append("\t" if name == "tab" else " " if name in ("lineBreak", "nbSpace", "fwSpace") else "")
        parts.append(child.tail or "")
    return "".join(parts)


def extract_hwpx(content: bytes, budget: Budget = DEFAULT_BUDGET) -> Extracted:
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise ExtractionError(f"not a zip archive: {exc}") from exc
    meter, lines = Meter(budget), TextCollector(budget)
    with zf:
        names = set(zf.namelist())
        if ("META-INF/manifest.xml" in names
                and b"encryption-data" in meter.read_part(zf, "META-INF/manifest.xml")):
            raise ExtractionError("password-protected HWPX: sections are encrypted")
        sections, title = _section_names(zf, meter)
        if not sections:
            raise ExtractionError("HWPX without Contents/section*.xml parts")
        meter.check_zip(zf, sections)
        try:
            for name in sections:
                with meter.open_part(zf, name) as stream:
                    section_text(stream, lines)
                if lines.full:
                    lines.cut = True
                    break
        except ExtractionError:
            raise
        except (etree.LxmlError, KeyError, ValueError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise ExtractionError(f"damaged HWPX section: {exc}") from exc
    text = lines.text()
    if not text.strip():
        raise ExtractionError("HWPX has no text (images only?)")
    # Manifest titles are often template leftovers ("1111"): trust one only if the body has it.
    if len(title) < 5 or title not in text[:3000]:
        title = ""
    note = "; ".join([kept_note(budget)] * lines.cut + lines.notes)
    return Extracted(text=text.strip(), title=title, format="hwpx", note=note)
