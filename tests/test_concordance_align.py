"""Concordance marks from the memory's own word alignment, where the glossary has no equivalent.

A form is marked on the other side only when the memory links it strongly to the query: in
most of the query's translation units, from several document pairs, rarely elsewhere. A word
that only keeps the linked one company, an association seen in one document pair only, and
one seen in too few units mark nothing. CLI, API and page show the marks with their origin.
"""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from viko.cli import main
from viko.corpus.catalogue import Catalogue
from viko.corpus.glossary import Entry, Glossary
from viko.corpus.tm import TranslationMemory, Unit, search_key
from viko.settings import Settings
from viko.web.app import create_app
from viko.workbench.concordance import ConcordanceHit, concordance
from viko.workbench.wordalign import LinkParams, linked_terms

# thư viện = 도서관 (library) in five units of five document pairs; thiếu nhi / 어린이 (children)
# goes with it in four of them (a companion, not a translation); 도서관 also stands for "phòng đọc"
# twice. máy bơm = 펌프 (pump) four times, all in one document pair; cảm biến = 센서 (sensor) in
# three of its five units (감지기 in the others). None of these pairs is in the bundled glossary
# except cảm biến.
LIBRARY = [
    ("Thành phố mở thư viện mới cho thiếu nhi.", "시는 어린이를 위한 새 도서관을 열었다."),
    ("Thư viện thiếu nhi có nhiều sách tranh.", "어린이 도서관에는 그림책이 많다."),
    ("Học sinh đọc sách ở thư viện thiếu nhi mỗi tối.", "학생들은 매일 저녁 어린이 도서관에서 책을 읽는다."),
    ("Thư viện cho thiếu nhi mượn sách miễn phí.", "도서관은 어린이에게 책을 무료로 빌려준다."),
    ("Hai bên sẽ xây thêm ba thư viện.", "양측은 도서관 세 곳을 더 짓는다."),
]
PUMP = [("Máy bơm mới tiết kiệm điện.", "새 펌프는 전기를 아낀다."),
        ("Máy bơm chạy suốt đêm.", "펌프는 밤새 돌아간다."),
        ("Kỹ sư sửa máy bơm cũ.", "기술자가 낡은 펌프를 고쳤다."),
        ("Máy bơm được bảo hành hai năm.", "펌프는 2년 동안 보증된다.")]
SENSOR = [("Cảm biến đo độ ẩm của đất.", "센서가 흙의 습도를 잰다."),
          ("Nông dân đọc dữ liệu cảm biến trên điện thoại.", "농민들은 휴대전화로 센서 데이터를 읽는다."),
          ("Cảm biến gửi cảnh báo khi trời quá nóng.", "센서는 날씨가 너무 더우면 경보를 보낸다."),
          ("Cảm biến khói được lắp ở mỗi tầng.", "층마다 연기 감지기가 설치되었다."),
          ("Kỹ sư thay cảm biến bị hỏng.", "기술자가 고장 난 감지기를 교체했다.")]
# năng lượng = 에너지 (energy); the last sentence also holds "năng lượng" across two words
# (khả_năng | lượng_hóa, as the analyser segments it).
ENERGY = [("Nhà máy dùng năng lượng sạch.", "공장은 깨끗한 에너지를 쓴다."),
          ("Giá năng lượng tăng mạnh.", "에너지 가격이 크게 올랐다."),
          ("Hai bên hợp tác về năng lượng.", "양측은 에너지 분야에서 협력한다."),
          ("Tăng năng lượng tái tạo và khả năng lượng hóa.", "재생에너지를 늘리고 계량화 능력을 높인다.")]
BACKGROUND = [("Thành phố mở tuyến xe buýt mới.", "시는 새 버스 노선을 열었다."),
              ("Bệnh viện tiếp nhận thêm bác sĩ.", "병원은 의사를 더 받았다."),
              ("Giá gạo tăng trong quý ba.", "3분기에 쌀값이 올랐다."),
              ("Trường học mở lớp tiếng Hàn.", "학교는 한국어 수업을 열었다."),
              ("Cảng biển xử lý nhiều hàng hóa hơn.", "항구는 더 많은 화물을 처리했다."),
              ("Trường học mở lớp vẽ cho thiếu nhi.", "학교는 어린이 미술 수업을 열었다."),
              ("Phòng đọc của trường mở cửa đến tối.", "학교 도서관은 저녁까지 문을 연다."),
              ("Sinh viên ôn thi ở phòng đọc.", "대학생들은 도서관에서 시험공부를 한다.")]


def _units() -> list[Unit]:
    out = [Unit(v, k, "aligned", 0.9, f"g{i}-vi", f"g{i}-ko") for i, (v, k) in enumerate(LIBRARY)]
    out += [Unit(v, k, "aligned", 0.9, "p-vi", "p-ko") for v, k in PUMP]
    out += [Unit(v, k, "aligned", 0.9, f"s{i}-vi", f"s{i}-ko") for i, (v, k) in enumerate(SENSOR)]
    out += [Unit(v, k, "aligned", 0.9, f"e{i}-vi", f"e{i}-ko") for i, (v, k) in enumerate(ENERGY)]
    out += [Unit(v, k, "tmx", 1.0, source="old.tmx") for v, k in BACKGROUND]
    return out


@pytest.fixture
def cat(tmp_path: Path) -> Catalogue:
    c = Catalogue.open(tmp_path / "catalogue.sqlite")
    with c.conn:
        TranslationMemory(c).add_many(_units())
    return c


def aligned(hit: ConcordanceHit, lang: str) -> list[str]:
    spans = hit.vi_spans if lang == "vi" else hit.ko_spans
    text = hit.unit.vi if lang == "vi" else hit.unit.ko
    return [text[a:b] for (a, b), o in zip(spans, hit.origins(lang), strict=True) if o == "alignment"]


def test_a_strongly_linked_form_is_marked_on_the_other_side(cat: Catalogue) -> None:
    res = concordance(cat, "thư viện")
    assert res.total == 5 and all(aligned(h, "ko") == ["도서관"] for h in res.hits)
    assert all(h.origins("vi") == ("query",) for h in res.hits)
    assert [(t.form, t.together, t.units, t.count) for t in res.linked] == [("도서관", 5, 5, 7)]
    assert not concordance(cat, "thư viện", links=LinkParams(min_dice=0.9)).linked  # Dice 10/12
    back = concordance(cat, "도서관")  # the other way: whole Vietnamese words
    marks = [aligned(h, "vi") for h in back.hits]
    assert back.total == 7 and sorted(m[0].lower() for m in marks if m) == ["thư viện"] * 5


def test_a_vietnamese_mark_does_not_split_a_word(cat: Catalogue) -> None:
    res = concordance(cat, "에너지")
    assert [t.form for t in res.linked] == ["năng lượng"]
    assert sorted(aligned(h, "vi") for h in res.hits) == [["năng lượng"]] * 4  # not in khả năng | lượng
    last = next(h for h in res.hits if h.unit.vi.startswith("Tăng"))
    assert last.vi_spans == ((5, 15),)


def test_a_companion_word_is_not_a_second_translation(cat: Catalogue) -> None:
    terms = linked_terms(TranslationMemory(cat), [(search_key(u.ko), u.ko_doc) for u in _units()[:5]], "ko",
                         LinkParams(max_terms=3))
    assert [t.form for t in terms] == ["도서관"]  # 어린이 stands beside it, never alone


def test_weak_associations_mark_nothing(cat: Catalogue) -> None:
    pump = concordance(cat, "máy bơm")  # four units, one document pair
    assert pump.total == 4 and not pump.linked and not any(h.ko_spans for h in pump.hits)
    sensor = concordance(cat, "cảm biến")  # 센서 in three units of five
    assert sensor.total == 5 and not sensor.linked and not any(h.ko_spans for h in sensor.hits)
    # What holds them back: the pump's units are evidence enough as separate sources, the
    # sensor's with a lower floor.
    assert concordance(cat, "máy bơm", links=LinkParams(min_sources=1)).linked
    assert concordance(cat, "cảm biến", links=LinkParams(min_together=3)).linked


def test_the_glossary_comes_first(cat: Catalogue) -> None:
    glossary = Glossary([Entry("thư viện", "도서관")])
    res = concordance(cat, "thư viện", glossary=glossary)
    assert all(h.origins("ko") == ("glossary",) for h in res.hits) and not res.linked
    payload = res.hits[0].to_json()
    assert payload["ko_span_origins"] == ["glossary"] and payload["vi_span_origins"] == ["query"]


def test_cli_api_and_page_show_alignment_marks(tmp_path: Path, cat: Catalogue) -> None:
    out = CliRunner().invoke(main, ["--data", str(tmp_path), "concordance", "--json", "thư viện"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    hit = payload["hits"][0]
    assert [hit["ko"][a:b] for a, b in hit["ko_spans"]] == ["도서관"] and hit["ko_span_origins"] == ["alignment"]
    assert payload["alignment"][0]["form"] == "도서관"
    text = CliRunner().invoke(main, ["--data", str(tmp_path), "concordance", "thư viện"])
    assert "Word alignment" in text.output and "도서관 (in 5 of 5 units" in text.output
    client = TestClient(create_app(Settings(data_dir=tmp_path)))
    body = client.get("/api/concordance", params={"q": "thư viện"}).json()
    first = body["hits"][0]
    assert [first["ko"][a:b] for a, b in first["ko_spans"]] == ["도서관"]
    assert first["ko_span_origins"] == ["alignment"] and first["vi_span_origins"] == ["query"]
    assert body["alignment"] == [{"form": "도서관", "lang": "ko", "dice": 0.833, "together": 5, "units": 5,
                                  "count": 7}]
    html = client.get("/concordance", params={"q": "thư viện"}).text
    assert '<mark class="aligned" title="linked to the query by the memory\'s word alignment">도서관</mark>' in html and "<mark>thư viện</mark>" in html
    empty = client.get("/api/concordance", params={"q": "máy bơm"}).json()
    assert empty["alignment"] == [] and all(h["ko_spans"] == [] for h in empty["hits"])
