"""Fetch a few pages by hand (`newsmon extract URL...`) with the crawl's Scrapy machinery,
in this process: one reactor run for all of them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from scrapy.crawler import CrawlerProcess

from config.settings import Settings
from crawler.registry import Site
from crawler.run import scrapy_settings_for
from crawler.spiders.pages import Fetched, PageSpider


def fetch_pages(urls: list[str], config: Settings, sites: list[Site]) -> dict[str, Fetched]:
    """Each URL's page or error, through robots.txt, the private-address guard and the size
    limit. A registry site's own host may be private (as for a crawl of that site)."""
    overrides: dict[str, Any] = {
        "ITEM_PIPELINES": {}, "HTTPCACHE_ENABLED": False, "NEWSMON_PROGRESS": False,
        "NEWSMON_ALLOW_PRIVATE_HOSTS": config.allow_private_hosts, "LOG_LEVEL": "ERROR",
    }
    process = CrawlerProcess(scrapy_settings_for(overrides), install_root_handler=False)
    crawler = process.create_crawler(PageSpider)
    own = frozenset(urlsplit(s.url).hostname or "" for s in sites)
    process.crawl(crawler, urls=urls, own_hosts=own)
    process.start()
    spider = crawler.spider
    assert isinstance(spider, PageSpider)
    return {url: spider.results.get(url, Fetched(url, error="not fetched")) for url in urls}
