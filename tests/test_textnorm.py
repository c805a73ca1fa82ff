import unicodedata

import pytest

from viko.corpus.textnorm import clean_text, detect_language, fold_vi, normalize_vi, normalize_vi_word


@pytest.mark.parametrize(("old", "new"), [
    ("hoà", "hòa"), ("thuý", "thúy"), ("thoả", "thỏa"), ("Hoà Bình", "Hòa Bình"), ("khoẻ", "khỏe"),
])
def test_old_and_new_tone_placement_meet(old: str, new: str) -> None:
    # they meet at one spelling that keeps its tone mark (on the vowel textnorm puts it), not at
    # any spelling both could be reduced to
    assert normalize_vi(old) == normalize_vi(new) == new


@pytest.mark.parametrize("word", ["quý", "già", "gì", "người", "thuở", "khuỷu", "hoàng", "toán",
                                  "tuyển", "nghiêng", "chuyển", "giữa", "của", "quả", "yêu", "ươm"])
def test_words_with_one_correct_placement_are_unchanged(word: str) -> None:
    assert normalize_vi_word(word) == word


def test_combining_marks_become_precomposed() -> None:
    decomposed = unicodedata.normalize("NFD", "Hải Phòng")
    assert normalize_vi(decomposed) == "Hải Phòng"
    assert clean_text(decomposed + "\r\n\r\n\r\nx\x00") == "Hải Phòng\n\nx"


def test_fold_strips_all_marks() -> None:
    assert fold_vi("Đà Nẵng Hải Phòng") == "da nang hai phong"


@pytest.mark.parametrize(("text", "lang"), [
    ("Thỏa thuận hợp tác về năng lượng tái tạo", "vi"),
    ("전라남도와 하이퐁시는 재생에너지 협약을 체결했다", "ko"),
    ("전라남도(Jeollanam-do)와 하이퐁(Hải Phòng)은 IoT, 5G, ESS 분야에서 협력한다", "ko"),
    ("Hải Phòng hợp tác với 전라남도 về IoT và 5G trong lĩnh vực năng lượng", "vi"),
    ("The city signed a memorandum on renewable energy", "other"),
    ("12345 !!!", "other"),
])
def test_language_detection_by_script(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_fold_vi_fast_folds_as_fold_vi() -> None:
    from viko.corpus.textnorm import fold_vi, fold_vi_fast

    chars = [chr(c) for c in range(0x20, 0x10000) if not 0xD800 <= c <= 0xDFFF]
    assert [c for c in chars if fold_vi_fast(c) != fold_vi(c)] == []
    for text in ("Hải Phòng ĐIỆN MẶT TRỜI", "Ha\u0309i Pho\u0300ng", "하이퐁시 전라남도", "İstanbul ﬁnance", "Ứng dụng IoT"):
        assert fold_vi_fast(text) == fold_vi(text), text
    assert fold_vi_fast("Điện mặt trời áp mái") == "dien mat troi ap mai"
