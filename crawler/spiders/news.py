"""NewsSpider: one generic spider, parametrised by a `Site` from the registry.

Discovery, per site: its sitemaps, feeds and listing pages (with pagination) when the
registry names any, otherwise same-site link following from the home page. Discovery
pages are fetched conditionally (`If-None-Match`/`If-Modified-Since` through Scrapy's
HTTP cache with the RFC 2616 policy), so an unchanged feed costs a 304. An article URL
already fetched by an earlier crawl is not fetched again unless a feed or sitemap now
dates it later (`crawler/seen.py`). Only URLs that look like articles are extracted.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any, Self
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy.linkextractors import LinkExtractor
from scrapy.settings import BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.sitemap import sitemap_urls_from_robots
from twisted.python.failure import Failure

from config.limits import MAX_BACKFILL_LISTING_PAGES, MAX_LISTING_PAGES
from config.settings import Settings, get_settings
from crawler.backfill import BackfillStore
from crawler.discovery import feed_entries, page_of, pagination_links, sitemap_body, sitemap_entries
from crawler.registry import Site, load_registry, select_sites
from crawler.seen import FETCH, SKIP, SeenStore, Validators
from crawler.spiders import paged, reason
from crawler.state import crawl_dir
from pipelines.extract import ExtractionFailed
from pipelines.index import batch_written
from search.article import Article, PageItem, canonical_url, same_site, site_host

# Pages that are about the site, not news: followed for links, never extracted. (Photo and
# video sections are news: a photo story is an article, its captions its text.)
_NOT_ARTICLE = re.compile(
    r"/(tag|tags|chu-de|chuyen-muc|category|categories|danh-muc|tim-kiem|search|lien-he|"
    r"gioi-thieu|rss|author|tac-gia|page|trang)(/|$|-\d+)",
    re.IGNORECASE,
)
_ARTICLE_ID = re.compile(r"[-_/](\d{4,})(\.html?|\.aspx?|\.htm|/)?$", re.IGNORECASE)
_ARTICLE_EXT = re.compile(r"\.(html?|aspx?|php)$", re.IGNORECASE)
# Revalidate discovery pages every time: a cached copy is used only after a 304.
_REVALIDATE = {"Cache-Control": "max-age=0"}
# A backfill walks a listing's pages until this many of its articles turn out older than the
# date it reaches back to (listings go newest first; pages are fetched a few at a time).
BACKFILL_OLDER_ENOUGH = 10
# A fetched article page until it is secured: its seen-store keys, feed/sitemap date, validators.
_Fetched = tuple[list[str], str | None, tuple[str | None, str | None]]
_YEAR_MONTH = re.compile(r"(?<!\d)(20\d\d)[-_/]?(0[1-9]|1[0-2])(?!\d)")
# Article answers the spider settles itself: not modified since its last visit, or gone.
_ARTICLE_STATUSES = [304, 404, 410]


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


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


def crawl_defaults(config: Settings | None = None) -> dict[str, Any]:
    """Where a crawl keeps its state, and its private-address rule, from newsmon's settings."""
    config = config or get_settings()
    data = crawl_dir(config)
    return {
        "HTTPCACHE_DIR": str(data / "httpcache"),
        "NEWSMON_SEEN_DB": str(data / "seen.sqlite"),
        "NEWSMON_ALLOW_PRIVATE_HOSTS": config.allow_private_hosts,
    }


def _registry_site(name: str) -> Site:
    config = get_settings()
    return select_sites(load_registry(config.registry), [name], config.registry)[0]


class NewsSpider(scrapy.Spider):
    """Crawls one site of the registry."""

    name = "news"

    def __init__(self, site: Site | str, **kwargs: Any) -> None:
        if isinstance(site, str):  # `scrapy crawl news -a site=NAME`
            site = _registry_site(site)
        super().__init__(name=site.name, **kwargs)
        self.site = site
        # The site's own host may be a private address (a federation's intranet server).
        self.own_hosts = frozenset({urlsplit(site.url).hostname or ""})
        # The site's hosts: its own, its registry aliases, and a host it moved to (found
        # when the crawl is redirected there for good).
        self.hosts = set(site.hosts)
        self.links = LinkExtractor(deny_extensions=None, tags=("a", "area"), attrs=("href",))
        self.queued: set[str] = set()
        self.seen: SeenStore | None = None
        # page URL -> its seen-store keys, feed/sitemap date and validators, until it is secured
        self.fetched: dict[str, _Fetched] = {}
        # A backfill (`newsmon backfill`): the date it reaches back to, its progress, and the
        # seen-store marks held until the index stage holds their articles.
        self.since: date | None = None
        self.backfills: BackfillStore | None = None
        self.held: dict[str, tuple[_Fetched, str | None]] = {}  # with the article's date
        # The article that fills a batch is written before Scrapy says it went through.
        self.written_first: set[str] = set()
        self.queued_articles = self.done_articles = self.older = 0
        self.base = (0, 0)  # done and indexed by earlier runs of this backfill
        self.started_clock = self.reported_clock = 0.0

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """Crawl state under $NEWSMON_DATA_DIR also when started by `scrapy crawl news` (the
        crawl runner passes the same values with a higher priority)."""
        super().update_settings(settings)
        for key, value in crawl_defaults().items():
            settings.set(key, value, priority="spider")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        """The spider with its seen store, and the signals that fill it."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        path = crawler.settings.get("NEWSMON_SEEN_DB")
        if path:
            spider.seen = SeenStore(
                path, (crawler.settings["NEWSMON_SETTINGS"] or get_settings()).shared_state
            )
        crawler.signals.connect(spider._secured, signal=signals.item_scraped)
        crawler.signals.connect(spider._dropped, signal=signals.item_dropped)
        backfill = crawler.settings.getdict("NEWSMON_BACKFILL")
        if backfill:
            spider.since = date.fromisoformat(backfill["since"])
            spider.backfills = BackfillStore(crawler.settings["NEWSMON_SETTINGS"] or get_settings())
            found = spider.backfills.get(spider.site.name)
            spider.base = (found.done, found.indexed) if found is not None else (0, 0)
            spider.started_clock = time.monotonic()
            crawler.signals.connect(spider._written, signal=batch_written)
            crawler.signals.connect(spider._report, signal=signals.response_received)
        return spider

    # ------------------------------------------------------------------ requests

    def _discovery(self, url: str, callback: Callable[..., Any], **meta: Any) -> scrapy.Request | None:
        key = canonical_url(url)
        if key in self.queued:
            return None
        self.queued.add(key)
        return scrapy.Request(
            url, callback=callback, errback=self._fetch_failed, headers=_REVALIDATE, meta=meta
        )

    def _fetch_failed(self, failure: Failure) -> Failure | None:
        """A download failure (timeout, reset, refused, truncated body) is one line, counted
        in the summary's `download` errors; an error status and a request refused on purpose
        (robots.txt, a private address) go on to Scrapy's own handling and counting."""
        request = getattr(failure, "request", None)
        if request is not None and "url_key" in request.meta:
            self.done_articles += 1
        if isinstance(failure.value, HttpError | IgnoreRequest):
            return failure
        self.logger.warning(
            "cannot fetch %s: %s", request.url if request is not None else "?", reason(failure)
        )
        return None

    def _article(self, url: str, source_date: str | None = None) -> scrapy.Request | None:
        """A request for an article URL, unless queued already or fetched by an earlier
        crawl (and not re-dated since by a feed or sitemap)."""
        key = canonical_url(url)
        if key in self.queued:
            return None
        self.queued.add(key)
        if self.since is not None and source_date and source_date[:10] < self.since.isoformat():
            self.crawler.stats.inc_value("newsmon/backfill/before_date")
            return None
        meta = {
            "dont_cache": True,
            "hint_date": source_date,
            "source_date": source_date,
            "url_key": key,
            "handle_httpstatus_list": _ARTICLE_STATUSES,
        }
        # A backfill never revisits: what it (or a crawl) fetched once is in the archive.
        revisit = 0 if self.since is not None else self.site.revisit_days
        plan = self.seen.plan(key, source_date, revisit) if self.seen is not None else FETCH
        if plan == SKIP:
            self.crawler.stats.inc_value("newsmon/seen_skipped")
            return None
        self.queued_articles += 1
        if isinstance(plan, Validators):
            # Published recently: ask whether it changed since (a 304 costs nothing more).
            self.crawler.stats.inc_value("newsmon/revisits")
            headers = {
                k: v
                for k, v in (("If-None-Match", plan.etag), ("If-Modified-Since", plan.last_modified))
                if v
            }
            return scrapy.Request(
                url, callback=self.parse_page, errback=self._fetch_failed, headers=headers, meta=meta
            )
        return scrapy.Request(url, callback=self.parse_page, errback=self._fetch_failed, meta=meta)

    def _read_ahead(self, urls: list[str]) -> None:
        """What the seen store knows of the article URLs a source names, in a few queries
        rather than one per URL as `_article` asks (`SeenStore.read_ahead`)."""
        if self.seen is not None:
            keys = (canonical_url(url) for url in urls if self._is_article(url))
            self.seen.read_ahead(key for key in keys if key not in self.queued)

    def _ours(self, url: str) -> bool:
        return any(same_site(url, host) for host in self.hosts)

    def _is_article(self, url: str) -> bool:
        return self._ours(url) and looks_like_article(url, self.site.article_pattern)

    def _follow_move(self, response: Response) -> None:
        """A page of the site redirected for good (301/308) to another host: the site moved.
        That host is the site's from now on in this crawl (its articles keep the registry
        name) and the summary suggests the new address."""
        chain = response.meta.get("redirect_urls") or []
        if not chain or self._ours(response.url) or not self._ours(chain[0]):
            return
        if not set(response.meta.get("redirect_reasons") or []) <= {301, 308}:
            return  # a temporary redirect says nothing about where the site lives
        self.hosts.add(site_host(response.url))
        self.crawler.stats.inc_value("newsmon/moved")
        if canonical_url(chain[0]) == canonical_url(self.site.url):
            self.crawler.stats.set_value("newsmon/moved_to", response.url)
        self.logger.warning("%s redirects for good to %s: the site has moved", chain[0], response.url)

    async def start(self) -> AsyncIterator[Any]:
        """The site's sources, or its home page when it names none."""
        sources: list[tuple[str, Callable[..., Any], dict[str, Any]]]
        sources = [(u, self.parse_sitemap, {}) for u in self.site.sitemaps]
        sources += [(u, self.parse_feed, {}) for u in self.site.feeds]
        sources += [(u, self.parse_listing, {"listing_page": 1}) for u in self.site.listings]
        if not sources:
            sources = [(self.site.url, self.parse_page, {})]
        for url, callback, meta in sources:
            request = self._discovery(url, callback, **meta)
            if request is not None:
                yield request

    # ------------------------------------------------------------------ discovery

    def parse_feed(self, response: Response) -> Iterator[Any]:
        """Article URLs of an RSS or Atom feed, with the dates it gives them."""
        self._follow_move(response)
        entries = feed_entries(response)
        self.crawler.stats.inc_value("newsmon/feed_entries", len(entries))
        self._read_ahead([entry.url for entry in entries])
        for entry in entries:
            if self._is_article(entry.url):
                request = self._article(entry.url, entry.date)
                if request is not None:
                    yield request

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        """Article URLs (and child sitemaps) of a sitemap, sitemap index or robots.txt."""
        self._follow_move(response)
        if response.url.endswith("/robots.txt"):
            for url in sitemap_urls_from_robots(response.body, base_url=response.url):
                request = self._discovery(url, self.parse_sitemap)
                if request is not None:
                    yield request
            return
        body = sitemap_body(response, self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        if body is None:
            self.crawler.stats.inc_value("newsmon/errors/sitemap")
            self.logger.warning("not a sitemap: %s", response.url)
            return
        kind, entries = sitemap_entries(body)
        if kind != "sitemapindex":
            self._read_ahead([entry.url for entry in entries])
        for entry in entries:
            if kind == "sitemapindex":
                if self._before_since(entry.url, entry.date):
                    continue
                request = self._discovery(entry.url, self.parse_sitemap)
            elif self._is_article(entry.url):
                request = self._article(entry.url, entry.date)
            else:
                continue
            if request is not None:
                yield request

    def parse_listing(self, response: Response) -> Iterator[Any]:
        """Article links of a listing page; the next page only while this one brought
        something new (an incremental crawl stops at the first page of known articles)."""
        self._follow_move(response)
        if not isinstance(response, HtmlResponse):
            return
        links = [link for link in self.links.extract_links(response) if self._ours(link.url)]
        self._read_ahead([link.url for link in links])
        new = 0
        for link in links:
            if self._is_article(link.url):
                request = self._article(link.url)
                if request is not None:
                    new += 1
                    yield request
        page = response.meta.get("listing_page", 1)
        if self.since is not None:
            # A backfill goes on through pages it knows (a resumed one starts on known pages)
            # until the listing reaches back past its date.
            listed = any(self._is_article(link.url) for link in links)
            go_on = listed and self.older < BACKFILL_OLDER_ENOUGH and page < MAX_BACKFILL_LISTING_PAGES
        else:
            go_on = bool(new) and page < MAX_LISTING_PAGES
        if go_on:
            for url in pagination_links(response, links):
                request = self._discovery(url, self.parse_listing, listing_page=page + 1)
                if request is not None:
                    yield request

    # ------------------------------------------------------------------ pages

    def parse_page(self, response: Response) -> Iterator[Any]:
        """An article page becomes a `PageItem`; without sources, its links are followed."""
        self._follow_move(response)
        if response.status in _ARTICLE_STATUSES:
            self._settle(response)
            return
        if not isinstance(response, HtmlResponse):
            return
        if looks_like_article(response.url, self.site.article_pattern):
            keys = [response.meta.get("url_key") or canonical_url(response.url), canonical_url(response.url)]
            validators = (_header(response, b"ETag"), _header(response, b"Last-Modified"))
            self.fetched[response.url] = (keys, response.meta.get("source_date"), validators)
            yield from paged.follow(response, self, self._page_item)
        if self.site.feeds or self.site.sitemaps or self.site.listings:
            return  # the site's sources are its discovery; its pages are not walked
        links = self.links.extract_links(response)
        self._read_ahead([link.url for link in links])
        for link in links:
            if not self._ours(link.url) or self._later_page(link.url):
                continue
            if looks_like_article(link.url, self.site.article_pattern):
                request = self._article(link.url)
            else:
                request = self._discovery(link.url, self.parse_page)
            if request is not None:
                yield request

    def _later_page(self, url: str) -> bool:
        """A later page of a split article: it comes with its first page, never alone."""
        first, number = page_of(url)
        return number > 1 and looks_like_article(first, self.site.article_pattern)

    def _before_since(self, url: str, lastmod: str | None) -> bool:
        """A child sitemap a backfill leaves out: last modified before its date, or named for a
        month that ended before it (`sitemap-2019-05.xml`, `/2019/05/`)."""
        if self.since is None:
            return False
        if lastmod and lastmod[:10] < self.since.isoformat():
            return True
        found = _YEAR_MONTH.search(urlsplit(url).path)
        if found is None:
            return False
        year, month = int(found.group(1)), int(found.group(2))
        return (year, month) < (self.since.year, self.since.month)

    def _page_item(self, response: Response, parts: list[bytes]) -> Iterator[PageItem]:
        """The article's page (and the pages it continues on) for extraction."""
        yield PageItem(
            site=self.site.name,
            url=response.url,
            body=response.body,
            content_type=(response.headers.get("Content-Type") or b"").decode("latin-1"),
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
            hint_date=response.meta.get("hint_date"),
            parts=tuple(parts),
        )

    # ------------------------------------------------------------------ seen store

    def _secured(self, item: PageItem | Article, **_: Any) -> None:
        self.done_articles += 1
        if self.since is not None and isinstance(item, Article):
            published = item.published
            if published and published[:10] < self.since.isoformat():
                self.older += 1
            # Remembered once the index stage holds it (`_written`): a backfill killed now
            # fetches it again, and one resumed later does not.
            fetched = self.fetched.pop(item.url or "", None)
            if fetched is not None:
                self.held[item.url or ""] = (fetched, published)
                if item.url in self.written_first:
                    self.written_first.discard(item.url or "")
                    self._written([item.url or ""])
            return
        self._mark(item)

    def _dropped(self, item: PageItem | Article, exception: BaseException, **_: Any) -> None:
        self.done_articles += 1
        if not isinstance(exception, ExtractionFailed):  # a broken page is retried next time
            self._mark(item)

    def _mark(self, item: PageItem | Article) -> None:
        fetched = self.fetched.pop(item.url or "", None)
        if self.seen is None or fetched is None:
            return
        keys, source_date, (etag, last_modified) = fetched
        published = item.published if isinstance(item, Article) else None
        for key in dict.fromkeys(keys):
            self.seen.mark(
                key, self.site.name, source_date, published=published, etag=etag, last_modified=last_modified
            )

    def _written(self, urls: list[str], **_: Any) -> None:
        """A backfill's batch is indexed (or journalled): its articles are remembered for good."""
        if self.seen is None:
            return
        for url in urls:
            held = self.held.pop(url, None)
            if held is None:
                self.written_first.add(url)
                continue
            (keys, source_date, (etag, last_modified)), published = held
            for key in dict.fromkeys(keys):
                self.seen.mark(
                    key,
                    self.site.name,
                    source_date,
                    published=published,
                    etag=etag,
                    last_modified=last_modified,
                )
        self.seen.commit()
        self._report(force=True)

    def _report(self, force: bool = False, **_: Any) -> None:
        """A backfill's progress, on disk for the sites page, at most every two seconds."""
        now = time.monotonic()
        if self.backfills is None or (not force and now - self.reported_clock < 2):
            return
        self.reported_clock = now
        done, indexed = self.base
        elapsed = now - self.started_clock
        stats = self.crawler.stats
        taken = sum(int(stats.get_value(f"newsmon/{k}", 0)) for k in ("new", "updated", "unchanged"))
        rate = self.done_articles / elapsed if elapsed > 10 and self.done_articles else None
        self.backfills.progress(
            self.site.name,
            queued=done + self.queued_articles,
            done=done + self.done_articles,
            indexed=indexed + taken,
            rate=rate,
        )

    def _settle(self, response: Response) -> None:
        """A revisited article that did not change (304), or a dead link (404/410)."""
        self.done_articles += 1
        if self.seen is None:
            return
        key = response.meta.get("url_key") or canonical_url(response.url)
        if response.status == 304:
            self.crawler.stats.inc_value("newsmon/revisits_unchanged")
            self.seen.mark(key, self.site.name, response.meta.get("source_date"))
        else:
            self.crawler.stats.inc_value("newsmon/dead_links")
            self.seen.mark_dead(key, self.site.name)

    def closed(self, reason: str) -> None:
        """After the pipelines have closed (the last batch indexed or spooled)."""
        if self.seen is not None:
            self.seen.commit()
            self.seen.close()
        if self.backfills is not None:
            self._report(force=True)
            self.backfills.end(self.site.name, finished=reason == "finished")
            self.backfills.close()
