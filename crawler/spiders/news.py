"""NewsSpider: one generic spider, parametrised by a `Site` from the registry.

It discovers pages by following same-site links from the home page and yields the
raw page of every URL that looks like an article; the pipelines do the rest.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import HtmlResponse, Response
from scrapy.linkextractors import LinkExtractor

from crawler.registry import Site
from pipelines.normalize import canonical_url, same_site

# Pages that are about the site, not news: followed for links, never extracted.
_NOT_ARTICLE = re.compile(
    r"/(tag|tags|chu-de|chuyen-muc|category|categories|danh-muc|tim-kiem|search|lien-he|"
    r"gioi-thieu|video|anh|photo|rss|author|tac-gia|page|trang)(/|$|-\d+)",
    re.IGNORECASE,
)
_ARTICLE_ID = re.compile(r"[-_/](\d{4,})(\.html?|\.aspx?|\.htm|/)?$", re.IGNORECASE)
_ARTICLE_EXT = re.compile(r"\.(html?|aspx?|php)$", re.IGNORECASE)


def looks_like_article(url: str, pattern: re.Pattern[str] | None = None) -> bool:
    """The site's `article_url` regex when given; otherwise a heuristic: a numeric id at the
    end of the path, or a long slug (five or more hyphenated words) in the last segment."""
    if pattern is not None:
        return bool(pattern.search(url))
    path = urlsplit(url).path
    if _NOT_ARTICLE.search(path):
        return False
    last = path.rstrip("/").rsplit("/", 1)[-1]
    slug = _ARTICLE_EXT.sub("", last)
    return bool(_ARTICLE_ID.search(path)) or slug.count("-") >= 4


class NewsSpider(scrapy.Spider):
    """Crawls one site of the registry."""

    name = "news"

    def __init__(self, site: Site, **kwargs: Any) -> None:
        super().__init__(name=site.name, **kwargs)
        self.site = site
        self.links = LinkExtractor(deny_extensions=None, tags=("a", "area"), attrs=("href",))
        self.seen: set[str] = set()

    async def start(self) -> AsyncIterator[Any]:
        self.seen.add(canonical_url(self.site.url))
        yield scrapy.Request(self.site.url, callback=self.parse)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        if not isinstance(response, HtmlResponse):
            return
        if looks_like_article(response.url, self.site.article_pattern):
            yield {
                "site": self.site.name,
                "url": response.url,
                "body": response.body,
                "content_type": response.headers.get("Content-Type", b"").decode("latin-1"),
                "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "hint_date": response.meta.get("hint_date"),
            }
        for link in self.links.extract_links(response):
            if not same_site(link.url, self.site.domain):
                continue
            key = canonical_url(link.url)
            if key in self.seen:
                continue
            self.seen.add(key)
            yield response.follow(link.url, callback=self.parse)
