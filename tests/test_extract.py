"""Extraction of every supported format, encodings, and clear reasons for what has no text."""

import unicodedata
from pathlib import Path

import pytest

from viko.corpus.extract import extract, sniff
from viko.corpus.formats import ExtractionError
from viko.corpus.formats.encoding import decode_bytes, looks_like_vni, vni_to_unicode
from viko.corpus.formats.hwp import decode_para, records

from fixtures import make_fixtures as mk
from fixtures.server import FixtureSite
from helpers import SHARED, requires_shared

FILES = mk.fixture_files()


def test_pdf_text_title_and_date() -> None:
    ex = extract(FILES["bao-cao-2024.pdf"])
    assert ex.format == "pdf" and ex.title == "Báo cáo kết quả hợp tác 2024" and ex.date == "2024-03-15"
    assert "thỏa thuận hợp tác với tỉnh Jeollanam-do" in unicodedata.normalize("NFC", ex.text)


def test_scanned_pdf_is_reported_not_stored_empty() -> None:
    with pytest.raises(ExtractionError, match="no text layer"):
        extract(FILES["ban-scan.pdf"])


def test_docx_paragraphs_and_tables() -> None:
    ex = extract(FILES["bien-ban-ghi-nho.docx"])
    assert ex.format == "docx" and ex.title == "Biên bản ghi nhớ hợp tác"
    assert "Đại học Hàng hải | Đại học Mokpo" in ex.text and "điện gió ngoài khơi" in ex.text


@pytest.mark.parametrize("name", ["ruling.hwp", "ruling-plain.hwp"])
def test_hwp_compressed_and_uncompressed(name: str) -> None:
    ex = extract(FILES[name])
    assert ex.format == "hwp"
    assert ex.text.splitlines() == mk.HWP_RULING
    assert ex.title == mk.HWP_RULING[1]


def test_hwp_distribution_document_gets_a_clear_error() -> None:
    with pytest.raises(ExtractionError, match="distribution"):
        extract(FILES["ruling-distribution.hwp"])


def test_hwp_para_text_controls() -> None:
    # "A", a tab (inline control: 8 units), "B", a field start (extended: 8 units), "C", para end
    units = [0x41, 9, 0, 0, 0, 0, 0, 0, 9, 0x42, 3, 1, 2, 3, 4, 5, 6, 3, 0x43, 13]
    payload = b"".join(u.to_bytes(2, "little") for u in units)
    assert decode_para(payload) == "A\tBC\n"
    big = mk._record(67, b"x" * 5000)
    tag, _level, payload = next(records(big))
    assert tag == 67 and len(payload) == 5000


@pytest.mark.parametrize("manifest", [True, False])
def test_hwpx_with_and_without_manifest(manifest: bool) -> None:
    ex = extract(mk.make_hwpx(mk.HWPX_PRESS, manifest=manifest))
    assert ex.format == "hwpx" and ex.text.splitlines() == mk.HWPX_PRESS


def test_html_main_text_without_boilerplate() -> None:
    site = FixtureSite()
    html = site.page("tin-tuc/hai-phong-jeollanam.html")
    ex = extract(html.encode(), content_type="text/html; charset=utf-8", url="http://hp.gov.vn/a")
    assert ex.title == "Hải Phòng và Jeollanam-do ký thỏa thuận hợp tác về năng lượng tái tạo"
    assert ex.date == "2023-07-28" and ex.sitename == "Cổng thông tin điện tử Hải Phòng"
    assert "điện gió ngoài khơi" in ex.text
    for boilerplate in ("Bản quyền thuộc", "Tin liên quan", "Lịch công tác", "Giấy phép số", "Trang chủ"):
        assert boilerplate not in ex.text


def _page(body: str, footer: str = "") -> str:
    filler = "<p>" + " ".join(["Hai bên thống nhất trao đổi kinh nghiệm về giao thông thông minh."] * 6) + "</p>"
    return (f"<html><head><title>Tin hợp tác</title></head><body><article><h1>Tin hợp tác</h1>{body}{filler}"
            f"</article><footer>{footer}</footer></body></html>")


@pytest.mark.parametrize(("body", "footer", "wanted"), [
    ("<p>Dự án giai đoạn 2026-2028 được hai bên thông qua.</p>", "© 2026 Sở KH&CN", ""),  # a lone year
    ("<p>대구시는 2026년 3월 12일 협약을 체결했다. 지원은 2026년부터 2028년까지다.</p>", "", "2026-03-12"),
    ("<p>Ngày 12/3/2026, UBND thành phố ký biên bản ghi nhớ.</p>", "© 2026", "2026-03-12"),
    ("<p>Ngày 01/01/2026, hai bên ký biên bản ghi nhớ.</p>", "", "2026-01-01"),  # written: kept
])
def test_html_date_is_one_the_page_writes(body: str, footer: str, wanted: str) -> None:
    """A page without date markup is dated from its text, never January 1st of a year it
    only mentions (htmldate's last resort), and a Korean full date is read."""
    assert extract(_page(body, footer).encode(), content_type="text/html; charset=utf-8").date == wanted


def test_a_list_of_links_is_told_from_an_article() -> None:
    """A section front whose text is its heading and its own link texts lists articles; an
    article with links in it is an article (the crawler stores the articles, not the list)."""
    from viko.corpus.formats.html import extract_html, is_link_list, page_links

    titles = [f"Đà Nẵng và Daegu hợp tác về thành phố thông minh, đợt {i}" for i in range(1, 7)]
    items = "".join(f'<li><a href="/tin/{i}.html">{t}</a></li>' for i, t in enumerate(titles))
    front = f"<html><body><h1>Tin hợp tác quốc tế</h1><ul>{items}</ul></body></html>"
    shell = '<html><body><nav><a href="/">Trang chủ</a></nav><h1>Tin hợp tác quốc tế</h1><ul><li><a href="/a">A</a></li></ul></body></html>'
    article = _page('<p>Theo <a href="/daegu">thỏa thuận</a>, Daegu sẽ hỗ trợ Đà Nẵng xây dựng nền tảng dữ liệu.</p>')
    for html, listed in ((front, True), (shell, True), (article, False)):
        text = extract_html(html).text
        assert is_link_list(text, page_links(html, "http://site.test/")) is listed, html[:60]
    # the share rule alone: a main text whose lines are mostly link texts
    links = page_links(front, "http://site.test/")
    assert is_link_list("\n".join([*titles, "Xem thêm tin khác"]), links)
    assert not is_link_list("\n".join([titles[0], "Hai bên ký kết. " * 20]), links)


@pytest.mark.parametrize("declared", ["text/html; charset=EUC-KR", "text/html", "text/html; charset=utf-8"])
def test_euc_kr_declared_undeclared_or_mislabelled(declared: str) -> None:
    html = FixtureSite().page("ko/euckr.html", charset_meta="").replace("Tiếng Việt", "").replace("©", "")
    ex = extract(html.encode("euc-kr"), content_type=declared)
    assert ex.encoding == "cp949"
    assert "해상풍력 기술인력 양성과정" in ex.title and "한글이 깨지지 않고" in ex.text


def _cp1258(text: str) -> bytes:
    """Windows-1258 writes tone marks as separate combining characters."""
    tones = "\u0300\u0301\u0303\u0309\u0323"
    out = b""
    for ch in text:
        decomposed = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in tones))
        out += base.encode("cp1258") + "".join(c for c in decomposed if c in tones).encode("cp1258")
    return out


def test_windows_1258_declared_and_undeclared() -> None:
    text = "Hợp tác năng lượng tái tạo giữa Hải Phòng và Jeollanam-do, thỏa thuận ký kết ngày hôm nay."
    for declared in ("windows-1258", ""):
        decoded, codec = decode_bytes(_cp1258(text), declared)
        assert unicodedata.normalize("NFC", decoded) == text and codec == "cp1258"


def test_vni_pages_are_converted() -> None:
    vni = "Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam. Ñoäc laäp - Töï do - Haïnh phuùc. Bieân baûn ghi nhôù hôïp taùc."
    assert looks_like_vni(vni)
    assert vni_to_unicode(vni) == ("Cộng hòa xã hội chủ nghĩa Việt Nam. Độc lập - Tự do - Hạnh phúc. "
                                   "Biên bản ghi nhớ hợp tác.")
    html = f"<html><body><p>{vni}</p><p>{vni}</p></body></html>".encode("cp1252")
    text, codec = decode_bytes(html, "windows-1252", html=True)
    assert codec == "vni" and "Biên bản ghi nhớ" in text
    assert not looks_like_vni("Hợp tác năng lượng tái tạo, phát triển bền vững.")


def test_binary_with_wrong_content_type_and_unsupported_formats() -> None:
    with pytest.raises(ExtractionError, match="PNG image"):
        sniff(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "text/html")
    with pytest.raises(ExtractionError, match="empty"):
        extract(b"   ")
    with pytest.raises(ExtractionError, match="HWP 3"):
        extract(b"HWP Document File V3.00 \x1a\x01\x02\x03\x04\x05")
    with pytest.raises(ExtractionError, match="OLE"):
        extract(mk.compound_file({"WordDocument": b"x"}))


def test_plain_text_utf8() -> None:
    ex = extract("Thỏa thuận hợp tác\n\nNội dung thỏa thuận giữa hai bên.".encode())
    assert ex.format == "text" and ex.title == "Thỏa thuận hợp tác"


@requires_shared("hwp")
def test_real_hwp_rulings_sample() -> None:
    files = sorted((SHARED / "hwp" / "nts-rulings").glob("*.hwp"))[:40]
    texts, errors = [], []
    for path in files:
        try:
            texts.append(extract(path.read_bytes()).text)
        except ExtractionError as exc:
            errors.append(str(exc))
    assert len(texts) >= 35 and all("DRM" in e for e in errors)
    assert sum("[ 제    목 ]" in t or "제 목" in t or "제목" in t for t in texts) >= 30


@requires_shared("hwpx")
def test_real_hwpx_documents() -> None:
    results = {p.name: extract(p.read_bytes()) for p in Path(SHARED / "hwpx").glob("*.hwpx")}
    assert len(results) == 5 and all(len(r.text) > 500 for r in results.values())
    assert "입법예고" in results["20240626-no_manifest.hwpx"].text.replace(" ", "")
    assert results["20241104-mot.hwpx"].title.startswith("2024 파리 올림픽")
