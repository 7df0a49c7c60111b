"""The one normalization function behind indexing and querying."""

from __future__ import annotations

import unicodedata

import pytest

from search.textnorm import display, fold, has_diacritics, normalize


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("hoà", "hòa"),
        ("Thuỷ", "thủy"),
        ("khoẻ", "khỏe"),
        ("hoạ", "họa"),
        ("uỷ ban", "ủy ban"),
        ("Hoà Bình", "HÒA BÌNH"),
    ],
)
def test_old_and_new_tone_placement_are_equal(old: str, new: str) -> None:
    assert normalize(old) == normalize(new)


@pytest.mark.parametrize("word", ["hoàng", "quý", "giữa", "của", "người", "thuở", "khuya", "tuấn"])
def test_unambiguous_words_keep_their_tone_mark(word: str) -> None:
    assert normalize(word) == word


def test_nfd_input_is_composed() -> None:
    nfd = unicodedata.normalize("NFD", "Công đoàn Việt Nam")
    assert display(nfd) == "Công đoàn Việt Nam"
    assert normalize(nfd) == "công đoàn việt nam"


def test_fold_removes_every_diacritic_including_d_bar() -> None:
    assert fold("Nợ lương, ĐOÀN viên") == "no luong, doan vien"
    assert fold("định") == fold("đình") == "dinh"


def test_forms_keep_the_length_of_the_displayed_text() -> None:
    text = display("Hoà giải tranh chấp ở Thuỷ Nguyên: “Nợ lương” 3 tháng!")
    assert len(normalize(text)) == len(text) == len(fold(text))


def test_diacritics_detection() -> None:
    assert has_diacritics("định")
    assert has_diacritics("đ")
    assert not has_diacritics("no luong")
    assert not has_diacritics("NLD")
