"""Signatures stay what the archive already holds: the near-duplicate lookup compares a new
article's bands with those stored for every earlier one, so a signature computed another way
must give exactly the values datasketch's own MinHash (default hash, the pinned seed and
scheme) gives."""

from __future__ import annotations

import pytest
from datasketch import MinHash

from pipelines.fingerprint import _SCHEME, _SEED, NUM_PERM, SHINGLE, signature
from search import textnorm


def _reference(folded: str) -> list[int]:
    words = folded.split()
    count = max(1, len(words) - SHINGLE + 1)
    minhash = MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME)
    minhash.update_batch(list({" ".join(words[i : i + SHINGLE]).encode() for i in range(count)}))
    return [int(v) for v in minhash.hashvalues]


@pytest.mark.parametrize(
    "text",
    [
        "Công đoàn cơ sở tổ chức đối thoại với người sử dụng lao động về tiền lương năm 2027 "
        "và chế độ phúc lợi cho đoàn viên, người lao động tại doanh nghiệp.",
        "Ngắn quá",
        "",
        "một hai ba bốn năm",
        "一 二 三 四 五 六 七 mot hai",
    ],
)
def test_a_signature_is_datasketchs_minhash_of_the_word_shingles(text: str) -> None:
    folded = " ".join(w for w in textnorm.fold(text).replace(",", " ").replace(".", " ").split())
    assert signature(folded) == _reference(folded)
    assert all(type(v) is int for v in signature(folded))
