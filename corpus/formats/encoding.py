"""Bytes -> text for web pages and text files, without mojibake.

Korean government sites still serve EUC-KR/CP949, often undeclared or mislabelled; older
Vietnamese sites use Windows-1258 (combining tone marks) or VNI, a font hack that stores
Vietnamese as Windows-1252 bytes ("Vieät Nam"). Declared charsets are tried first but only
trusted when the bytes decode cleanly.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from charset_normalizer import from_bytes

# WHATWG: labels browsers treat as supersets; decoding with the superset loses nothing.
_SUPERSETS = {"euc-kr": "cp949", "ks_c_5601-1987": "cp949", "ksc5601": "cp949", "x-windows-949": "cp949",
              "iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252",
              "ascii": "cp1252", "gb2312": "gb18030", "gbk": "gb18030"}
_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_:.-]+)""", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


class EncodingError(ValueError):
    pass


def charset_from_content_type(content_type: str) -> str:
    match = re.search(r"charset\s*=\s*[\"']?([^\s;\"']+)", content_type or "", re.I)
    return match.group(1).lower() if match else ""


def _codec(label: str) -> str | None:
    label = label.strip().lower()
    label = _SUPERSETS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_bytes(content: bytes, declared: str = "", *, html: bool = False) -> tuple[str, str]:
    """(text, encoding used). Order: BOM, declared charset (HTTP header), <meta charset>,
    UTF-8, CP949 for Hangul, then statistical detection. VNI is converted to Unicode."""
    for bom, name in _BOMS:
        if content.startswith(bom):
            return content.decode(name, errors="replace"), name
    labels = [declared]
    if html:
        meta = _META.search(content[:8192])
        labels.append(meta.group(1).decode("ascii", "ignore") if meta else "")
    for label in labels:
        codec = _codec(label) if label else None
        if codec:
            try:
                return _fix_vni(content.decode(codec), codec)
            except UnicodeDecodeError:
                continue  # mislabelled: fall through to detection
    return _fix_vni(*_detect(content))


def _detect(content: bytes) -> tuple[str, str]:
    for codec in ("utf-8", "cp949"):
        try:
            text = content.decode(codec)
        except UnicodeDecodeError:
            continue
        if codec == "utf-8" or _hangul_share(text) > 0.2:
            return text, codec
    best = from_bytes(content[:200_000]).best()
    if best is None or not best.encoding:
        raise EncodingError("cannot determine the text encoding (binary data?)")
    codec = _codec(best.encoding) or "cp1252"
    return content.decode(codec, errors="replace"), codec


def _hangul_share(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for ch in letters if "\uac00" <= ch <= "\ud7a3") / len(letters)


# --- VNI -------------------------------------------------------------------------------
# VNI writes a Vietnamese letter as a base letter followed by a mark character.
_TONE = {"ù": "\u0301", "ø": "\u0300", "û": "\u0309", "õ": "\u0303", "ï": "\u0323"}
_HAT = {"â": "", "á": "\u0301", "à": "\u0300", "å": "\u0309", "ã": "\u0303", "ä": "\u0323"}
_BREVE = {"ê": "", "é": "\u0301", "è": "\u0300", "ú": "\u0309", "ü": "\u0303", "ë": "\u0323"}
_SINGLE = {"ñ": "đ", "Ñ": "Đ", "ô": "ơ", "Ô": "Ơ", "ö": "ư", "Ö": "Ư",
           "í": "í", "Í": "Í", "ì": "ì", "Ì": "Ì", "æ": "ỉ", "Æ": "Ỉ", "ó": "ĩ", "Ó": "Ĩ", "ò": "ị", "Ò": "Ị"}
_MARKS = "".join(set(_TONE) | set(_HAT) | set(_BREVE))
_MARKS += _MARKS.upper()
_VNI_SEQ = re.compile(f"([aeouyAEOUYôöÔÖ])([{_MARKS}])|([{''.join(_SINGLE)}])")
_VNI_HINT = re.compile(r"(?:[aeouy][ùøûõïâáàåãäêéèúüë])|ñ|[öô][ùøûõï]", re.I)


def _vni_letter(base: str, mark: str) -> str:
    low = mark.lower()
    b = _SINGLE.get(base, base)
    if low in _HAT and b.lower() in "aeo":
        combining = "\u0302" + _HAT[low]
    elif low in _BREVE and b.lower() == "a":
        combining = "\u0306" + _BREVE[low]
    elif low in _TONE:
        combining = _TONE[low]
    else:
        return base + mark
    return unicodedata.normalize("NFC", b + combining)


def vni_to_unicode(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        return _SINGLE[m.group(3)] if m.group(3) else _vni_letter(m.group(1), m.group(2))

    return _VNI_SEQ.sub(one, text)


def looks_like_vni(text: str) -> bool:
    """VNI text decoded as Windows-1252 has many vowel+mark pairs and almost no real
    Vietnamese letters (ạ, ư, đ...)."""
    sample = text[:50_000]
    words = max(1, len(sample.split()))
    hints = len(_VNI_HINT.findall(sample))
    real_vi = sum(1 for ch in sample if "\u1ea0" <= ch <= "\u1ef9" or ch in "ăđơưĂĐƠƯ")
    return hints >= 5 and hints / words > 0.15 and real_vi < hints / 10


def _fix_vni(text: str, codec: str) -> tuple[str, str]:
    if codec in ("cp1252", "latin_1", "iso8859-1") and looks_like_vni(text):
        return vni_to_unicode(text), "vni"
    return text, codec
