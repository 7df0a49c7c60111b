"""The one normalization function behind indexing and querying."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


@settings(max_examples=2000)
@given(st.text(alphabet="aàảạăằoòóuùủyỳiìqgđhm ÔỒƠỜ1_.,\n\u0300\u0301", max_size=60))
def test_every_word_gets_one_placement_and_what_lies_between_words_is_kept(text: str) -> None:
    """The matching form of a text is that of each of its words in place (the words of a
    query are normalized alone), with digits, punctuation and spacing as they were."""
    words = re.split(r"([^\W\d_]+)", display(text))
    expected = "".join(normalize(part) if i % 2 else part.lower() for i, part in enumerate(words))
    assert normalize(text) == expected
