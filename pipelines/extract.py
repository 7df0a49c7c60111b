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
import re
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

import trafilatura
from lxml.html import HtmlElement
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from trafilatura.utils import load_html
from w3lib.encoding import html_to_unicode

from pipelines.dates import article_zone, structured_dates, to_iso, zone_date
from pipelines.pagemeta import PageMeta
from search import textnorm

log = logging.getLogger(__name__)

MIN_BODY_CHARS = 200


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Bytes -> NFC text, by the HTTP/meta declared charset (windows-1258 included)."""
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    _, text = html_to_unicode(content_type, body)
    return textnorm.display(text)


_LEAD_CLASS = re.compile(r"(^|[\s_-])(sapo|lead|chapeau|summary|excerpt|intro|description|desc|"
                         r"tom-?tat|mo-?ta)([\s_-]|$)", re.IGNORECASE)
_LEAD_MIN, _LEAD_MAX = 40, 1500


def _squash(text: str) -> str:
    return " ".join(text.split())


def find_lead(zone: HtmlElement) -> str | None:
    """The lead paragraph (sapo), which generic extractors often drop, if the page marks it."""
    for node in zone.iter():
        if not isinstance(node.tag, str) or node.tag in ("a", "img", "script", "style"):
            continue
        marker = f"{node.get('class', '')} {node.get('id', '')}"
        if _LEAD_CLASS.search(marker):
            text = _squash(node.text_content())
            if _LEAD_MIN <= len(text) <= _LEAD_MAX:
                return text
    return None


_SOURCE = re.compile(r"\(\s*(?:Nguồn|Theo|Source)\s*:?\s*(https?://[^\s)]+)\s*\)", re.IGNORECASE)


def declared_author(page: PageMeta) -> str | None:
    """The byline as the page declares it (JSON-LD, then meta), all names kept."""
    for obj in page.jsonld:
        authors = obj.get("author")
        if isinstance(authors, dict | str):
            authors = [authors]
        if isinstance(authors, list):
            names = [a.get("name") if isinstance(a, dict) else a for a in authors]
            names = [_squash(str(n)) for n in names if n]
            if names:
                return ", ".join(names)
    author = page.first(("author", "article:author", "dc.creator"))
    return _squash(author) if author and not author.startswith("http") else None


def source_url(text: str) -> str | None:
    """The origin a republished article names, e.g. `(Nguồn: https://nld.com.vn/...)`."""
    match = _SOURCE.search(text)
    return match.group(1).rstrip(".,;") if match else None


def assemble_body(text: str, title: str | None, lead: str | None) -> str:
    """Paragraphs one per line; the headline repeated as first line dropped; the lead put back."""
    lines = [_squash(line) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if title and lines and lines[0] == _squash(title):
        lines = lines[1:]
    if lead and lead not in " ".join(lines[:3]):
        lines.insert(0, lead)
    return "\n".join(lines)


def extract_page(body: bytes, url: str | None, content_type: str | None = None,
                 hint_date: str | None = None, min_chars: int = MIN_BODY_CHARS) -> dict[str, Any] | None:
    """Extract one page; None when it has no article body (a listing, a contact page...).

    `min_chars=0` accepts any body, with or without a headline (for benchmarks)."""
    tree = load_html(decode_html(body, content_type))
    if tree is None:
        return None
    page = PageMeta.read(tree)
    published, modified = structured_dates(tree, page)
    doc = trafilatura.bare_extraction(
        tree, url=url, with_metadata=True, include_comments=False, favor_precision=True,
        include_tables=True,
    )
    if doc is None or not doc.text or (min_chars and not doc.title):
        return None
    zone = article_zone(tree, doc.title)
    text = assemble_body(doc.text, doc.title, find_lead(zone) if zone is not None else None)
    if len(text) < min_chars:
        return None
    if not published:
        published = to_iso(hint_date) or (zone_date(zone) if zone is not None else None) \
            or to_iso(doc.date)
    raw_tags = doc.tags or []
    if isinstance(raw_tags, str):
        raw_tags = raw_tags.split(",")
    return {
        "url": url,
        "canonical_url": doc.url if doc.url != url else None,
        "title": doc.title,
        "author": declared_author(page) or doc.author,
        "published": published,
        "modified": modified,
        "text": text,
        "source_url": source_url(text),
        "tags": [t.strip() for t in raw_tags if t and t.strip()],
        "language": doc.language or "vi",
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
