"""Vietnamese text normalization shared by indexing and querying.

`display()` gives the text as published (NFC). `normalize()` gives the matching form:
NFC, lower case, tone mark placed by one rule (so `hoà` and `hòa` are equal).
`fold()` additionally drops every diacritic (`nợ lương` -> `no luong`, `đ` -> `d`).
Both keep the string length of `display()`, so an offset found in a normalized
string points at the same characters of the displayed one.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")  # huyền sắc ngã hỏi nặng
_VOWELS = frozenset("aăâeêioôơuưy")
_SHAPED_VOWELS = frozenset("ăâêôơư")
_SECOND_VOWEL_PAIRS = frozenset({"oa", "oe", "uy"})


def display(text: str) -> str:
    """The published text in Unicode NFC (what users see)."""
    return unicodedata.normalize("NFC", text)


def _tone_position(base: str) -> int | None:
    """Index of the letter of a toneless syllable that carries the tone mark."""
    lower = base.lower()
    start = next((i for i, ch in enumerate(lower) if ch in _VOWELS), None)
    if start is None:
        return None
    # "qu" and "gi" before another vowel are consonants: quý, giữa.
    followed_by_vowel = start + 1 < len(lower) and lower[start + 1] in _VOWELS
    if start > 0 and followed_by_vowel and (lower[start - 1], lower[start]) in (("q", "u"), ("g", "i")):
        start += 1
    end = start
    while end < len(lower) and lower[end] in _VOWELS:
        end += 1
    cluster = lower[start:end]
    shaped = [i for i, ch in enumerate(cluster) if ch in _SHAPED_VOWELS]
    if shaped:
        return start + shaped[-1]
    if end < len(lower) or len(cluster) == 1:
        return end - 1
    if len(cluster) == 2:
        return start + (1 if cluster in _SECOND_VOWEL_PAIRS else 0)
    return start + 1


@lru_cache(maxsize=65536)
def _canonical_tone(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    tones = [ch for ch in decomposed if ch in _TONE_MARKS]
    if len(tones) != 1:
        return word
    base = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONE_MARKS))
    pos = _tone_position(base)
    if pos is None:
        return word
    out = base[:pos] + unicodedata.normalize("NFC", base[pos] + tones[0]) + base[pos + 1 :]
    return out if len(out) == len(word) else word


def _lower(text: str) -> str:
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else "".join(c.lower()[:1] or c for c in text)


_WORD_SPLIT = re.compile(r"([^\W\d_]+)")  # a word: a run of letters


def normalize(text: str) -> str:
    """Matching form: NFC, one tone-mark placement, lower case; same length as `display()`."""
    # Split into [between, word, between, word, ..., between] and map the words through the
    # remembered placement: a word met before costs no Python call (the cache is C), where a
    # substitution called back into Python for every word of the text.
    parts = _WORD_SPLIT.split(display(text))
    parts[1::2] = map(_canonical_tone, parts[1::2])
    return _lower("".join(parts))


def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0x00C0, 0x1F00):
        ch = chr(code)
        base = unicodedata.normalize("NFD", ch)[0]
        if base != ch and base.isascii():
            table[code] = base
    for code in range(0x0300, 0x0370):  # stray combining marks: drop
        table[code] = None  # type: ignore[assignment]
    table[ord("đ")] = "d"
    table[ord("Đ")] = "D"
    return table


_FOLD_TABLE = _build_fold_table()


def fold(text: str) -> str:
    """Accent-free matching form (`Nợ lương` -> `no luong`, `đ` -> `d`). Equal to folding
    `normalize(text)`: where a tone mark sits cannot matter once every mark is gone."""
    return _lower(display(text)).translate(_FOLD_TABLE)


def has_diacritics(word: str) -> bool:
    """True when the word as typed carries any Vietnamese diacritic (so it must match exactly)."""
    norm = normalize(word)
    return fold(norm) != norm
