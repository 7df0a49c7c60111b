"""Stage 1: a fetched `PageItem` -> an `Article`, extracted in worker processes
(`pipelines/extraction/`); a page that is no article, or that fails, is dropped and counted."""

from __future__ import annotations

import asyncio
import logging

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from config.settings import get_settings
from pipelines.extraction.pool import ExtractionError, PageBatches
from pipelines.extraction.profile import MIN_PAGES, SiteProfile
from search.article import Article, PageItem

log = logging.getLogger(__name__)


class ExtractionFailed(DropItem):
    """The extractor raised on a page: dropped now, fetched again by the next crawl
    (unlike a page that is no article, which is remembered as seen)."""


class ExtractPipeline:
    """Turns page items into article items in worker processes; drops non-articles."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        """Scrapy's constructor hook."""
        return cls(crawler)

    async def open_spider(self) -> None:
        """Page batches carry the site's `extract:` rules and template lines to the workers."""
        site = self.crawler.spider.site  # type: ignore[union-attr]
        self.batches = PageBatches(site.extract, quiet=self._quiet)
        config = self.crawler.settings.get("NEWSMON_SETTINGS") or get_settings()
        # Read off the reactor thread: with shared state it is a database round trip.
        self.profile = await asyncio.get_running_loop().run_in_executor(
            None,
            SiteProfile,
            config.resolved_data_dir / "crawl" / "profiles.sqlite",
            site.name,
            config.shared_state,
        )
        self.batches.boilerplate = self.profile.known
        self.batches.learning = self.profile.pages < MIN_PAGES

    def _quiet(self) -> bool:
        """No page of this site is being fetched or waits to be: the held ones are all."""
        engine = self.crawler.engine
        if engine is None or engine.downloader.active:
            return False
        slot = getattr(engine, "_slot", None) or getattr(engine, "slot", None)
        scheduler = getattr(slot, "scheduler", None)
        return scheduler is None or not scheduler.has_pending_requests()

    async def close_spider(self) -> None:
        """Keep what this crawl learnt of the site's template (off the reactor thread: up to
        MAX_LINES rows)."""
        await asyncio.get_running_loop().run_in_executor(None, self.profile.save)

    async def process_item(self, item: PageItem) -> Article:
        """The page's article; a page that is none, or that the extractor fails on, is dropped."""
        self.stats.inc_value("newsmon/health/pages")
        try:
            article = await self.batches.extract(
                item.body, item.url, item.content_type, item.hint_date, item.parts
            )
        except Exception as exc:  # noqa: BLE001 - a bad page is counted and the crawl goes on
            self.stats.inc_value("newsmon/errors/extract")
            message = str(exc) if isinstance(exc, ExtractionError) else f"{type(exc).__name__}: {exc}"
            log.warning("cannot extract %s: %s", item.url, message)
            raise ExtractionFailed(f"cannot extract {item.url}", log_level="DEBUG") from None
        if article is None:
            self.stats.inc_value("newsmon/non_articles")
            raise DropItem(f"not an article: {item.url}", log_level="DEBUG")
        if self.batches.learnt - self.profile.known:  # lines a batch of first pages shared
            self.profile.adopt(self.batches.learnt)
            self.batches.boilerplate = self.profile.known
        if article.text_fold and self.profile.add_page(article.text_fold):
            self.batches.boilerplate = self.profile.known
        self.batches.learning = self.profile.pages < MIN_PAGES
        if article.title and article.published:  # the body is over the floor, or it was no article
            self.stats.inc_value("newsmon/health/complete")
        article.site, article.fetched_at = item.site, item.fetched_at
        return article
