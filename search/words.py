"""Which syllables of a query are one Vietnamese word, and which abbreviations mean the same.

A Vietnamese word is often a run of syllables ("đình công", "bảo hiểm xã hội"), and people
type queries without quotes. `segment()` splits a run of typed syllables into words with a
dictionary: the general one shipped with underthesea (Viet74K, read as a file, the package
is never imported) plus the union terms and abbreviations of `config/words.yaml`
(editable data). Known words are matched longest first (fewest pieces); syllables the
dictionary knows in no word with their neighbours stay together as one unknown word
("tăng ca", "nợ lương"), so an unknown run is a phrase, never scattered syllables. Lookup
is on folded forms, so queries typed without diacritics split the same way.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from config.settings import get_settings
from search import textnorm

log = logging.getLogger(__name__)

WORDS_FILE = Path(__file__).resolve().parent.parent / "config" / "words.yaml"
# The longest dictionary entry considered, in syllables (longer entries are idioms).
MAX_WORD_SYLLABLES = 8


class WordsFileError(ValueError):
    """config/words.yaml (or NEWSMON_WORDS) is malformed; the message names file and key."""


@dataclass(frozen=True)
class Lexicon:
    """Multi-syllable words, and abbreviations in both directions (folded keys)."""

    words: frozenset[str] = frozenset()  # with their diacritics (tone-normalized)
    folded: frozenset[str] = frozenset()  # the same without diacritics
    # folded abbreviation -> expansions as written; folded expansion -> abbreviations as written
    expansions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    abbreviations: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # (abbreviation, expansions) as the words file writes them, for the search page's help
    table: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def knows(self, folded: list[str], exact: list[str]) -> bool:
        """True when these syllables are a word: typed without diacritics, any word they fold
        to; with diacritics, a word with exactly those ("ca nợ" is not "ca nô")."""
        if folded == exact:
            return " ".join(folded) in self.folded
        return " ".join(exact) in self.words

    def alternatives(self, word: str) -> tuple[str, ...]:
        """Other ways union news writes `word` (its expansions or its abbreviations)."""
        key = _key(word)
        return self.expansions.get(key, ()) + self.abbreviations.get(key, ())


def _key(text: str) -> str:
    return " ".join(textnorm.fold(text).split())


def _exact_key(text: str) -> str:
    return " ".join(textnorm.normalize(text).split())


def _general_dictionary() -> Iterable[str]:
    """Lines of underthesea's Viet74K word list, or nothing when the package is missing."""
    spec = importlib.util.find_spec("underthesea")
    if spec is None or not spec.submodule_search_locations:
        log.warning("underthesea is not installed: queries split into words by config/words.yaml only")
        return []
    path = Path(next(iter(spec.submodule_search_locations))) / "corpus" / "data" / "Viet74K.txt"
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        log.warning("cannot read the word list %s: %s", path, exc)
        return []


def _read_words_file(path: Path) -> tuple[dict[str, list[str]], list[str]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise WordsFileError(f"{path}: cannot read the words file: {exc}") from exc
    if not isinstance(data, dict) or set(data) - {"abbreviations", "terms"}:
        raise WordsFileError(f"{path}: expected the keys 'abbreviations' and 'terms' only")
    abbreviations = data.get("abbreviations") or {}
    terms = data.get("terms") or []
    if not isinstance(abbreviations, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and v and all(isinstance(x, str) for x in v)
        for k, v in abbreviations.items()
    ):
        raise WordsFileError(f"{path}: 'abbreviations' maps each abbreviation to a list of expansions")
    if not isinstance(terms, list) or not all(isinstance(t, str) and t.strip() for t in terms):
        raise WordsFileError(f"{path}: 'terms' is a list of words")
    return abbreviations, terms


def build(general: Iterable[str], abbreviations: dict[str, list[str]], terms: Iterable[str]) -> Lexicon:
    """A lexicon from dictionary lines, abbreviations and terms (all as written)."""
    words = set()
    for line in (*general, *terms, *(e for v in abbreviations.values() for e in v)):
        key = _exact_key(line)
        if "-" not in key and 2 <= len(key.split()) <= MAX_WORD_SYLLABLES:
            words.add(key)
    expansions: dict[str, tuple[str, ...]] = {}
    reverse: dict[str, tuple[str, ...]] = {}
    for abbr, longs in abbreviations.items():
        norm_abbr = textnorm.display(abbr.strip())
        expansions[_key(norm_abbr)] = expansions.get(_key(norm_abbr), ()) + tuple(
            textnorm.display(x.strip()) for x in longs
        )
        for long in longs:
            reverse[_key(long)] = (*reverse.get(_key(long), ()), norm_abbr)
    table = tuple(
        (textnorm.display(a.strip()), tuple(textnorm.display(x.strip()) for x in longs))
        for a, longs in abbreviations.items()
    )
    return Lexicon(frozenset(words), frozenset(_key(w) for w in words), expansions, reverse, table)


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """The process's lexicon: general dictionary + `NEWSMON_WORDS` or config/words.yaml."""
    path = get_settings().words or WORDS_FILE
    abbreviations, terms = _read_words_file(path)
    return build(_general_dictionary(), abbreviations, terms)


def segment(syllables: list[str], lex: Lexicon | None = None) -> list[list[str]]:
    """Split a run of typed syllables into words (each a list of the syllables as typed)."""
    lex = lex or lexicon()
    n = len(syllables)
    if n < 2:
        return [list(syllables)]
    folded = [_key(s) for s in syllables]
    exact = [_exact_key(s) for s in syllables]
    # Fewest pieces, each a known word or one syllable (maximal matching); ties: fewer
    # single syllables left over.
    nothing: list[tuple[int, int]] = []
    best: list[tuple[int, int, list[tuple[int, int]]]] = [(0, 0, nothing)] + [(n + 1, n + 1, nothing)] * n
    for end in range(1, n + 1):
        for start in range(max(0, end - MAX_WORD_SYLLABLES), end):
            size = end - start
            if size > 1 and not lex.knows(folded[start:end], exact[start:end]):
                continue
            pieces, singles, path = best[start]
            candidate = (pieces + 1, singles + (size == 1), [*path, (start, end)])
            if candidate[:2] < best[end][:2]:
                best[end] = candidate
    spans = best[n][2]
    # Consecutive unknown syllables are one unknown word ("tăng ca"; four or more: words of
    # two); a syllable next to a dictionary word, and an abbreviation, are words of their own.
    groups: list[tuple[int, int, bool]] = []  # (start, end, unknown)
    for start, end in spans:
        unknown = end - start == 1 and folded[start] not in lex.expansions
        if unknown and groups and groups[-1][2]:
            groups[-1] = (groups[-1][0], end, True)
        else:
            groups.append((start, end, unknown))
    spans = [
        p
        for start, end, unknown in groups
        for p in (_unknown_pieces(start, end) if unknown else [(start, end)])
    ]
    return [syllables[start:end] for start, end in spans]


def _unknown_pieces(start: int, end: int) -> list[tuple[int, int]]:
    """An unknown run of four or more syllables is taken as words of two (the last of
    three when odd): most Vietnamese words have one or two syllables, and a long phrase
    required verbatim would lose the stories that write its words apart."""
    if end - start < 4:
        return [(start, end)]
    cuts = [*range(start, end - 3, 2), end - 3 if (end - start) % 2 else end - 2]
    return [(a, b) for a, b in zip(cuts, [*cuts[1:], end], strict=True)]
