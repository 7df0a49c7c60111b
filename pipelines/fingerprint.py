"""Fingerprints of an article's body, computed in the extraction workers for the dedup
stage (`pipelines/dedup.py`) to compare: the hash of its folded text, and a MinHash
(datasketch) of its word 5-shingles, banded for locality-sensitive lookup (32 bands of 4
rows, stored as keywords so the index itself is the LSH table).

Apart from dedup because the workers need only this: the decision's Elasticsearch client
is not loaded in every extraction process.
"""

from __future__ import annotations

import hashlib
import operator
import re
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Final

from search import textnorm
from search.article import Article

if TYPE_CHECKING:
    from datasketch import MinHash

NUM_PERM, BANDS, ROWS, SHINGLE = 128, 32, 4, 5
_SEED = 20211208
_WORDS = re.compile(r"\w+")


def content_hash(text: str, folded: str | None = None) -> str:
    """Fingerprint of the folded body, blind to accent encoding, case and spacing
    (`folded`: the body already folded, when the extraction stage provided it)."""
    folded = " ".join((folded if folded is not None else textnorm.fold(text)).split())
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()[:32]


_SCHEME: Final = "affine32"  # datasketch 2's default, named because reused permutations require it


@cache
def _minhash() -> type[MinHash]:
    # Imported on first use: datasketch loads SciPy (for its LSH tuning, unused here), over
    # half a second that a command never computing a signature would pay at start.
    from datasketch import MinHash

    return MinHash


@cache
def _permutations() -> object:
    # Drawn once: generating them anew is a quarter of the cost per text.
    return _minhash()(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME).permutations


def signature(folded: str) -> list[int]:
    """MinHash of the word 5-shingles of a folded text."""
    words = _WORDS.findall(folded)
    if len(words) < SHINGLE:
        shingles = {" ".join(words)}
    else:
        shingles = set(map(" ".join, zip(*(words[i:] for i in range(SHINGLE)), strict=False)))
    # datasketch's default hash (the first 4 bytes of SHA-1, little-endian), taken for every
    # shingle at once: its own call per shingle in Python was half the cost of a signature.
    digests = b"".join(map(_DIGEST, map(hashlib.sha1, map(str.encode, shingles))))
    minhash_type = _minhash()
    import numpy  # loaded with datasketch, just above

    hashes = numpy.frombuffer(digests, dtype="<u4")[::_SHA1_WORDS].tolist()
    minhash = minhash_type(
        num_perm=NUM_PERM, seed=_SEED, permutations=_permutations(), scheme=_SCHEME, hashfunc=int
    )
    minhash.update_batch(hashes)
    return minhash.hashvalues.tolist()  # type: ignore[no-any-return]


_DIGEST: Final = operator.methodcaller("digest")
_SHA1_WORDS: Final = 5  # a SHA-1 digest is five 32-bit words; the first is the hash


def lsh_bands(sig: list[int]) -> list[str]:
    """One keyword per band: two texts sharing any band are candidates."""
    return [
        f"{band}:"
        + hashlib.blake2b(repr(sig[band * ROWS : (band + 1) * ROWS]).encode(), digest_size=8).hexdigest()
        for band in range(BANDS)
    ]


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a) if a and len(a) == len(b) else 0.0


def fingerprint(article: Article) -> Article:
    """Fill in `content_hash`, `minhash` and `lsh_bands` (from `text_fold` when present)."""
    folded = article.text_fold
    if folded is None:
        folded = textnorm.fold(article.text or "")
    if article.content_hash is None:
        article.content_hash = content_hash(article.text or "", folded)
    if article.minhash is None:
        article.minhash = signature(folded)
        article.lsh_bands = lsh_bands(article.minhash)
    return article
