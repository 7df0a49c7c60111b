"""Fetch a few pages by hand (`newsmon extract URL...`) with the crawl's Scrapy machinery,
in this process: one reactor run for all of them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from scrapy import Spider
from scrapy.crawler import Crawler, CrawlerProcess

from config.settings import Settings
from crawler.registry import Site
from crawler.run import one_line_download_errors, scrapy_settings_for
from crawler.spiders.pages import Fetched, PageSpider


def run_spider(spider_class: type[Spider], config: Settings, **arguments: Any) -> Crawler:
    """Run one spider to its end in this process with the crawl's settings (robots.txt, the
    private-address guard, the cookie challenge, limits), nothing indexed or cached; one
    reactor run, so once per process."""
    overrides: dict[str, Any] = {
        "ITEM_PIPELINES": {},
        "HTTPCACHE_ENABLED": False,
        "NEWSMON_PROGRESS": False,
        "NEWSMON_ALLOW_PRIVATE_HOSTS": config.allow_private_hosts,
        "LOG_LEVEL": "ERROR",
        "LOG_INSTALL_ROOT_HANDLER": False,
    }
    process = CrawlerProcess(scrapy_settings_for(overrides))
    one_line_download_errors()
    crawler = process.create_crawler(spider_class)
    process.crawl(crawler, **arguments)
    process.start()
    return crawler


def fetch_pages(urls: list[str], config: Settings, sites: list[Site]) -> dict[str, Fetched]:
    """Each URL's page or error, through robots.txt, the private-address guard and the size
    limit. A registry site's own host may be private (as for a crawl of that site)."""
    own = frozenset(urlsplit(s.url).hostname or "" for s in sites)
    spider = run_spider(PageSpider, config, urls=urls, own_hosts=own).spider
    assert isinstance(spider, PageSpider)
    return {url: spider.results.get(url, Fetched(url, error="not fetched")) for url in urls}
