"""DiscoverSpider: what a registry entry for an unknown site needs, found from its home page
(`newsmon sites discover URL`): feeds (`<link rel=alternate>` and common paths), sitemaps
(robots.txt `Sitemap:` lines and common paths), listing pages (menu links that list
articles), the article URLs they give, and three articles fetched to be tried."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import scrapy
from scrapy.http import HtmlResponse, Response
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.sitemap import sitemap_urls_from_robots
from twisted.python.failure import Failure

from crawler.discovery import feed_entries, sitemap_body, sitemap_entries
from crawler.spiders import reason
from crawler.spiders.news import looks_like_article
from search.article import same_site, site_host

FEED_PATHS = ("rss", "rss.xml", "feed", "feed.xml", "rss/home.rss", "rss/tin-moi.rss", "atom.xml")
SITEMAP_PATHS = ("sitemap.xml", "sitemap_index.xml", "google-news-sitemap.xml", "sitemap-news.xml")
MAX_MENU_LINKS = 20  # menu links tried as listings
LISTING_MIN_ARTICLES = 5  # a page linking to fewer articles is not a listing
ARTICLES_TRIED = 3
MAX_CHILD_SITEMAPS = 3


@dataclass
class Found:
    """What discovery found (sources in the order found, article URLs, fetched articles)."""

    home: str
    final_home: str | None = None
    home_body: bytes = b""
    feeds: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    listings: list[str] = field(default_factory=list)
    articles: list[str] = field(default_factory=list)
    pages: dict[str, tuple[bytes, str | None]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class DiscoverSpider(scrapy.Spider):
    """Discover one site's sources from its home page; results land in `found`."""

    name = "discover"

    def __init__(self, home: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.found = Found(home)
        self.host = site_host(home)
        self.own_hosts = frozenset({home.split("/")[2].split(":", maxsplit=1)[0]})
        self.links = LinkExtractor(deny_extensions=None, tags=("a", "area"), attrs=("href",))
        self.tried: set[str] = set()

    def _get(self, url: str, callback: Any, **meta: Any) -> scrapy.Request | None:
        if url in self.tried:
            return None
        self.tried.add(url)
        return scrapy.Request(url, callback=callback, errback=self.failed, meta={"dont_cache": True, **meta})

    async def start(self) -> AsyncIterator[Any]:
        """The home page, robots.txt, and the common feed and sitemap paths."""
        home = self.found.home
        root = "/".join(home.split("/")[:3]) + "/"
        first = [self._get(home, self.parse_home), self._get(root + "robots.txt", self.parse_robots)]
        first += [self._get(root + p, self.parse_feed, quiet=True) for p in FEED_PATHS]
        first += [self._get(root + p, self.parse_sitemap, quiet=True) for p in SITEMAP_PATHS]
        for request in first:
            if request is not None:
                yield request

    def _ours(self, url: str) -> bool:
        return same_site(url, self.host)

    def _articles(self, urls: list[str]) -> list[str]:
        return [u for u in urls if self._ours(u) and looks_like_article(u, None)]

    def _take(self, urls: list[str]) -> list[scrapy.Request]:
        """Record article URLs; fetch the first few to try them."""
        requests: list[scrapy.Request] = []
        for url in urls:
            if url in self.found.articles:
                continue
            self.found.articles.append(url)
            if len(self.found.pages) + len(requests) < ARTICLES_TRIED and url not in self.tried:
                request = self._get(url, self.parse_article)
                if request is not None:
                    requests.append(request)
        return requests

    def parse_home(self, response: Response) -> Any:
        """Feeds the page announces, and its menu links as listing candidates."""
        self.found.final_home, self.found.home_body = response.url, response.body
        self.host = site_host(response.url)  # a site that moved answers from its new host
        if not isinstance(response, HtmlResponse):
            return
        announced = '//link[@rel="alternate"][contains(@type, "rss") or contains(@type, "atom")]/@href'
        for href in response.xpath(announced).getall():
            request = self._get(urljoin(response.url, href), self.parse_feed)
            if request is not None:
                yield request
        links = [link.url for link in self.links.extract_links(response) if self._ours(link.url)]
        yield from self._take(self._articles(links))
        menu = [
            u
            for u in dict.fromkeys(links)
            if not looks_like_article(u, None) and u.rstrip("/") != response.url.rstrip("/")
        ][:MAX_MENU_LINKS]
        for url in menu:
            request = self._get(url, self.parse_listing)
            if request is not None:
                yield request

    def parse_robots(self, response: Response) -> Any:
        """The sitemaps robots.txt names."""
        for url in sitemap_urls_from_robots(response.body, base_url=response.url):
            request = self._get(url, self.parse_sitemap)
            if request is not None:
                yield request

    def parse_feed(self, response: Response) -> Any:
        """A feed that lists this site's articles."""
        articles = self._articles([entry.url for entry in feed_entries(response)])
        if articles and response.status < 400:
            self.found.feeds.append(response.url)
            yield from self._take(articles)

    def parse_sitemap(self, response: Response) -> Any:
        """A sitemap of articles, or an index whose first children are tried."""
        body = sitemap_body(response, self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        if body is None:
            return
        kind, entries = sitemap_entries(body)
        if kind == "sitemapindex":
            self.found.sitemaps.append(response.url)
            for entry in entries[:MAX_CHILD_SITEMAPS]:
                request = self._get(entry.url, self.parse_sitemap, child=True)
                if request is not None:
                    yield request
            return
        articles = self._articles([entry.url for entry in entries])
        if articles:
            if not response.meta.get("child"):
                self.found.sitemaps.append(response.url)
            yield from self._take(articles)

    def parse_listing(self, response: Response) -> Any:
        """A menu page that links to enough articles is a listing."""
        if not isinstance(response, HtmlResponse):
            return
        links = dict.fromkeys(link.url for link in self.links.extract_links(response))
        articles = self._articles(list(links))
        if len(articles) >= LISTING_MIN_ARTICLES:
            self.found.listings.append(response.url)
            yield from self._take(articles)

    def parse_article(self, response: Response) -> None:
        """Keep an article page to try its extraction."""
        kind = (response.headers.get("Content-Type") or b"").decode("latin-1") or None
        self.found.pages[response.url] = (response.body, kind)

    def failed(self, failure: Failure) -> None:
        """A probe of a common path failing is expected; the home page failing is not."""
        request = getattr(failure, "request", None)
        if request is not None and not request.meta.get("quiet"):
            self.found.errors.append(f"{request.url}: {reason(failure)}")
