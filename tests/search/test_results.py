"""Each result as what it is: a story shown by its original whichever copy matched best, its
copies listed as republications; phrase matches marked in the snippet."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch

from pipelines.fingerprint import content_hash
from pipelines.index import write_batch
from pipelines.normalize import normalize_article
from search import search as search_module
from search.article import Article
from search.query import body_phrase, compile_query
from search.schema import alias_name
from search.search import ORIGINAL_FIRST, search, story

BODY = (
    "Sáng 14/3, hơn 400 công nhân của một doanh nghiệp may trong khu công nghiệp đã ngừng việc tập thể "
    "vì bị chậm trả lương hai tháng. Công đoàn cơ sở cùng Liên đoàn Lao động huyện đã đến đối thoại với "
    "chủ doanh nghiệp, đề nghị trả đủ lương trước ngày 20/3. Đến chiều, công nhân đã trở lại làm việc."
)


def _article(url: str, site: str, title: str, published: str) -> Article:
    host = url.split("/")[2]
    article = normalize_article(
        Article(
            url=url,
            site=site,
            title=title,
            text=BODY,
            published=published,
            fetched_at="2025-03-15T09:00:00+00:00",
        ),
        host,
    )
    article.content_hash = content_hash(article.text)
    return article


@pytest.fixture
def republished(es: Elasticsearch, env: dict[str, str]) -> str:
    """One story: the original on `cd`, a copy on `tinh` published a day later whose title
    holds the words searched for (so it scores higher) and which newsmon indexed first."""
    prefix = env["NEWSMON_INDEX_PREFIX"]
    copy = _article(
        "https://tinh.example.vn/tin-tong-hop/ngung-viec-5534.html",
        "tinh",
        "[Tin tổng hợp] Chậm trả lương, công nhân ngừng việc",
        "2025-03-15T10:00:00+07:00",
    )
    original = _article(
        "https://cd.example.vn/cong-nhan-tro-lai-lam-viec-1001.html",
        "cd",
        "Công nhân may trở lại làm việc sau đối thoại",
        "2025-03-14T16:30:00+07:00",
    )
    write_batch(es, prefix, [copy])
    write_batch(es, prefix, [original])
    es.indices.refresh(index=alias_name(prefix))
    return prefix


@pytest.mark.es
def test_a_story_is_shown_by_its_original_whichever_copy_scores_higher(
    republished: str, es: Elasticsearch
) -> None:
    result = search(es, republished, "chậm trả lương")
    assert result["total"] == 1
    (hit,) = result["hits"]
    assert hit["url"] == "https://cd.example.vn/cong-nhan-tro-lai-lam-viec-1001.html"
    assert hit["title"] == "Công nhân may trở lại làm việc sau đối thoại"
    assert [(d["site"], d["published"][:10]) for d in hit["duplicates"]] == [("tinh", "2025-03-15")]
    # The story page agrees: the same original first.
    copies = story(es, republished, hit["id"])["copies"]  # type: ignore[index]
    assert [(c["site"], c["original"]) for c in copies] == [("cd", True), ("tinh", False)]


@pytest.mark.es
@pytest.mark.parametrize(
    ("query", "marked"),
    [
        ('"chậm trả lương"', "<mark>chậm trả lương</mark>"),
        ('"cham tra luong"', "<mark>chậm trả lương</mark>"),
        ("đối thoại", "<mark>đối thoại</mark>"),
        ("ngung viec", "<mark>ngừng việc</mark>"),
    ],
)
def test_phrase_and_word_matches_are_marked_in_the_snippet(
    republished: str, es: Elasticsearch, query: str, marked: str
) -> None:
    (hit,) = search(es, republished, query)["hits"]
    assert marked in hit["snippet"]


SENTENCES = [
    "Công nhân khu công nghiệp được tăng lương từ tháng Bảy.",
    "Liên đoàn Lao động tỉnh tổ chức đối thoại với doanh nghiệp về bữa ăn ca.",
    "Nhiều đoàn viên nhận quà Tết sớm nhờ quỹ công đoàn cơ sở.",
    "Doanh nghiệp chậm trả lương bị yêu cầu thanh toán trước ngày 20.",
    "Công đoàn ngành dệt may ký thỏa ước lao động tập thể với mức lương cao hơn.",
    "Nhà ở cho công nhân thuê được xây thêm ở khu công nghiệp phía Nam.",
]


@pytest.fixture
def crowded(es: Elasticsearch, env: dict[str, str]) -> str:
    """One story carried by twelve sites, whose copies outscore everything else (their titles
    hold the words too), and five other stories, one article each."""
    prefix = env["NEWSMON_INDEX_PREFIX"]
    crowd = [
        _article(
            f"https://s{n}.example.vn/tang-luong-{n}.html",
            f"s{n}",
            f"Tăng lương công nhân {n}",
            f"2025-03-{1 + n:02d}T08:00:00+07:00",
        )
        for n in range(12)
    ]
    others = []
    for n in range(5):
        article = _article(
            f"https://cd.example.vn/tin-{n}.html", "cd", f"Tin số {n}", f"2025-03-{20 - n:02d}T08:00:00+07:00"
        )
        # A text of its own: a sentence no other story holds, longer for each story.
        article.text = f"Bản tin số {n} về lương. " + " ".join([SENTENCES[n]] * (n + 1))
        others.append(normalize_article(article, "cd.example.vn"))
        others[-1].content_hash = content_hash(others[-1].text)
    write_batch(es, prefix, crowd)
    write_batch(es, prefix, others)
    es.indices.refresh(index=alias_name(prefix))
    return prefix


def _collapsed(es: Elasticsearch, prefix: str, query: str, size: int) -> list[tuple[str, list[str]]]:
    """What Elasticsearch's own collapse answers (one hit per story, best score, then newest):
    the order a page of results must keep. Collapse cannot be rescored, so the body phrase
    the search adds to its best matches' scores is a clause here: the same sum."""
    boost = body_phrase(query)
    found = es.search(
        index=alias_name(prefix),
        query={"bool": {"must": [compile_query(query)], "should": [boost] if boost else []}},
        size=size,
        track_scores=True,
        sort=["_score", {"published": {"order": "desc", "missing": "_last"}}],
        collapse={"field": "cluster", "inner_hits": {"name": "copies", "size": 20, "sort": ORIGINAL_FIRST}},
    )
    out = []
    for hit in found["hits"]["hits"]:
        copies = hit["inner_hits"]["copies"]["hits"]["hits"]
        out.append((copies[0]["_id"], [c["_source"]["url"] for c in copies[1:]]))
    return out


@pytest.mark.es
@pytest.mark.parametrize(
    "query", ["lương", "lương OR công đoàn", "công nhân OR doanh nghiệp OR đoàn viên", "bản tin"]
)
def test_pages_of_stories_follow_the_best_copy_of_each_story(
    crowded: str, es: Elasticsearch, monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    # A window of two hits (eight for a page of two): the twelve copies of one story fill it, so
    # the other stories are found only by asking for more.
    monkeypatch.setattr(search_module, "RELEVANCE_WINDOW", 2)
    expected = _collapsed(es, crowded, query, size=20)
    assert len(expected) >= 3
    pages = []
    for page in range(1, 5):
        result = search(es, crowded, query, limit=2, page=page)
        assert result["total"] == len(expected)
        pages += [(h["id"], [d["url"] for d in h["duplicates"]]) for h in result["hits"]]
    assert pages == expected[:8]


@pytest.mark.es
@pytest.mark.parametrize("exact_up_to", [3000, 5])
@pytest.mark.parametrize("sort", ["relevance", "date"])
def test_totals_and_facets_count_each_story_once(
    crowded: str, es: Elasticsearch, monkeypatch: pytest.MonkeyPatch, exact_up_to: int, sort: str
) -> None:
    # Above EXACT_STORIES matching articles the total is the first-seen articles' count; below, a
    # distinct count (or the stories a window holding every match saw): six stories either way.
    monkeypatch.setattr(search_module, "EXACT_STORIES", exact_up_to)
    monkeypatch.setattr(search_module, "RELEVANCE_WINDOW", 2)
    result = search(es, crowded, "lương", sort=sort, limit=2, facets=True)
    assert result["total"] == 6
    # Articles per site (each of the twelve sites carries the story once, cd its five); stories
    # per day, the crowded story once on its first day.
    assert result["facets"]["site"] == {"cd": 5, **{f"s{n}": 1 for n in range(12)}}
    assert result["facets"]["day"] == {"2025-03-01": 1, **{f"2025-03-{20 - n}": 1 for n in range(5)}}


@pytest.mark.es
@pytest.mark.parametrize("query", ["đình công", "dinh cong"])
def test_a_word_in_the_title_ranks_above_bodies_that_repeat_it(
    es: Elasticsearch, env: dict[str, str], query: str
) -> None:
    """A title holding the word outranks bodies saying it a dozen times (which, unboosted,
    score higher here: the word is as rare in bodies as in titles among forty other stories)."""
    prefix = env["NEWSMON_INDEX_PREFIX"]
    titled = _article(
        "https://cd.example.vn/dinh-cong-1.html",
        "cd",
        # A long title: its one match weighs less than in a short one.
        "Đình công ở khu chế xuất Tân Thuận của Thành phố Hồ Chí Minh kéo dài sang ngày thứ hai liên tiếp",
        "2025-03-10T08:00:00+07:00",
    )
    titled.text = "Sáng nay, công nhân hai nhà máy ngừng làm việc để đòi trả lương đúng hạn."
    articles = [titled]
    for n in range(44):
        other = _article(
            f"https://ld.example.vn/tin-{n}.html", "ld", f"Tin lao động số {n}", titled.published
        )
        if n < 2:  # the word said again and again in the body only
            other.text = f"Bản tin {n}. " + "Cuộc đình công kéo dài. " * 12 + SENTENCES[n]
        else:
            other.text = f"Tin vắn số {n} trong tuần: {SENTENCES[n % 6]}"
        articles.append(other)
    for article in articles:
        normalize_article(article, article.url.split("/")[2])
        article.content_hash = content_hash(article.text)
    write_batch(es, prefix, articles)
    es.indices.refresh(index=alias_name(prefix))
    hits = search(es, prefix, query)["hits"]
    assert len(hits) >= 2
    assert hits[0]["url"] == titled.url
