"""Property-based fuzzing (hypothesis, derandomized, bounded examples): whatever bytes an
extractor or the query path gets, the answer is a result or the one expected error, never
another exception. Seeds are the project's own fixtures, mutated and cut."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from viko.cli_common import QueryTextError, query_from_argv, query_from_line
from viko.corpus.extract import extract
from viko.corpus.formats import Extracted, ExtractionError
from viko.corpus.formats.budget import Budget
from viko.corpus.formats.hwp import decode_para
from viko.corpus.formats.hwpx import section_text
from viko.search.engine import QueryError, SearchEngine

from fixtures import make_fixtures as mk

FUZZ = settings(max_examples=60, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
SMALL = Budget(max_bytes=2_000_000, max_chars=20_000)
SEEDS = {name: blob for name, blob in mk.fixture_files().items()}
SEEDS["page.html"] = ("<html><head><title>Tin</title></head><body><article><p>"
                      + "Hai bên hợp tác phát triển năng lượng tái tạo. " * 20 + "</p></article></body></html>").encode()
SEEDS["note.txt"] = "Ghi chú họp\nHai bên thống nhất lịch làm việc.".encode()
_NAMES = sorted(SEEDS)


def _must_extract_or_explain(content: bytes) -> None:
    try:
        result = extract(content, budget=SMALL)
    except ExtractionError as exc:
        assert str(exc)  # every refusal says why
        return
    assert isinstance(result, Extracted) and result.text.strip() and len(result.text) <= SMALL.max_chars


@FUZZ
@given(name=st.sampled_from(_NAMES), data=st.data())
def test_mutated_fixtures_extract_or_explain(name: str, data: st.DataObject) -> None:
    blob = bytearray(SEEDS[name])
    for _ in range(data.draw(st.integers(0, 8), label="flips")):
        at = data.draw(st.integers(0, len(blob) - 1), label="at")
        blob[at] = data.draw(st.integers(0, 255), label="byte")
    cut = data.draw(st.integers(1, len(blob)), label="cut")
    _must_extract_or_explain(bytes(blob[:cut]))


@FUZZ
@given(prefix=st.sampled_from([b"%PDF-1.4\n", b"PK\x03\x04", mk.make_hwp(["x"])[:512], b"<html><body>", b""]),
       tail=st.binary(max_size=2_000))
def test_random_bytes_behind_a_format_magic_extract_or_explain(prefix: bytes, tail: bytes) -> None:
    _must_extract_or_explain(prefix + tail)


@FUZZ
@given(st.binary(max_size=400))
def test_hwp_paragraph_decoding_takes_any_payload(payload: bytes) -> None:
    assert isinstance(decode_para(payload), str)


@FUZZ
@given(st.lists(st.sampled_from([*"<>/ptxrun:=\"' hs", "<hp:p>", "</hp:p>", "<hp:t>", "</hp:t>", "가"]),
                max_size=120).map("".join))
def test_hwpx_sections_of_any_markup_give_text_or_a_syntax_error(xml: str) -> None:
    from lxml import etree

    with contextlib.suppress(etree.XMLSyntaxError):  # extract_hwpx: "damaged HWPX section"
        assert isinstance(section_text(xml.encode()), str)


# Random markup almost never forms a paragraph with a text run, so the test above never sees
# text; well-formed sections of nested paragraphs check that no run's text is lost or doubled.
_RUN = st.text(alphabet="ab가 \t", max_size=6).map(lambda t: ("t", t))
_PARA = st.recursive(_RUN, lambda kids: st.lists(kids, max_size=4).map(lambda ks: ("p", ks)), max_leaves=25)


def _markup(node: tuple[str, object], in_para: bool, kept: list[str]) -> str:
    kind, value = node
    if kind == "t":
        if in_para:  # a run outside every paragraph belongs to no line
            kept.append(str(value))
        return f"<hp:t>{value}</hp:t>"
    return "<hp:p>" + "".join(_markup(k, True, kept) for k in value) + "</hp:p>"  # type: ignore[attr-defined]


@FUZZ
@given(st.lists(_PARA, max_size=5))
def test_hwpx_sections_keep_every_runs_text(nodes: list[tuple[str, object]]) -> None:
    kept: list[str] = []
    body = "".join(_markup(n, False, kept) for n in nodes)
    text = section_text(f'<hs:sec xmlns:hp="urn:p" xmlns:hs="urn:s">{body}</hs:sec>'.encode())
    lines = text.split("\n") if text else []
    assert all(line and line == line.strip() for line in lines)  # one stripped line per paragraph
    assert sorted("".join(text.split())) == sorted("".join("".join(kept).split()))


@FUZZ
@given(st.binary(max_size=60))
def test_query_bytes_become_text_or_a_clear_error(raw: bytes) -> None:
    for attempt in (lambda: query_from_line(raw), lambda: query_from_argv(raw.decode("utf-8", "surrogateescape"))):
        try:
            text = attempt()
        except QueryTextError as exc:
            assert str(exc).startswith("the query is not UTF-8 text")
        else:
            assert text.encode("utf-8").decode("utf-8") == text  # encodable: any analyzer takes it


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> SearchEngine:
    from viko.corpus.document import make_document
    from viko.indexer.analyze import default_analyzer
    from viko.indexer.build import update_index
    from viko.indexer.store import Index
    from viko.search.engine import DocMeta

    from helpers import SMALL_DOCS, FakeEncoder

    folder: Path = tmp_path_factory.mktemp("fuzz-index")
    docs = [make_document(d) for d in SMALL_DOCS]
    update_index(docs, folder, FakeEncoder(), default_analyzer())
    meta = {d.id: DocMeta(d.title, d.url, d.type, d.date, d.source) for d in docs}
    return SearchEngine(Index.load(folder), FakeEncoder(), default_analyzer(), meta)


@FUZZ
@given(query=st.text(max_size=80), lang=st.sampled_from(["all", "vi", "ko"]))
def test_any_text_query_gives_results_or_a_query_error(engine: SearchEngine, query: str, lang: str) -> None:
    try:
        text = query_from_argv(query)
    except QueryTextError:
        return  # lone surrogates: the CLI stops them before the engine
    try:
        results = engine.search(text, lang=lang, limit=5)
    except QueryError as exc:
        assert str(exc)
        return
    assert len(results.hits) <= 5
