"""Discovery and good citizenship against a generated site on loopback with a request log:
sitemaps, feeds and paginated listings; one document per article whatever the URL;
robots.txt; a spider trap; incremental re-crawl; changed articles; redirects and the
private-address rule."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import pytest
from elasticsearch import Elasticsearch

from crawler.samples.server import SampleSite
from crawler.samples.sitegen import GeneratedArticle, generate_site, write_article, write_indexes
from tests.support import host_of, indexed_count, run_cli, site_registry

pytestmark = pytest.mark.es


def _crawl(env: dict[str, str]) -> dict:
    result = run_cli("crawl", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["gen"]


def _article_requests(site: SampleSite) -> list[str]:
    return [
        p for p in site.requests if p.startswith("/tin-tuc/") and p.endswith(".html") and "/trang-" not in p
    ]


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        ({"sitemaps": ["/sitemap.xml"]}, 45),  # sitemap index -> gzipped urlset
        ({"feeds": ["/rss/tin-moi.rss"]}, 45),
        ({"listings": ["/tin-tuc/"]}, 45),  # three pages, "Xem thêm" links
    ],
)
def test_each_source_finds_every_article_once(
    site: SampleSite, env: dict[str, str], es: Elasticsearch, sources: dict[str, list[str]], expected: int
) -> None:
    generate_site(site.root, 45, host_of(site))
    site_registry(env, site, **sources)
    summary = _crawl(env)
    assert summary["new"] == expected
    assert indexed_count(es, env) == expected
    articles = _article_requests(site)
    assert len(articles) == len(set(articles)) == expected  # related links with ?utm_...#top add nothing
    assert not [p for p in site.requests if p.startswith("/admin/")]  # robots.txt: Disallow: /admin/
    assert summary["errors"] == {}


def test_sitemap_date_travels_to_the_article(
    site: SampleSite, env: dict[str, str], es: Elasticsearch
) -> None:
    articles = generate_site(site.root, 3, host_of(site))
    page = site.root / articles[0].path
    page.write_text(
        page.read_text(encoding="utf-8").replace('<span class="time">', '<span class="x">'), encoding="utf-8"
    )
    site_registry(env, site, sitemaps=["/sitemap.xml"])
    _crawl(env)
    exported = [json.loads(line) for line in run_cli("export", env=env).stdout.splitlines()]
    by_title = {d["title"]: d for d in exported}
    assert by_title[articles[0].title]["published"] == "2021-12-08T08:00:00+07:00"


def test_second_crawl_fetches_a_tenth_and_finds_what_is_new(
    site: SampleSite, env: dict[str, str], es: Elasticsearch
) -> None:
    articles = generate_site(site.root, 60, host_of(site))
    site_registry(env, site, listings=["/tin-tuc/"])
    first = _crawl(env)
    assert first["new"] == 60
    first_requests = len(site.requests)

    newer: list[GeneratedArticle] = []
    rng = random.Random(1)
    for index in (60, 61):
        newer.append(
            write_article(
                site.root,
                index,
                datetime(2021, 12, 9, 8) + timedelta(hours=index - 60),
                articles[:3],
                rng=rng,
            )
        )
    write_indexes(site.root, articles + newer, host_of(site))
    site.requests.clear()
    second = _crawl(env)
    assert second["new"] == 2
    assert second["updated"] == 0
    assert len(site.requests) <= 0.1 * first_requests, site.requests
    assert sorted(_article_requests(site)) == sorted("/" + a.path for a in newer)
    assert indexed_count(es, env) == 62


def test_changed_article_is_reindexed_when_the_sitemap_says_so(
    site: SampleSite, env: dict[str, str], es: Elasticsearch
) -> None:
    articles = generate_site(site.root, 10, host_of(site))
    site_registry(env, site, sitemaps=["/sitemap.xml"])
    assert _crawl(env)["new"] == 10
    changed = articles[4]
    write_article(site.root, 4, changed.published, articles[:3], rng=random.Random(2), edition=1)
    write_indexes(site.root, articles, host_of(site), lastmod={changed.path: datetime(2021, 12, 10, 9, 30)})
    site.requests.clear()
    second = _crawl(env)
    assert second["updated"] == 1
    assert second["new"] == 0
    assert _article_requests(site) == ["/" + changed.path]
    docs = {d["title"]: d for d in map(json.loads, run_cli("export", env=env).stdout.splitlines())}
    assert "Cập nhật lần 1" in docs[changed.title]["text"]


def test_spider_trap_is_cut_off_and_reported(
    site: SampleSite, env: dict[str, str], es: Elasticsearch
) -> None:
    generate_site(site.root, 5, host_of(site))
    site_registry(env, site)  # no sources: link following from the home page
    summary = _crawl(env)
    assert summary["new"] == 5
    calendar = [p for p in site.requests if p.startswith("/lich/")]
    assert 1 <= len(calendar) <= 7  # DEPTH_LIMIT 6
    assert "độ sâu giới hạn" in summary["cut_off"]
    assert not [p for p in site.requests if p.startswith("/admin/")]
    assert summary["robots_blocked"] >= 1


def test_redirects_are_followed_to_one_document_and_never_to_private_addresses(
    site: SampleSite, env: dict[str, str], es: Elasticsearch
) -> None:
    articles = generate_site(site.root, 3, host_of(site))
    (site.root / "_redirects.txt").write_text(
        f"/bai-cu-100901.html /{articles[0].path}\n/bai-cu-100902.html http://10.255.255.1/noi-bo-123456.html\n",
        encoding="utf-8",
    )
    feed = site.root / "rss" / "tin-moi.rss"
    extra = "".join(f"<item><link>http://{host_of(site)}/bai-cu-10090{i}.html</link></item>" for i in (1, 2))
    feed.write_text(
        feed.read_text(encoding="utf-8").replace("</channel>", extra + "</channel>"), encoding="utf-8"
    )
    site_registry(env, site, feeds=["/rss/tin-moi.rss"])
    summary = _crawl(env)
    assert summary["new"] == 3  # the old address of article 0 is the same document
    assert summary["errors"].get("private_address") == 1
    assert indexed_count(es, env) == 3
