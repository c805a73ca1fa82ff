"""Hostile files, made by the tests: each is small on disk and expands or recurses without
bound when read naively. Shared by tests/test_hostile_files.py and its memory-capped child."""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
import zlib

from fixtures import make_fixtures as mk

MB = 1_000_000
_ZEROS = bytes(MB)


def _deflate_zeros(megabytes: int, *, raw: bool = True, prefix: bytes = b"") -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15 if raw else zlib.MAX_WBITS)
    out = [packer.compress(prefix)]
    out += [packer.compress(_ZEROS) for _ in range(megabytes)]
    return b"".join(out) + packer.flush()


def hwp_bomb(megabytes: int = 1000) -> bytes:
    """An HWP whose body stream inflates to `megabytes` MB: one PARA_TEXT record of zeros
    (UTF-16 NULs, a control character a naive reader decodes unit by unit)."""
    header = b"HWP Document File".ljust(32, b"\x00") + struct.pack("<II", 0x05000300, 1)
    record = struct.pack("<II", 67 | 0xFFF << 20, megabytes * MB)
    return mk.compound_file({"FileHeader": header.ljust(256, b"\x00"), "DocInfo": b"",
                             "BodyText/Section0": _deflate_zeros(megabytes, prefix=record)})


def hwp_many_records(records: int = 2_000_000) -> bytes:
    """An HWP of millions of tiny records, each one Korean character: a Python tuple per
    record, kept in a list, costs over a hundred bytes each."""
    one = mk._record(67, "가".encode("utf-16-le"), level=1)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = packer.compress(one * records) + packer.flush()
    header = b"HWP Document File".ljust(32, b"\x00") + struct.pack("<II", 0x05000300, 1)
    return mk.compound_file({"FileHeader": header.ljust(256, b"\x00"), "DocInfo": b"",
                             "BodyText/Section0": body})


def _hwpx(sections: dict[str, bytes], spine: list[str]) -> bytes:
    items = "".join(f'<opf:item id="{n}" href="Contents/{n}.xml" media-type="application/xml"/>' for n in sections)
    refs = "".join(f'<opf:itemref idref="{n}"/>' for n in spine)
    hpf = ('<?xml version="1.0" encoding="UTF-8"?><opf:package xmlns:opf="http://www.idpf.org/2007/opf/">'
           f'<opf:metadata><opf:title>t</opf:title></opf:metadata><opf:manifest>{items}</opf:manifest>'
           f'<opf:spine>{refs}</opf:spine></opf:package>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/hwp+zip")
        zf.writestr("Contents/content.hpf", hpf)
        for name, xml in sections.items():
            zf.writestr(f"Contents/{name}.xml", xml, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buf.getvalue()


_SEC = b'<?xml version="1.0" encoding="UTF-8"?><hs:sec xmlns:hp="urn:p" xmlns:hs="urn:s">'


def hwpx_repeated_spine(times: int = 10, paragraphs: int = 40_000) -> bytes:
    """One section of `paragraphs` paragraphs, listed `times` times in the spine."""
    body = b"".join(b'<hp:p><hp:run><hp:t>D\xc3\xb2ng %d v\xe1\xbb\x81 h\xe1\xbb\xa3p t\xc3\xa1c</hp:t></hp:run></hp:p>' % i
                    for i in range(paragraphs))
    return _hwpx({"section0": _SEC + body + b"</hs:sec>"}, ["section0"] * times)


def hwpx_deep(depth: int = 100_000) -> bytes:
    """Paragraphs nested `depth` deep, each with a text run: quadratic for a reader that
    climbs to the nearest paragraph from every run."""
    xml = _SEC + b"<hp:p><hp:t>x</hp:t>" * depth + b"</hp:p>" * depth + b"</hs:sec>"
    return _hwpx({"section0": xml}, ["section0"])


def docx_with_part(megabytes: int = 300) -> bytes:
    """A valid DOCX plus a `megabytes` MB image part of zeros (python-docx loads every part)."""
    base = mk.make_docx(["Báo cáo hợp tác năng lượng tái tạo giữa hai tỉnh."])
    buf = io.BytesIO(base)
    info = zipfile.ZipInfo("word/media/image1.png")
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buf, "a") as zf, zf.open(info, "w", force_zip64=True) as part:
        for _ in range(megabytes):
            part.write(_ZEROS)
    return buf.getvalue()


def docx_many_chars(chars: int = 20_000_000, per_paragraph: int = 10_000) -> bytes:
    """A DOCX whose text runs to `chars` characters (repetitive, so a few hundred KB)."""
    import docx

    document = docx.Document()
    line = ("Hợp tác " * (per_paragraph // 8 + 1))[:per_paragraph]
    for _ in range(chars // per_paragraph):
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def gzip_bomb(megabytes: int = 1000) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9) as gz:
        for _ in range(megabytes):
            gz.write(_ZEROS)
    return buf.getvalue()
