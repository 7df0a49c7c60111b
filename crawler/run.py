"""Run one crawl of some sites in this process and return each site's stats.

A Twisted reactor cannot be restarted, so a process runs at most one crawl; the
scheduler starts each crawl as its own subprocess.
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings as ScrapySettings

from config import scrapy_settings
from crawler.registry import Site
from crawler.spiders.news import NewsSpider

SUMMARY_KEYS = {
    "pages": "downloader/response_count",
    "new": "newsmon/new",
    "updated": "newsmon/updated",
    "unchanged": "newsmon/unchanged",
    "duplicates": "newsmon/duplicates",
    "non_articles": "newsmon/non_articles",
    "spooled": "newsmon/spooled",
}


def scrapy_settings_for(overrides: dict[str, Any] | None = None) -> ScrapySettings:
    settings = ScrapySettings()
    settings.setmodule(scrapy_settings, priority="project")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def summarize(stats: dict[str, Any]) -> dict[str, Any]:
    """The per-site summary a user sees (pages, new/updated/unchanged, duplicates, errors)."""
    out = {name: int(stats.get(key, 0)) for name, key in SUMMARY_KEYS.items()}
    errors = {k.removeprefix("newsmon/errors/"): v for k, v in stats.items()
              if k.startswith("newsmon/errors/")}
    http_errors = sum(v for k, v in stats.items()
                      if k.startswith("downloader/exception_type_count/"))
    if http_errors:
        errors["download"] = http_errors
    if stats.get("newsmon/index_errors"):
        errors["index"] = stats["newsmon/index_errors"]
    out["errors"] = errors
    out["finish_reason"] = stats.get("finish_reason")
    return out


def run_crawl(sites: list[Site], overrides: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Crawl `sites` concurrently (one crawler each); block until done; summaries by site."""
    process = CrawlerProcess(scrapy_settings_for(overrides))
    crawlers = []
    for site in sites:
        crawler = process.create_crawler(NewsSpider)
        crawlers.append((site, crawler))
        process.crawl(crawler, site=site)
    process.start()
    return {site.name: summarize(crawler.stats.get_stats() if crawler.stats else {})
            for site, crawler in crawlers}
