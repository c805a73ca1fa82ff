"""Pure logic of the web layer: facets, URL state, interface language (no model)."""

import sqlite3
from types import SimpleNamespace

from viko.corpus.frontier import log_outcomes, recent_log
from viko.search.engine import DocMeta, Scored
from viko.search.facets import Filters, apply_filters, count_facets, sort_items, year_of
from viko.web.i18n import from_accept_language, negotiate, translator
from viko.web.links import SearchLinks, page_window, with_param

META = {
    "a": DocMeta("A", type="agreement", date="2023-07-28", source="S1"),
    "b": DocMeta("B", type="news", date="2024-01-02", source="S1"),
    "c": DocMeta("C", type="news", date="2025-03-01", source="S2"),
    "d": DocMeta("D", type="report", date="", source=""),
}
ITEMS = [Scored("a", "vi", 3.0, 0), Scored("b", "ko", 2.0, 1), Scored("c", "vi", 1.0, 2), Scored("d", "ko", 0.5, 3)]


def values(facets, name):  # type: ignore[no-untyped-def]
    return {v.value: (v.count, v.selected) for v in facets[name]}


def test_filters_combine_across_facets_and_alternate_within() -> None:
    f = Filters.of(lang=["vi", "all", "vi"], type=["news", "agreement"])
    assert f.lang == ("vi",) and f.active
    assert [s.doc_id for s in apply_filters(ITEMS, META, f)] == ["a", "c"]
    assert [s.doc_id for s in apply_filters(ITEMS, META, f.toggled("type", "agreement"))] == ["c"]
    assert not Filters.of(lang=["all"]).active


def test_facet_counts_are_disjunctive() -> None:
    facets = count_facets(ITEMS, META, Filters.of(type=["news"]))
    assert values(facets, "type") == {"news": (2, True), "agreement": (1, False), "report": (1, False)}
    assert values(facets, "lang") == {"ko": (1, False), "vi": (1, False)}
    assert list(values(facets, "year")) == ["2025", "2024"]  # newest first, undated left out
    assert "" not in values(facets, "source")


def test_chosen_value_without_matches_is_still_listed() -> None:
    facets = count_facets(ITEMS, META, Filters.of(source=["gone"]))
    assert values(facets, "source")["gone"] == (0, True)


def test_sort_by_date_puts_undated_last() -> None:
    assert [s.doc_id for s in sort_items(ITEMS, META, "date")] == ["c", "b", "a", "d"]
    assert [s.doc_id for s in sort_items(ITEMS, META, "relevance")] == ["a", "b", "c", "d"]
    assert year_of("2024-05") == "2024" and year_of("n/a") == ""


def test_links_hold_the_whole_state() -> None:
    links = SearchLinks("năng lượng", Filters.of(lang=["vi"]), "date")
    assert links.toggle("type", "news") == "/?q=n%C4%83ng+l%C6%B0%E1%BB%A3ng&lang=vi&type=news&sort=date"
    assert links.toggle("lang", "vi") == "/?q=n%C4%83ng+l%C6%B0%E1%BB%A3ng&sort=date"
    assert links.page(3).endswith("&page=3") and "lang=" not in links.clear()
    assert with_param("/doc/x", [("q", "a"), ("ui", "vi")], "ui", "ko") == "/doc/x?q=a&ui=ko"
    # "…" (None) where pages are left out; a gap of one page shows the page: never "1 2 3 5"
    assert page_window(5, 20) == [1, 2, 3, 4, 5, 6, 7, None, 20] and page_window(1, 0) == []
    assert page_window(1, 5) == [1, 2, 3, 4, 5]
    assert page_window(6, 12) == [1, None, 4, 5, 6, 7, 8, None, 12]
    assert page_window(12, 12) == [1, None, 10, 11, 12]
    dated = SearchLinks("x", Filters(), after="2024", before="2025-06", exact=True)
    assert dated.url() == "/?q=x&after=2024&before=2025-06&exact=1"
    assert dated.as_typed() == dated.url() and "exact=1" in SearchLinks("x", Filters()).as_typed()
    assert dated.export("csv") == "/api/search.csv?q=x&after=2024&before=2025-06&exact=1"
    assert "after" not in dated.without_dates() and "after" not in dated.clear()


def test_interface_language_negotiation() -> None:
    assert from_accept_language("fr-FR,ko;q=0.8,vi;q=0.9") == "vi"
    assert from_accept_language("ko-KR") == "ko" and from_accept_language("de") is None
    assert negotiate({"ui": "ko"}, {"viko_ui": "vi"}, "en") == "ko"
    assert negotiate({"ui": "xx"}, {"viko_ui": "vi"}, "en") == "vi"
    assert negotiate({}, {}, "de") == "en"
    assert translator("ko")("results", n=3) == "문서 3건"
    assert translator("en")("results", n=1) == "1 document" and translator("en")("results", n=0) == "0 documents"
    assert translator("en")("of_them_possible", n=1) == "1 of them a possible match"
    assert translator("vi")("results", n=1) == "1 tài liệu"
    assert translator("vi")("no-such-key") == "no-such-key"


def test_status_reads_crawls_defensively() -> None:
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    cat = SimpleNamespace(conn=conn)  # an older data directory: no crawl tables
    assert log_outcomes(cat) == {} and recent_log(cat, 5) == []  # type: ignore[arg-type]
    conn.execute("CREATE TABLE crawl_log (id INTEGER PRIMARY KEY, url TEXT, outcome TEXT, http_status INTEGER,"
                 " reason TEXT, at TEXT)")
    conn.execute("INSERT INTO crawl_log (url, outcome, http_status, reason, at) VALUES"
                 " ('https://a.example/1', 'stored', 200, '', '2025-01-01'), ('https://a.example/2', 'failed', 500, 'boom', '2025-01-02')")
    counts, recent = log_outcomes(cat), recent_log(cat, 5)  # type: ignore[arg-type]
    assert counts == {"stored": 1, "failed": 1} and recent[0]["reason"] == "boom"
