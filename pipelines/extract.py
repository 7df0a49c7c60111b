"""Stage 1: a fetched page (bytes) -> an article record, or None when the page is no article.

This is the only module that imports trafilatura. Extraction is CPU-bound, so the
pipeline runs it in a process pool: the reactor thread keeps fetching meanwhile.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import trafilatura
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from w3lib.encoding import html_to_unicode

from search import textnorm

log = logging.getLogger(__name__)

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MIN_BODY_CHARS = 200


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Bytes -> NFC text, by the HTTP/meta declared charset (windows-1258 included)."""
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    _, text = html_to_unicode(content_type, body)
    return textnorm.display(text)


def _iso_date(value: str | None) -> str | None:
    """trafilatura's YYYY-MM-DD (or a full timestamp) -> ISO 8601 with the Vietnam offset."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=VN_TZ)
    return parsed.isoformat()


def extract_page(body: bytes, url: str | None, content_type: str | None = None,
                 hint_date: str | None = None) -> dict[str, Any] | None:
    """Extract one page; None when it has no article body (a listing, a contact page...)."""
    html = decode_html(body, content_type)
    doc = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, favor_precision=True,
        include_tables=True, as_dict=True,
    )
    if not doc or not doc.get("text") or len(doc["text"]) < MIN_BODY_CHARS or not doc.get("title"):
        return None
    raw_tags = doc.get("tags") or []
    if isinstance(raw_tags, str):
        raw_tags = raw_tags.split(",")
    tags = [t.strip() for t in raw_tags if t and t.strip()]
    return {
        "url": url,
        "canonical_url": doc.get("url") if doc.get("url") != url else None,
        "title": doc["title"],
        "author": doc.get("author"),
        "published": _iso_date(doc.get("date")) or hint_date,
        "text": doc["text"],
        "tags": tags,
        "language": doc.get("language") or "vi",
    }


_pool: Executor | None = None


def extraction_pool() -> Executor:
    """One process pool per crawl process, shared by every site's spider."""
    global _pool
    if _pool is None:
        workers = max(1, min(os.cpu_count() or 2, 4))
        _pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    return _pool


class ExtractPipeline:
    """Turns page items into article items in worker processes; drops non-articles."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        return cls(crawler)

    async def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        try:
            article = await loop.run_in_executor(
                extraction_pool(), extract_page, item["body"], item["url"],
                item.get("content_type"), item.get("hint_date"),
            )
        except Exception as exc:  # noqa: BLE001 - a bad page is counted and the crawl goes on
            self.stats.inc_value("newsmon/errors/extract")
            log.warning("cannot extract %s: %s: %s", item["url"], type(exc).__name__, exc)
            raise DropItem(f"extraction failed: {item['url']}", log_level="DEBUG") from None
        if article is None:
            self.stats.inc_value("newsmon/non_articles")
            raise DropItem(f"not an article: {item['url']}", log_level="DEBUG")
        article.update(site=item["site"], fetched_at=item["fetched_at"])
        return article
