"""A progress line per site on stderr while `newsmon crawl` runs on a terminal; for a
backfill, a bar of the article pages found so far with the time left."""

from __future__ import annotations

import sys
from typing import Any, ClassVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured


class CrawlProgress:
    """Scrapy extension: pages fetched and articles kept, per site (one shared Rich display)."""

    _progress: ClassVar[Progress | None] = None
    _open: ClassVar[int] = 0

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.task: Any = None
        self.spider: Spider | None = None
        self.pages = self.articles = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlProgress:
        """Only on a terminal, and unless NEWSMON_PROGRESS is off."""
        if not sys.stderr.isatty() or not crawler.settings.getbool("NEWSMON_PROGRESS", True):
            raise NotConfigured
        extension = cls(crawler)
        crawler.signals.connect(extension.opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.response, signal=signals.response_received)
        crawler.signals.connect(extension.item, signal=signals.item_scraped)
        crawler.signals.connect(extension.closed, signal=signals.spider_closed)
        return extension

    def opened(self, spider: Spider) -> None:
        """Start the shared display (first site) and this site's line."""
        if CrawlProgress._progress is None:
            columns: list[ProgressColumn] = [SpinnerColumn(), TextColumn("{task.description}")]
            if self.crawler.settings.getdict("NEWSMON_BACKFILL"):
                # The total grows while sitemaps and listings are read: the time left is an estimate.
                columns += [BarColumn(), MofNCompleteColumn(), TextColumn("còn"), TimeRemainingColumn()]
            CrawlProgress._progress = Progress(
                *columns, TimeElapsedColumn(), console=Console(stderr=True), transient=True
            )
            CrawlProgress._progress.start()
        CrawlProgress._open += 1
        self.task = CrawlProgress._progress.add_task(spider.name, total=None)
        self.spider = spider
        self._show(spider.name)

    def response(self, spider: Spider, **_: Any) -> None:
        """One more page fetched."""
        self.pages += 1
        self._show(spider.name)

    def item(self, spider: Spider, **_: Any) -> None:
        """One more article through the pipelines."""
        self.articles += 1
        self._show(spider.name)

    def _show(self, name: str) -> None:
        if CrawlProgress._progress is None or self.task is None:
            return
        queued = getattr(self.spider, "queued_articles", 0)
        if getattr(self.spider, "since", None) is not None and queued:
            CrawlProgress._progress.update(
                self.task,
                description=f"{name}: bài cũ",
                total=queued,
                completed=getattr(self.spider, "done_articles", 0),
            )
            return
        CrawlProgress._progress.update(
            self.task, description=f"{name}: đã tải {self.pages} trang, đã xử lý {self.articles} bài"
        )

    def closed(self, spider: Spider) -> None:
        """Stop the shared display when the last site closes."""
        CrawlProgress._open -= 1
        if CrawlProgress._progress is not None and CrawlProgress._open == 0:
            CrawlProgress._progress.stop()
            CrawlProgress._progress = None
