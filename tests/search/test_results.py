"""Each result as what it is: a story shown by its original whichever copy matched best, its
copies listed as republications; phrase matches marked in the snippet."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch

from pipelines.dedup import content_hash
from pipelines.index import write_batch
from pipelines.normalize import normalize_article
from search.article import Article
from search.schema import alias_name
from search.search import search, story

BODY = ("Sáng 14/3, hơn 400 công nhân của một doanh nghiệp may trong khu công nghiệp đã ngừng việc tập thể "
        "vì bị chậm trả lương hai tháng. Công đoàn cơ sở cùng Liên đoàn Lao động huyện đã đến đối thoại với "
        "chủ doanh nghiệp, đề nghị trả đủ lương trước ngày 20/3. Đến chiều, công nhân đã trở lại làm việc.")


def _article(url: str, site: str, title: str, published: str) -> Article:
    host = url.split("/")[2]
    article = normalize_article(Article(url=url, site=site, title=title, text=BODY, published=published,
                                        fetched_at="2025-03-15T09:00:00+00:00"), host)
    article.content_hash = content_hash(article.text)
    return article


@pytest.fixture
def republished(es: Elasticsearch, env: dict[str, str]) -> str:
    """One story: the original on `cd`, a copy on `tinh` published a day later whose title
    holds the words searched for (so it scores higher) and which newsmon indexed first."""
    prefix = env["NEWSMON_INDEX_PREFIX"]
    copy = _article("https://tinh.example.vn/tin-tong-hop/ngung-viec-5534.html", "tinh",
                    "[Tin tổng hợp] Chậm trả lương, công nhân ngừng việc", "2025-03-15T10:00:00+07:00")
    original = _article("https://cd.example.vn/cong-nhan-tro-lai-lam-viec-1001.html", "cd",
                        "Công nhân may trở lại làm việc sau đối thoại", "2025-03-14T16:30:00+07:00")
    write_batch(es, prefix, [copy])
    write_batch(es, prefix, [original])
    es.indices.refresh(index=alias_name(prefix))
    return prefix


@pytest.mark.es
def test_a_story_is_shown_by_its_original_whichever_copy_scores_higher(republished: str,
                                                                      es: Elasticsearch) -> None:
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
@pytest.mark.parametrize(("query", "marked"), [
    ('"chậm trả lương"', "<mark>chậm trả lương</mark>"),
    ('"cham tra luong"', "<mark>chậm trả lương</mark>"),
    ("đối thoại", "<mark>đối thoại</mark>"),
    ("ngung viec", "<mark>ngừng việc</mark>"),
])
def test_phrase_and_word_matches_are_marked_in_the_snippet(republished: str, es: Elasticsearch,
                                                           query: str, marked: str) -> None:
    (hit,) = search(es, republished, query)["hits"]
    assert marked in hit["snippet"]
