"""URL canonicalisation: every variant of a page's URL maps to one canonical form."""

import pytest

from viko.corpus.urls import canonicalize, doc_id_for_url, host_of, trap_reason, url_pattern


@pytest.mark.parametrize("variant", [
    "http://Example.gov.vn/tin-tuc/bai-1.html",
    "HTTP://EXAMPLE.GOV.VN:80/tin-tuc/bai-1.html#binh-luan",
    "http://example.gov.vn/tin-tuc/bai-1.html/",
    "http://example.gov.vn/tin-tuc/./x/../bai-1.html",
    "http://example.gov.vn/tin-tuc/bai-1.html?utm_source=zalo&utm_medium=social&fbclid=abc",
    "http://example.gov.vn/tin-tuc/bai-1.html;jsessionid=0A1B2C",
    "http://example.gov.vn/tin-tuc/bai-1.html?PHPSESSID=deadbeef",
])
def test_variants_share_one_canonical_url(variant: str) -> None:
    assert canonicalize(variant) == "http://example.gov.vn/tin-tuc/bai-1.html"


def test_query_is_kept_sorted_and_content_parameters_survive() -> None:
    assert canonicalize("https://mofa.go.kr/board?page=2&id=7&gclid=x") == "https://mofa.go.kr/board?id=7&page=2"
    assert canonicalize("https://a.vn") == "https://a.vn/"
    assert canonicalize("https://a.vn:8443/x") == "https://a.vn:8443/x"


def test_relative_links_and_non_http_schemes() -> None:
    assert canonicalize("../b.html?x=1", "https://a.vn/news/2024/a.html") == "https://a.vn/news/b.html?x=1"
    for bad in ("mailto:a@b.vn", "javascript:void(0)", "tel:0123", "", "http://"):
        assert canonicalize(bad) is None


def test_non_ascii_paths_are_percent_encoded_once() -> None:
    once = canonicalize("https://a.vn/tin tức/Hà Nội")
    assert once == "https://a.vn/tin%20t%E1%BB%A9c/H%C3%A0%20N%E1%BB%99i"
    assert canonicalize(once or "") == once
    assert canonicalize("https://a.vn/a%2fb") == "https://a.vn/a%2Fb"


def test_doc_ids_are_stable_and_readable() -> None:
    url = "http://127.0.0.1:8080/x"
    # Stored in catalogues and indexes: the same id in every process and on every machine.
    assert doc_id_for_url(url) == "127.0.0.1_8080-e255d00c0727"
    assert doc_id_for_url(url + "y") != doc_id_for_url(url)
    assert host_of(url) == "127.0.0.1:8080"


def test_trap_bounds() -> None:
    assert url_pattern("https://a.vn/lich/2024/05?thang=5&ngay=3") == "a.vn/lich/0/0?ngay&thang"
    assert "repeats" in (trap_reason("https://a.vn/a/b/a/b/a/b") or "")
    assert "longer" in (trap_reason("https://a.vn/" + "x" * 700) or "")
    assert trap_reason("https://a.vn/tin-tuc/bai-1.html") is None
