"""HWP 5 (Hancom Office binary): an OLE compound file whose BodyText/SectionN streams hold
records (zlib/deflate-compressed when FileHeader says so); paragraph text is in
HWPTAG_PARA_TEXT records as UTF-16LE with inline control codes to skip.

Written from the published "HWP 5.0 file format" specification (Hancom), not from pyhwp.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Iterator

import numpy as np
import olefile

from viko.corpus.formats import Extracted, ExtractionError
from viko.corpus.formats.budget import DEFAULT_BUDGET, Budget, Meter, TextCollector, kept_note

HWPTAG_PARA_TEXT = 67  # HWPTAG_BEGIN (16) + 51
SIGNATURE = b"HWP Document File"
FLAG_COMPRESSED, FLAG_PASSWORD, FLAG_DISTRIBUTION = 0x1, 0x2, 0x4
# Control characters inside PARA_TEXT: "char" controls take one UTF-16 unit; "inline" and
# "extended" controls take eight (the code, six units of payload, the code again).
_CHAR_CONTROLS = {0: "", 10: "\n", 13: "\n", 24: "-", 25: "", 26: "", 27: "", 28: "", 29: "",
                  30: " ", 31: " "}
_DRM_MARKERS = ((b"<MARKANY_DOCUMENTSAFER>", "MarkAny Document SAFER"), (b"<DOCUMENTSAFER", "MarkAny Document SAFER"),
                (b"SCDSA", "Softcamp Document Security"))
_WIDE_CONTROLS = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}
_WIDE_ANY = re.compile("[" + "".join(chr(c) for c in sorted(_WIDE_CONTROLS)) + "]")
_WIDE = re.compile("([" + "".join(chr(c) for c in sorted(_WIDE_CONTROLS)) + "])[\\s\\S]{0,7}")


def extract_hwp(content: bytes, budget: Budget = DEFAULT_BUDGET) -> Extracted:
    drm = drm_name(content)
    if drm:
        raise ExtractionError(f"DRM-encrypted file ({drm}): only its owner's DRM client can open it")
    try:
        ole = olefile.OleFileIO(io.BytesIO(content))
    except (OSError, ValueError) as exc:
        raise ExtractionError(f"not an OLE compound file: {exc}") from exc
    with ole:
        flags = _header_flags(ole)
        if flags & FLAG_PASSWORD:
            raise ExtractionError("password-protected HWP: cannot read without the password")
        if flags & FLAG_DISTRIBUTION:
            raise ExtractionError("distribution (copy-protected) HWP: body text is encrypted")
        sections = _section_streams(ole)
        if not sections:
            raise ExtractionError("HWP has no BodyText sections")
        meter, lines = Meter(budget), TextCollector(budget)
        for name in sections:
            raw = ole.openstream(name).read()
            if not para_text(_inflate(raw, name, meter) if flags & FLAG_COMPRESSED else raw, lines):
                break
        title = _summary_title(ole)
    text = lines.text()
    text = re.sub(r"[ \t]+\n", "\n", text).strip()
    if not text:
        raise ExtractionError("HWP has no text (images only?)")
    # Summary titles are often left over from a template: trust one only if the body has it.
    if title and title not in text:
        title = ""
    return Extracted(text=text, title=title, format="hwp", note=kept_note(budget) if lines.cut else "")


def drm_name(content: bytes) -> str:
    """Korean offices wrap documents in DRM containers that keep the .hwp name."""
    head = content[:64]
    for marker, name in _DRM_MARKERS:
        if head.startswith(marker):
            return name
    return ""


def _header_flags(ole: olefile.OleFileIO) -> int:
    if not ole.exists("FileHeader"):
        raise ExtractionError("OLE file without a FileHeader stream: not an HWP 5 document")
    header = ole.openstream("FileHeader").read()
    if not header.startswith(SIGNATURE) or len(header) < 40:
        raise ExtractionError("FileHeader signature is not 'HWP Document File' (HWP 3 or another format?)")
    return int(struct.unpack_from("<I", header, 36)[0])


def _section_streams(ole: olefile.OleFileIO) -> list[str]:
    found = []
    for entry in ole.listdir(streams=True, storages=False):
        if len(entry) == 2 and entry[0] == "BodyText" and entry[1].startswith("Section"):
            number = entry[1][len("Section"):]
            if number.isdigit():
                found.append((int(number), "/".join(entry)))
    return [name for _, name in sorted(found)]


def _inflate(raw: bytes, name: str, meter: Meter) -> bytes:
    """Raw deflate, as HWP writes it (some writers add a zlib header), within the budget."""
    try:
        return meter.inflate(raw, -15)
    except zlib.error:
        try:
            return meter.inflate(raw, zlib.MAX_WBITS)
        except zlib.error as exc:
            raise ExtractionError(f"{name}: corrupt compressed stream ({exc})") from exc


def records(data: bytes) -> Iterator[tuple[int, int, memoryview]]:
    """(tag, level, payload) of each record in turn: a 32-bit header with tag (10 bits),
    level (10 bits) and size (12 bits; 0xFFF means a 32-bit size follows). Payloads are
    views, so a body of millions of tiny records costs no copies."""
    view, pos, end = memoryview(data), 0, len(data)
    while pos + 4 <= end:
        header = struct.unpack_from("<I", data, pos)[0]
        pos += 4
        tag, level, size = header & 0x3FF, (header >> 10) & 0x3FF, header >> 20
        if size == 0xFFF:
            if pos + 4 > end:
                break
            size = struct.unpack_from("<I", data, pos)[0]
            pos += 4
        yield tag, level, view[pos:pos + size]
        pos += size


def para_text(data: bytes, lines: TextCollector) -> bool:
    """Adds the section's paragraphs to `lines`; False once the character budget is spent."""
    for tag, _level, payload in records(data):
        if tag == HWPTAG_PARA_TEXT:
            line = decode_para(payload).rstrip("\n")
            if not lines.add(line):
                return False
    return True


def decode_para(payload: bytes | memoryview) -> str:
    """Most paragraphs hold no inline control: decoded in one call. Otherwise units are
    widened to one character each (so control payloads keep their length
    even when they look like surrogates), controls dropped, then surrogate pairs rejoined."""
    size = len(payload) // 2 * 2
    plain = bytes(payload[:size]).decode("utf-16-le", errors="replace")
    if not _WIDE_ANY.search(plain):
        return plain.translate(_CHAR_CONTROLS)
    units = np.frombuffer(payload, dtype="<u2", count=len(payload) // 2)
    text = units.astype("<u4").tobytes().decode("utf-32-le", errors="surrogatepass")
    text = _WIDE.sub(lambda m: "\t" if m.group(1) == "\t" else "", text)
    text = text.translate(_CHAR_CONTROLS)
    return text.encode("utf-16", "surrogatepass").decode("utf-16", errors="replace")


def _summary_title(ole: olefile.OleFileIO) -> str:
    name = "\x05HwpSummaryInformation"
    if not ole.exists(name):
        return ""
    try:
        props = ole.getproperties(name, convert_time=True)
    except Exception:  # a damaged summary never loses the body text
        return ""
    title = props.get(2, "")
    return title.split("\x00")[0].strip() if isinstance(title, str) else ""
