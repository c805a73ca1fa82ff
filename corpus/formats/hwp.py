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

import olefile

from corpus.formats import Extracted, ExtractionError

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


def extract_hwp(content: bytes) -> Extracted:
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
        parts = []
        for name in sections:
            raw = ole.openstream(name).read()
            parts.append(para_text(_inflate(raw, name) if flags & FLAG_COMPRESSED else raw))
        title = _summary_title(ole)
    text = "\n".join(p for p in parts if p.strip())
    text = re.sub(r"[ \t]+\n", "\n", text).strip()
    if not text:
        raise ExtractionError("HWP has no text (images only?)")
    # Summary titles are often left over from a template: trust one only if the body has it.
    if title and title not in text:
        title = ""
    return Extracted(text=text, title=title, format="hwp")


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


def _inflate(raw: bytes, name: str) -> bytes:
    try:
        return zlib.decompressobj(-15).decompress(raw)  # raw deflate, as HWP writes it
    except zlib.error:
        try:
            return zlib.decompress(raw)  # some writers add a zlib header
        except zlib.error as exc:
            raise ExtractionError(f"{name}: corrupt compressed stream ({exc})") from exc


def records(data: bytes) -> list[tuple[int, int, bytes]]:
    """(tag, level, payload) of every record: a 32-bit header with tag (10 bits), level
    (10 bits) and size (12 bits; 0xFFF means a 32-bit size follows)."""
    out, pos, end = [], 0, len(data)
    while pos + 4 <= end:
        header = struct.unpack_from("<I", data, pos)[0]
        pos += 4
        tag, level, size = header & 0x3FF, (header >> 10) & 0x3FF, header >> 20
        if size == 0xFFF:
            if pos + 4 > end:
                break
            size = struct.unpack_from("<I", data, pos)[0]
            pos += 4
        out.append((tag, level, data[pos:pos + size]))
        pos += size
    return out


def para_text(data: bytes) -> str:
    paragraphs = []
    for tag, _level, payload in records(data):
        if tag == HWPTAG_PARA_TEXT:
            paragraphs.append(decode_para(payload).rstrip("\n"))
    return "\n".join(paragraphs)


def decode_para(payload: bytes) -> str:
    units = struct.unpack(f"<{len(payload) // 2}H", payload[: len(payload) // 2 * 2])
    out, i = [], 0
    while i < len(units):
        code = units[i]
        if code < 32:
            if code in _WIDE_CONTROLS:
                out.append("\t" if code == 9 else "")
                i += 8
                continue
            out.append(_CHAR_CONTROLS.get(code, ""))
            i += 1
            continue
        out.append(chr(code))
        i += 1
    # Rejoin surrogate pairs that were split into single units.
    return "".join(out).encode("utf-16", "surrogatepass").decode("utf-16", errors="replace")


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
