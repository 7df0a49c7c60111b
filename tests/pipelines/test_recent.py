"""The index stage's memory of the stories it just wrote (not searchable until the next
refresh): a copy written moments after its original finds it there, and the memory stays
bounded, forgetting the oldest first."""

from __future__ import annotations

from pipelines.dedup import NEAR_DUP_JACCARD, Recent
from pipelines.fingerprint import BANDS, similarity
from search.article import Article
from tests.pipelines.test_dedup import STORY, _article


def _other(n: int, bands: list[str] | None = None) -> Article:
    return Article(
        url=f"https://cd.example.vn/bai-{n}.html",
        id=f"{n:032x}",
        content_hash=f"h{n}",
        cluster=f"h{n}",
        minhash=[n] * 128,
        lsh_bands=bands if bands is not None else [f"{b}:{n}" for b in range(BANDS)],
    )


def test_a_copy_finds_its_original_in_memory_until_newer_stories_push_it_out() -> None:
    recent = Recent(limit=100)
    original = _article("nld", "hoi-nghi", "Hội nghị trực tuyến quán triệt Nghị quyết", STORY)
    copy = _article("ldld", "hoi-nghi", "[Tin tổng hợp] Hội nghị quán triệt Nghị quyết", STORY[:-1])
    recent.add(original)
    found = recent.banded(copy.lsh_bands or [])
    assert [story["id"] for story in found] == [original.id]
    assert similarity(copy.minhash or [], found[0]["minhash"]) >= NEAR_DUP_JACCARD
    for n in range(150):  # a backfill writes on: the memory keeps its last `limit` stories
        recent.add(_other(n))
        assert len(recent.stories) <= 100
        assert len(recent.by_band) <= 100 * BANDS
    assert recent.banded(copy.lsh_bands or []) == []
    assert [story["id"] for story in recent.banded(_other(149).lsh_bands or [])] == [_other(149).id]


def test_a_band_many_stories_share_keeps_only_its_latest_holders() -> None:
    recent = Recent(limit=100, per_band=2)
    for n in range(5):  # template text: one band on every page of a site
        recent.add(_other(n, ["0:template"]))
    assert [story["id"] for story in recent.banded(["0:template"])] == [_other(3).id, _other(4).id]
    one = Recent(limit=100, per_band=1)
    for n in range(3):
        one.add(_other(n, ["0:template"]))
    assert [story["id"] for story in one.banded(["0:template"])] == [_other(2).id]
