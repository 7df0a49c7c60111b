"""Feed, sitemap and pagination parsing, offline: stored documents as Scrapy responses."""

from __future__ import annotations

import gzip

from scrapy.http import HtmlResponse, TextResponse, XmlResponse
from scrapy.linkextractors import LinkExtractor

from crawler.discovery import Entry, feed_entries, pagination_links, sitemap_body, sitemap_entries

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Công đoàn</title>
<item><title>Một</title><link>https://cd.example.vn/tin-mot-1001.html</link>
  <pubDate>Wed, 08 Dec 2021 09:30:00 +0700</pubDate></item>
<item><title>Hai</title><guid>/tin-hai-1002.html</guid></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Tin</title>
<entry><link rel="alternate" href="https://cd.example.vn/tin-ba-1003.html"/>
  <updated>2021-12-08T02:30:00Z</updated></entry>
<entry><link href="https://cd.example.vn/tin-bon-1004.html"/><published>2021-12-07</published></entry>
</feed>"""


def _xml(url: str, body: str | bytes) -> XmlResponse:
    return XmlResponse(url, body=body.encode("utf-8") if isinstance(body, str) else body)


def test_rss_items_give_links_and_dates_relative_links_resolved() -> None:
    entries = feed_entries(_xml("https://cd.example.vn/rss/tin.rss", RSS))
    assert entries == [
        Entry("https://cd.example.vn/tin-mot-1001.html", "2021-12-08T09:30:00+07:00"),
        Entry("https://cd.example.vn/tin-hai-1002.html", None),
    ]


def test_atom_entries_keep_the_instant_and_date_only_values_get_vietnam_midnight() -> None:
    entries = feed_entries(_xml("https://cd.example.vn/atom.xml", ATOM))
    assert entries == [
        Entry("https://cd.example.vn/tin-ba-1003.html", "2021-12-08T02:30:00+00:00"),
        Entry("https://cd.example.vn/tin-bon-1004.html", "2021-12-07T00:00:00+07:00"),
    ]


def test_sitemap_index_news_sitemap_and_gzip() -> None:
    index = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>https://cd.example.vn/sitemap-1.xml.gz</loc></sitemap></sitemapindex>"""
    kind, entries = sitemap_entries(index)
    assert (kind, entries) == ("sitemapindex", [Entry("https://cd.example.vn/sitemap-1.xml.gz")])

    news = b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
      xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
      <url><loc>https://cd.example.vn/a-1001.html</loc>
        <news:news><news:publication_date>2021-12-08T09:30:00+07:00</news:publication_date></news:news></url>
      <url><loc>https://cd.example.vn/b-1002.html</loc><lastmod>2021-12-07</lastmod></url></urlset>"""
    response = TextResponse("https://cd.example.vn/sitemap-1.xml.gz", body=gzip.compress(news))
    body = sitemap_body(response, max_size=1 << 20)
    assert body == news
    kind, entries = sitemap_entries(body)
    assert kind == "urlset"
    assert entries == [
        Entry("https://cd.example.vn/a-1001.html", "2021-12-08T09:30:00+07:00"),
        Entry("https://cd.example.vn/b-1002.html", "2021-12-07T00:00:00+07:00"),
    ]


def test_a_page_that_is_no_sitemap_and_a_gzip_bomb_past_the_limit_are_refused() -> None:
    assert sitemap_body(TextResponse("https://cd.example.vn/sitemap.xml", body=b"Not found"), 1 << 20) is None
    bomb = gzip.compress(b"<" + b" " * (2 << 20))
    assert sitemap_body(TextResponse("https://cd.example.vn/s.xml.gz", body=bomb), max_size=1 << 20) is None


def test_pagination_by_rel_next_by_link_text_and_by_numbered_urls() -> None:
    html = """<html><head><link rel="next" href="/tin-tuc?page=2"></head><body>
      <a href="/tin-tuc/bai-mot-1001.html">Bài một</a>
      <a href="/tin-tuc/p/3">Xem thêm</a>
      <a href="/tin-tuc/trang-4.html">4</a>
      <a href="/lien-he">Liên hệ</a></body></html>"""
    response = HtmlResponse("https://cd.example.vn/tin-tuc", body=html.encode("utf-8"), encoding="utf-8")
    links = LinkExtractor().extract_links(response)
    assert pagination_links(response, links) == [
        "https://cd.example.vn/tin-tuc?page=2",
        "https://cd.example.vn/tin-tuc/p/3",
        "https://cd.example.vn/tin-tuc/trang-4.html",
    ]
