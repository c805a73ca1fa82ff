"""HWPX (OWPML, KS X 6101): a zip of XML parts. Sections are listed in the OPF manifest
(Contents/content.hpf); files without a manifest still have Contents/sectionN.xml."""

from __future__ import annotations

import io
import re
import zipfile

from lxml import etree

from corpus.formats import Extracted, ExtractionError

MAX_PART_BYTES = 50_000_000  # a zip bomb must not exhaust memory
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, recover=True)


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _read(zf: zipfile.ZipFile, name: str) -> bytes:
    if zf.getinfo(name).file_size > MAX_PART_BYTES:
        raise ExtractionError(f"{name} is larger than {MAX_PART_BYTES} bytes uncompressed")
    return zf.read(name)


def _section_names(zf: zipfile.ZipFile) -> tuple[list[str], str]:
    """Section parts in reading order (manifest spine first) and the manifest's title."""
    names = set(zf.namelist())
    title = ""
    if "Contents/content.hpf" in names:
        root = etree.fromstring(_read(zf, "Contents/content.hpf"), _PARSER)
        if root is not None:
            items = {el.get("id"): el.get("href", "") for el in root.iter() if _local(el.tag) == "item"}
            spine = [items.get(el.get("idref"), "") for el in root.iter() if _local(el.tag) == "itemref"]
            found = [h if h in names else f"Contents/{h}" for h in spine if "section" in h.lower()]
            title = next((el.text or "" for el in root.iter() if _local(el.tag) == "title"), "")
            if found and all(f in names for f in found):
                return found, title.strip()
    pattern = re.compile(r"Contents/section(\d+)\.xml$", re.I)
    numbered = sorted((int(m.group(1)), n) for n in names if (m := pattern.match(n)))
    return [n for _, n in numbered], title.strip()


def section_text(xml: bytes) -> str:
    """One line per paragraph (<hp:p>); text runs (<hp:t>) belong to their nearest paragraph,
    so table cells nested in a paragraph become their own lines."""
    root = etree.fromstring(xml, _PARSER)
    if root is None:
        return ""
    order: list[etree._Element] = []
    texts: dict[etree._Element, list[str]] = {}
    for el in root.iter():
        name = _local(el.tag)
        if name == "p":
            order.append(el)
            texts[el] = []
        elif name == "t":
            parent = el.getparent()
            while parent is not None and _local(parent.tag) != "p":
                parent = parent.getparent()
            if parent is not None:
                texts[parent].append(_run_text(el))
    return "\n".join(line for p in order if (line := "".join(texts[p]).strip()))


def _run_text(t: etree._Element) -> str:
    parts = [t.text or ""]
    for child in t:
        name = _local(child.tag)
        parts.append("\t" if name == "tab" else " " if name in ("lineBreak", "nbSpace", "fwSpace") else "")
        parts.append(child.tail or "")
    return "".join(parts)


def extract_hwpx(content: bytes) -> Extracted:
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise ExtractionError(f"not a zip archive: {exc}") from exc
    with zf:
        names = set(zf.namelist())
        if "META-INF/manifest.xml" in names and b"encryption-data" in _read(zf, "META-INF/manifest.xml"):
            raise ExtractionError("password-protected HWPX: sections are encrypted")
        sections, title = _section_names(zf)
        if not sections:
            raise ExtractionError("HWPX without Contents/section*.xml parts")
        try:
            text = "\n".join(section_text(_read(zf, name)) for name in sections)
        except (etree.XMLSyntaxError, KeyError, zipfile.BadZipFile) as exc:
            raise ExtractionError(f"damaged HWPX section: {exc}") from exc
    if not text.strip():
        raise ExtractionError("HWPX has no text (images only?)")
    # Manifest titles are often template leftovers ("1111"): trust one only if the body has it.
    if len(title) < 5 or title not in text[:3000]:
        title = ""
    return Extracted(text=text.strip(), title=title, format="hwpx")
