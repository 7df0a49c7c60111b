"""A progress line per site on stderr while `newsmon crawl` runs on a terminal."""

from __future__ import annotations

import sys
from typing import Any, ClassVar

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
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
            CrawlProgress._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                               TimeElapsedColumn(), console=Console(stderr=True),
                                               transient=True)
            CrawlProgress._progress.start()
        CrawlProgress._open += 1
        self.task = CrawlProgress._progress.add_task(spider.name)
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
        if CrawlProgress._progress is not None and self.task is not None:
            CrawlProgress._progress.update(self.task, description=f"{name}: đã tải {self.pages} trang, "
                                                                  f"đã xử lý {self.articles} bài")

    def closed(self, spider: Spider) -> None:
        """Stop the shared display when the last site closes."""
        CrawlProgress._open -= 1
        if CrawlProgress._progress is not None and CrawlProgress._open == 0:
            CrawlProgress._progress.stop()
            CrawlProgress._progress = None
