"""An article split over pages (a pager inside it) is fetched whole and indexed once, under
its first page's address, its pages' text joined in order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from crawler.discovery import page_of
from crawler.samples.server import SampleSite
from search.schema import alias_name
from search.search import search
from tests.support import indexed_count, run_cli, site_registry

pytestmark = pytest.mark.es

HEAD = '<html><head><meta charset="utf-8"><title>{t} | Công đoàn mẫu</title></head><body>'
NAV = '<header><a href="/">Trang chủ</a></header>'
PARA = (
    "Trong năm qua, công đoàn cơ sở đã phối hợp với doanh nghiệp tổ chức nhiều hoạt động chăm lo "
    "cho đoàn viên, người lao động, góp phần giữ ổn định quan hệ lao động tại đơn vị. "
)
TITLE = "Tổng kết phong trào thi đua của công nhân khu công nghiệp"
PAGE_WORDS = ["mở đầu hội nghị", "phần thứ hai về tiền lương", "phần kết về nhà ở xã hội"]


def _pager(current: int) -> str:
    links = []
    for number in (1, 2, 3):
        href = "/tin-tuc/tong-ket-1001.html" if number == 1 else f"/tin-tuc/tong-ket-1001/trang-{number}.html"
        links.append(f"<b>{number}</b>" if number == current else f'<a href="{href}">{number}</a>')
    if current < 3:
        links.append(f'<a href="/tin-tuc/tong-ket-1001/trang-{current + 1}.html">Trang sau</a>')
    return f'<div class="pager">{" ".join(links)}</div>'


def _write(root: Path, path: str, html: str) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")


@pytest.fixture
def split_site(site: SampleSite) -> SampleSite:
    for number, words in enumerate(PAGE_WORDS, start=1):
        path = "/tin-tuc/tong-ket-1001.html" if number == 1 else f"/tin-tuc/tong-ket-1001/trang-{number}.html"
        body = "".join(f"<p>Đoạn {number}.{i}: {words}. {PARA}</p>" for i in range(3))
        _write(
            site.root,
            path,
            HEAD.format(t=TITLE) + NAV + f"<article><h1>{TITLE}</h1>"
            f'<div class="date">08/12/2021 09:15</div><div class="content">{body}</div>{_pager(number)}'
            "</article></body></html>",
        )
    single = "".join(f"<p>Đoạn {i}: {PARA}</p>" for i in range(4))
    _write(
        site.root,
        "/tin-tuc/mot-trang-1002.html",
        HEAD.format(t="Bài một trang")
        + NAV
        + f"<article><h1>Công đoàn thăm hỏi đoàn viên ốm đau dịp cuối năm</h1><div>{single}</div></article>"
        "</body></html>",
    )
    _write(
        site.root,
        "/index.html",
        HEAD.format(t="Trang chủ") + NAV + '<ul><li><a href="/tin-tuc/tong-ket-1001.html">Tổng kết</a></li>'
        '<li><a href="/tin-tuc/tong-ket-1001/trang-2.html">Tổng kết (trang 2)</a></li>'
        '<li><a href="/tin-tuc/mot-trang-1002.html">Thăm hỏi</a></li></ul></body></html>',
    )
    return site


def test_a_split_article_is_crawled_whole_and_indexed_once(
    split_site: SampleSite, env: dict[str, str], es: Elasticsearch
) -> None:
    site_registry(env, split_site)  # no sources: links are followed from the home page
    result = run_cli("crawl", "--json", env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["gen"]
    assert summary["new"] == 2
    assert summary["split_articles"] == 1
    assert indexed_count(es, env) == 2
    hits = search(es, env["NEWSMON_INDEX_PREFIX"], '"nhà ở xã hội"')["hits"]  # on page 3 only
    assert [h["url"].rsplit("/", 1)[-1] for h in hits] == ["tong-ket-1001.html"]
    doc = es.get(index=alias_name(env["NEWSMON_INDEX_PREFIX"]), id=hits[0]["id"])["_source"]
    firsts = [line.split(":")[0] for line in doc["text"].split("\n")]
    assert firsts == [f"Đoạn {p}.{i}" for p in (1, 2, 3) for i in range(3)]
    assert split_site.requests.count("/tin-tuc/tong-ket-1001/trang-3.html") == 1


def test_extract_joins_the_pages_of_a_split_article(split_site: SampleSite, env: dict[str, str]) -> None:
    env["NEWSMON_ALLOW_PRIVATE_HOSTS"] = "true"
    result = run_cli("extract", "--json", split_site.url + "tin-tuc/tong-ket-1001.html", env=env)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["url"].endswith("/tin-tuc/tong-ket-1001.html")
    assert "phần kết về nhà ở xã hội" in record["text"]
    assert record["text"].count(PARA.strip()) == 9


@pytest.mark.parametrize(
    ("url", "first", "number"),
    [
        ("https://a.vn/tin/bai-viet-1234.html", "https://a.vn/tin/bai-viet-1234.html", 1),
        ("https://a.vn/tin/bai-viet-1234.html?page=3", "https://a.vn/tin/bai-viet-1234.html", 3),
        ("https://a.vn/tin/bai-viet-1234/trang-2.html", "https://a.vn/tin/bai-viet-1234.html", 2),
        ("https://a.vn/tin/bai-viet-1234-p2.html", "https://a.vn/tin/bai-viet-1234.html", 2),
        ("https://a.vn/tin/12.html", "https://a.vn/tin/12.html", 1),  # an id, not a page number
        # A classic PHP CMS pager counts from 0...
        ("https://a.vn/tin/45-bai-viet.html?start=1", "https://a.vn/tin/45-bai-viet.html", 2),
        ("https://a.vn/index.php?id=45&limitstart=2", "https://a.vn/index.php?id=45", 3),
        ("https://a.vn/tin/45-bai-viet.html?start=0", "https://a.vn/tin/45-bai-viet.html", 1),
        # ...and the same name on a listing is an offset of stories, not a page of one.
        ("https://a.vn/tin-tuc.html?start=20", "https://a.vn/tin-tuc.html?start=20", 1),
    ],
)
def test_page_numbers_in_addresses(url: str, first: str, number: int) -> None:
    assert page_of(url) == (first, number)


def test_a_pagers_links_are_found_however_their_addresses_are_written() -> None:
    """Entities, non-ASCII paths, upper case and `rel=next` alike; the page itself, other
    articles and the site's own listings are not its pages."""
    from scrapy.http import HtmlResponse

    from crawler.discovery import continuation_links

    url = "https://a.vn/tin-tức/bai-viet-1234.html?id=5"
    links = [
        "/tin-tức/bai-viet-1234.html?id=5&amp;page=3",  # an entity between the parameters
        "/tin-t%E1%BB%A9c/bai-viet-1234.html?id=5&page=2",  # the same path, percent-encoded
        "https://a.vn/tin-tức/bai-viet-1234.html?id=5&amp;PAGE=4",
        "/tin-tức/bai-viet-1234.html?id=5",  # the page itself
        "/tin-tức/bai-viet-9999.html?page=2",  # another article's page
        "/tin-tức/trang-2",  # the section's listing
        "/tin-tức/bai-viet-1234.html?id=5&#38;page=5",  # a numeric entity for the ampersand
    ]
    body = "".join(f'<a href="{href}">x</a>' for href in links)
    response = HtmlResponse(url, body=f"<html><body>{body}</body></html>".encode(), encoding="utf-8")
    found = continuation_links(response)
    assert [page_of(link)[1] for link in found] == [2, 3, 4, 5]
    assert {page_of(link)[0] for link in found} == {page_of(url)[0]}


def test_a_pager_counting_from_zero_gives_the_articles_later_pages() -> None:
    """`?start=1` is the second page; the "show all" link, the first page and the listing's
    story offsets are not pages of the article."""
    from scrapy.http import HtmlResponse

    from crawler.discovery import continuation_links

    url = "https://a.vn/tin-tuc/45-hoi-nghi-nguoi-lao-dong.html"
    links = [
        "/tin-tuc/45-hoi-nghi-nguoi-lao-dong.html?showall=1",
        "/tin-tuc/45-hoi-nghi-nguoi-lao-dong.html?start=0",
        "/tin-tuc/45-hoi-nghi-nguoi-lao-dong.html?start=1",
        "/tin-tuc/45-hoi-nghi-nguoi-lao-dong.html?start=2",
        "/tin-tuc.html?start=20",
    ]
    body = "".join(f'<a href="{href}">x</a>' for href in links)
    response = HtmlResponse(url, body=f"<html><body>{body}</body></html>".encode(), encoding="utf-8")
    found = continuation_links(response)
    assert [link.rsplit("=", 1)[-1] for link in found] == ["1", "2"]
