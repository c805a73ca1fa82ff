"""Offers and demands as records: the structured fields a matchmaking session works with.

A technology offer or demand is stored as an ordinary document (`type` offer/demand). The
fields staff care about (who offers, which sector, where, whom to call) come from the
document's metadata when an import gave them, else from the labelled lines that the forms
of Vietnamese and Korean matching sessions print ("Đơn vị chào bán: ...", "분야: ..."). A
sector missing everywhere is inferred from the text with a small, editable lexicon
(matching/data/sectors.tsv), so records can be browsed and compared by sector.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from viko.corpus.document import Document
from viko.corpus.textnorm import normalize_vi

KINDS = ("offer", "demand")
SECTORS = ("energy", "agriculture", "aquaculture", "port_logistics", "environment",
           "semiconductors_training", "manufacturing", "ict")

# Labels as the session forms print them, lowercased, without the colon.
FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "organisation": ("đơn vị chào bán", "đơn vị có nhu cầu", "đơn vị đặt hàng", "đơn vị", "tổ chức",
                     "공급 기업", "수요 기업", "공급 기관", "수요 기관", "기관", "기업",
                     "organisation", "organization", "company"),
    "sector": ("lĩnh vực", "분야", "sector", "field"),
    "region": ("địa phương", "khu vực", "지역", "region"),
    "contact": ("liên hệ", "연락처", "contact"),
    "technology": ("tên công nghệ", "기술명", "technology"),
}
_LABEL_LINE = re.compile(r"^\s*([^:\n]{2,40}?)\s*:\s*(.+?)\s*$", re.MULTILINE)
# A sector counts for a record when its lexicon hits reach this share of the top sector's
# (so a greenhouse demand that mentions solar power once stays agriculture only).
SECONDARY_SECTOR_SHARE = 0.6


class RecordError(ValueError):
    """A document that is not an offer or a demand."""


@dataclass(frozen=True)
class MatchRecord:
    id: str
    kind: str
    lang: str
    title: str
    text: str
    organisation: str = ""
    sectors: tuple[str, ...] = ()
    region: str = ""
    contact: str = ""
    group: str = ""  # an import's `group` column: records of one organisation in several languages

    @property
    def sector(self) -> str:
        return self.sectors[0] if self.sectors else ""

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "kind": self.kind, "lang": self.lang, "title": self.title,
                "organisation": self.organisation, "sectors": list(self.sectors),
                "region": self.region, "contact": self.contact, "group": self.group}


def labelled_fields(text: str) -> dict[str, str]:
    """Structured fields from 'Label: value' lines; the first line of each field wins."""
    found: dict[str, str] = {}
    for match in _LABEL_LINE.finditer(text):
        label = match.group(1).strip().lower()
        for name, labels in FIELD_LABELS.items():
            if name not in found and label in labels:
                found[name] = match.group(2).strip()
    return found


@lru_cache(maxsize=1)
def sector_lexicon() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    """(sector, lang, pattern) rows of the bundled lexicon; Korean terms match inside words
    (particles attach to them), others on word edges."""
    text = resources.files("viko.matching").joinpath("data/sectors.tsv").read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        sector, lang, term = line.split("\t")
        body = re.escape(_fold(term))
        rows.append((sector, lang, re.compile(body if lang == "ko" else rf"(?<!\w){body}(?!\w)")))
    return tuple(rows)


def _fold(text: str) -> str:
    return normalize_vi(text.lower())


def infer_sectors(text: str) -> tuple[str, ...]:
    """Sectors named in a text, most mentioned first; () when the lexicon finds none."""
    folded = _fold(text)
    counts: Counter[str] = Counter()
    for sector, _lang, pattern in sector_lexicon():
        counts[sector] += len(pattern.findall(folded))
    ranked = [(n, s) for s, n in counts.items() if n > 0]
    if not ranked:
        return ()
    ranked.sort(key=lambda item: (-item[0], SECTORS.index(item[1])))
    top = ranked[0][0]
    return tuple(s for n, s in ranked if n >= SECONDARY_SECTOR_SHARE * top)


def record_from_document(doc: Document) -> MatchRecord:
    """The record of an offer or demand document; RecordError for any other type."""
    if doc.type not in KINDS:
        raise RecordError(f"{doc.id!r} is a {doc.type or 'untyped'} document, not an offer or a demand")
    labels = labelled_fields(doc.text)
    meta = {k: str(v) for k, v in doc.extra.items()}

    def field(name: str) -> str:
        return (meta.get(name) or labels.get(name) or "").strip()

    sector_text = field("sector")
    sectors = infer_sectors(sector_text) if sector_text else ()
    if not sectors:
        sectors = infer_sectors(f"{doc.title}\n{doc.title}\n{doc.text}")
    name, place = split_place(field("organisation"))
    return MatchRecord(id=doc.id, kind=doc.type, lang=doc.lang, title=doc.title or labels.get("technology", doc.id),
                       text=doc.text, organisation=name, sectors=sectors, region=field("region") or place,
                       contact=field("contact"), group=field("group"))


_VI_PLACE = re.compile(r"^(thành phố|tp\.?|tỉnh|quận|huyện|thị xã|thị trấn|phường|xã|khu công nghiệp|kcn)\s",
                       re.IGNORECASE)
_KO_PLACE = re.compile(r"^[가-힣]{1,8}(시|도|군|구|읍|면)$")
_EN_PLACE = re.compile(r"\b(city|province|district|county)\b", re.IGNORECASE)


def is_place(text: str) -> bool:
    """'thành phố Cần Thơ', 'tỉnh Sóc Trăng', '전라남도 나주시', 'Naju City': an address part,
    not an organisation's name or a remark about it."""
    text = text.strip()
    if not text:
        return False
    words = text.split()
    return bool(_VI_PLACE.match(normalize_vi(text)) or all(_KO_PLACE.match(w) for w in words)
                or _EN_PLACE.search(text))


def split_place(organisation: str) -> tuple[str, str]:
    """(name, place) of an organisation line: the place is a parenthesised address
    ('(thành phố Cần Thơ)', '(전라남도 나주시)') or the address parts after the name
    ('…, quận Đồ Sơn, thành phố Hải Phòng': the last one, the city or province). What follows
    a parenthesised address ('…, phát triển cùng nhóm nghiên cứu…') is a remark: neither."""
    organisation = organisation.strip()
    for inside in re.finditer(r"\(([^()]+)\)", organisation):
        if is_place(inside.group(1).split(",")[0]):
            return organisation[:inside.start()].strip().rstrip(","), inside.group(1).strip()
    parts = [p.strip() for p in organisation.split(",")]
    first_place = next((i for i, p in enumerate(parts) if i > 0 and is_place(p)), None)
    if first_place is None:
        return organisation, ""
    places = [p for p in parts[first_place:] if is_place(p)]
    return ", ".join(parts[:first_place]), places[-1]


def records_from_documents(docs: Iterable[Document]) -> list[MatchRecord]:
    """Every offer and demand among the documents, as records (others are skipped)."""
    return [record_from_document(d) for d in docs if d.type in KINDS]
