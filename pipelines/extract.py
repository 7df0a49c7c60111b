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
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from copy import copy, deepcopy
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any
from urllib.parse import urljoin

import trafilatura
from htmldate import find_date
from lxml import etree
from lxml.html import HtmlElement
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from trafilatura.settings import Extractor
from trafilatura.utils import load_html
from w3lib.encoding import html_to_unicode

from pipelines.cleanup import clean_page
from pipelines.dates import article_zone, structured_dates, zone_date
from pipelines.dedup import fingerprint
from pipelines.pagemeta import PageMeta, page_canonical, page_language, page_tags, page_title
from pipelines.siterules import ExtractRules, block_text, drop_selected, first_match, rules_of
from search import textnorm
from search.article import Article, ExtractionFailed, PageItem, to_iso

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


_MARKED = etree.XPath("descendant-or-self::*[@class or @id]")
_TAG_CANDIDATES = etree.XPath("descendant-or-self::*[@class or @id or contains(text(), ':')]")


def _marker(node: HtmlElement) -> str:
    """What a template calls an element: its class and id."""
    return f"{node.get('class', '')} {node.get('id', '')}"


def find_lead(zone: HtmlElement) -> str | None:
    """The lead paragraph (sapo), which generic extractors often drop, if the page marks it."""
    for node in _MARKED(zone):
        if node.tag in ("a", "img", "script", "style"):
            continue
        if _LEAD_CLASS.search(_marker(node)):
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
            names = [_squash(str(n)) for n in (a.get("name") if isinstance(a, dict) else a for a in authors)
                     if n]
            if names:
                return ", ".join(names)
    author = page.first(("author", "article:author", "dc.creator"))
    return _squash(author) if author and not author.startswith("http") else None


def source_url(text: str) -> str | None:
    """The origin a republished article names, e.g. `(Nguồn: https://nld.com.vn/...)`."""
    match = _SOURCE.search(text)
    return match.group(1).rstrip(".,;") if match else None


# Teaser lines and trailing lists: a label line ("Related: ...", "Xem thêm: ...") is dropped;
# a list heading ("Tin cùng chuyên mục") ends the body when it comes in its second half.
_TEASER_LINE = re.compile(
    r"^(related( (post|stories|articles?))?|read (more|also)|see (more|also)|also (on|read)|filed under"
    r"|xem thêm|đọc thêm|tin liên quan|bài liên quan|xem tiếp|tin (bài )?liên quan)\s*:",
    re.IGNORECASE)
_NOISE_LINE = re.compile(
    r"^(comments?|advertisement|quảng cáo|you may also like\W*|don'?t miss|like this story\?.*"
    r"|share (this|on)( (article|story|post|page|facebook|twitter|zalo))?\W*"
    r"|chia sẻ( bài viết)?\s*:?.*|bình luận( \(\d+\))?|ảnh\s*:.{0,60}"
    r"|(!function|var \w+\s*=|window\.|document\.)\W.*"          # inline script text
    r"|(subscribe|sign up)\b.{0,80}\bnewsletters?\b.{0,120})$", re.IGNORECASE)
_TRAILING_LIST = re.compile(
    r"^(tin cùng chuyên mục|đọc thêm|có thể bạn quan tâm|nên xem|tin khác|các tin khác|bài viết liên quan"
    r"|tin liên quan|tin tức mới nhất|tin mới nhất|tin đọc nhiều|xem thêm|cùng chuyên mục"
    r"|related (articles|stories|posts)|you (may|might) also like|more (stories|from)|most read\b.*"
    r"|tags?|từ khóa|từ khoá)\W*$", re.IGNORECASE)


_CLICK_TO_TWEET = re.compile(r"\s*Click To Tweet$")


def drop_teasers(lines: list[str]) -> list[str]:
    """Remove teaser/label lines and cut a trailing related-list that the engine kept."""
    kept: list[str] = []
    for i, line in enumerate(_CLICK_TO_TWEET.sub("", line) for line in lines):
        if _TRAILING_LIST.match(line) and i >= len(lines) / 2:
            break
        if not (_TEASER_LINE.match(line) or _NOISE_LINE.match(line)):
            kept.append(line)
    return kept


@dataclass(frozen=True)
class TagLine:
    """A "Từ khóa: a, b, c" line: its tags go to `tags`, its text leaves the body."""

    text: str
    tags: list[str]


_TAG_LABEL = re.compile(r"^\s*(từ\s*khóa|từ\s*khoá|tags?|chủ\s*đề|keywords?)\s*:", re.IGNORECASE)
_TAG_CLASS = re.compile(r"(^|[\s_-])(tags?|keywords?|tu-?khoa)([\s_-]|$)", re.IGNORECASE)


def find_tag_line(zone: HtmlElement) -> TagLine | None:
    for node in _TAG_CANDIDATES(zone):
        if node.tag in ("a", "script", "style"):
            continue
        if not (_TAG_CLASS.search(_marker(node)) or (node.text and _TAG_LABEL.match(node.text))):
            continue
        text = _squash(node.text_content())
        if not text or len(text) > 400:
            continue
        tags = [_squash(a.text_content()) for a in node.iter("a")]
        tags = [t for t in tags if t]
        if not tags:
            tags = [t.strip() for t in _TAG_LABEL.sub("", text).split(",") if t.strip()]
        if tags:
            return TagLine(text, tags)
    return None


_BYLINE_CLASS = re.compile(r"(^|[\s_-])(author|byline|tac-?gia|writer|reporter)([\s_-]|$)", re.IGNORECASE)


_BYLINE_PREFIX = re.compile(r"^(tác giả|bài và ảnh|bài|theo|bởi|by)\s*:?\s*", re.IGNORECASE)


def trailing_byline(zone: HtmlElement) -> str | None:
    """The short right-aligned last paragraph many Vietnamese CMS use for the author."""
    paragraphs = [p for p in zone.iter("p") if p.text_content().strip()]
    if not paragraphs:
        return None
    last = paragraphs[-1]
    right = last.get("align") == "right" or "text-align:right" in last.get("style", "").replace(" ", "")
    text = _squash(last.text_content())
    if right and len(text) <= 60 and len(text.split()) <= 8 and not text.endswith("."):
        return _BYLINE_PREFIX.sub("", text)
    return None


def byline(zone: HtmlElement) -> str | None:
    """A byline element inside the article zone (`<p class="author">Duy Chương - Thanh Tùng</p>`)."""
    for node in _MARKED(zone):
        if _BYLINE_CLASS.search(_marker(node)):
            text = _squash(node.text_content())
            if 2 < len(text) <= 80:
                return _BYLINE_PREFIX.sub("", text) or None
    return None


def assemble_body(text: str, title: str | None, lead: str | None, tag_line: TagLine | None = None,
                  signature: str | None = None) -> str:
    """Paragraphs one per line; the headline repeated as first line dropped; the lead put
    back; the tag line and a trailing signature (byline) taken out."""
    lines = [_squash(line) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if title and lines and lines[0] == _squash(title):
        lines = lines[1:]
    if tag_line:
        lines = [line for line in lines if line != tag_line.text]
    lines = drop_teasers(lines)
    if signature and lines and signature in lines[-1] and len(lines[-1]) <= len(signature) + 12:
        lines.pop()
    if lead and lead not in " ".join(lines[:3]):
        lines.insert(0, lead)
    return "\n".join(lines)


def extract_page(body: bytes, url: str | None, content_type: str | None = None,
                 hint_date: str | None = None, *, min_chars: int = MIN_BODY_CHARS,
                 rules: ExtractRules | dict[str, Any] | None = None) -> Article | None:
    """Extract one page; None when it has no article body (a listing, a contact page...).

    trafilatura finds the body; the metadata (title, dates, author, tags) newsmon reads
    itself from the same parsed tree, which is both more faithful for Vietnamese pages
    and cheaper than trafilatura's own metadata pass. `rules` are the site's overrides.
    `min_chars=0` accepts any body, with or without a headline (for benchmarks)."""
    tree = load_html(decode_html(body, content_type))
    if tree is None:
        return None
    site_rules = rules_of(rules) or ExtractRules()
    page = PageMeta.read(tree)
    drop_selected(tree, site_rules.drop)
    # Site rules are looked up before clean-up, which re-tags layout tables.
    head, body_node, date_node, author_node = (first_match(tree, sel) for sel in (
        site_rules.title, site_rules.body, site_rules.date, site_rules.author))
    clean_page(tree)
    title = _squash(head.text_content()) if head is not None else page_title(tree, page)
    if min_chars and not title:
        return None
    published, modified = structured_dates(tree, page)
    zone = article_zone(tree, title, head)
    lead = find_lead(zone) if zone is not None else None
    tag_line = find_tag_line(zone) if zone is not None else None
    signature = trailing_byline(zone) if zone is not None else None
    body_text = block_text(body_node) if body_node is not None else engine_text(tree, url)
    if not body_text:
        return None
    text = assemble_body(body_text, title, lead, tag_line, signature)
    if len(text) < min_chars:
        return None
    if not published:
        published = to_iso(hint_date) or element_date(date_node) \
            or (zone_date(zone) if zone is not None else None) or last_resort_date(tree, zone)
    author = _BYLINE_PREFIX.sub("", _squash(author_node.text_content())) if author_node is not None else None
    return Article(
        url=url,
        canonical_url=canonical_href(tree, page, url),
        title=title,
        author=author or declared_author(page) or signature or (byline(zone) if zone is not None else None),
        published=published,
        modified=modified,
        text=text,
        source_url=source_url(text),
        tags=(tag_line.tags if tag_line else None) or page_tags(page),
        language=page_language(tree, page) or "vi",
    )


def element_date(node: HtmlElement | None) -> str | None:
    """The date a site rule points at: its datetime/content attribute, else its text."""
    if node is None:
        return None
    return to_iso(node.get("datetime") or node.get("content")) or zone_date(node)


_SHORT_BODY = 500


@lru_cache(maxsize=4)
def _engine_options(precise: bool) -> Extractor:
    # Built once per mode: trafilatura otherwise re-reads its configuration on every
    # call, about 0.1 ms a page.
    return Extractor(output_format="python", fast=precise, precision=precise, comments=False,
                     tables=True, with_metadata=False)


def _options_for(precise: bool, url: str | None) -> Extractor:
    options = copy(_engine_options(precise))
    options.url = options.source = url
    return options


def engine_text(tree: HtmlElement, url: str | None) -> str | None:
    """trafilatura's body text, precision first; a page where that finds almost nothing
    (a paywall notice, a reprint box) is read again in balanced mode, once.

    The first pass skips trafilatura's comparison with its fallback extractors (`fast`):
    on the public benchmark that scored the same (F1 0.971 vs 0.970) in three quarters of
    the time; the balanced second pass keeps them."""
    text = _engine_pass(tree, url, precise=True)
    if len(text) < _SHORT_BODY:
        retry = _engine_pass(tree, url, precise=False)
        if len(retry) > 2 * len(text):
            text = retry
    return text or None


def _engine_pass(tree: HtmlElement, url: str | None, *, precise: bool) -> str:
    doc = trafilatura.bare_extraction(tree, options=_options_for(precise, url))
    # With output_format="python" trafilatura returns its Document, never a dict.
    return str(getattr(doc, "text", None) or "")


def canonical_href(tree: HtmlElement, page: PageMeta, url: str | None) -> str | None:
    href = page_canonical(tree, page)
    return urljoin(url, href) if href and url else href


def last_resort_date(tree: HtmlElement, zone: HtmlElement | None) -> str | None:
    """htmldate's best guess (original date, not the last modification), searching free
    text only inside the article zone: the header clock is never a candidate."""
    if zone is None:  # the page's free text is where the site clock lives: markup only
        found = find_date(tree, original_date=True, extensive_search=False, outputformat="%Y-%m-%d")
    else:
        found = find_date(deepcopy(zone), original_date=True, outputformat="%Y-%m-%d")
    return to_iso(found)


def extract_for_index(body: bytes, url: str | None, content_type: str | None = None,
                      hint_date: str | None = None, *,
                      rules: ExtractRules | dict[str, Any] | None = None) -> Article | None:
    """`extract_page` plus what later stages derive from the text alone (matching forms of
    title and text, dedup fingerprints), computed in the worker process rather than on the
    crawl's reactor thread."""
    article = extract_page(body, url, content_type, hint_date, rules=rules)
    if article is not None:
        title, text = (article.title or "").strip(), (article.text or "").strip()
        article.title_norm, article.title_fold = textnorm.normalize(title), textnorm.fold(title)
        article.text_norm, article.text_fold = textnorm.normalize(text), textnorm.fold(text)
        fingerprint(article)  # the dedup stage's signatures, computed here off the reactor
    return article


Page = tuple[bytes, str | None, str | None, str | None]  # body, url, content type, hint date


def extract_batch(pages: list[Page],
                  rules: ExtractRules | dict[str, Any] | None = None) -> list[tuple[bool, Any]]:
    """`extract_for_index` over several pages in one worker task: `(True, article or None)`
    per page, or `(False, "Error: message")` for a page that raised."""
    results: list[tuple[bool, Any]] = []
    for body, url, content_type, hint_date in pages:
        try:
            results.append((True, extract_for_index(body, url, content_type, hint_date, rules=rules)))
        except Exception as exc:  # noqa: BLE001 - one bad page must not fail its batch
            results.append((False, f"{type(exc).__name__}: {exc}"))
    return results


_pool: ProcessPoolExecutor | None = None


def extraction_pool() -> ProcessPoolExecutor:
    """One process pool per crawl process, shared by every site's spider."""
    global _pool
    if _pool is None:
        workers = max(1, min(os.cpu_count() or 2, 4))
        # A fork server imports the extractor once and forks clean workers from it: no fork
        # of the threaded reactor process, and no second import per worker (as spawn would).
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["pipelines.extract"])
        _pool = ProcessPoolExecutor(workers, mp_context=context)
    return _pool


def _discard_pool(pool: ProcessPoolExecutor) -> None:
    """A worker died (a page crashed the parser): the next batch gets a new pool."""
    global _pool
    if _pool is pool:
        _pool = None
        pool.shutdown(wait=False, cancel_futures=True)


class ExtractionError(Exception):
    """A page the extractor raised on (the message names the error)."""


class PageBatches:
    """Pages go to the pool a few at a time: one task per page cost about 0.2 ms of
    hand-off (pickling, queues, wake-ups) across the two processes, a batch of `size` costs
    that once. A page waits at most `wait` seconds for company, so a slow, polite crawl
    still hands each page on at once."""

    def __init__(self, rules: ExtractRules | dict[str, Any] | None, size: int = 8,
                 wait: float = 0.002) -> None:
        self.rules, self.size, self.wait = rules, size, wait
        self.pending: list[tuple[Page, asyncio.Future[Any]]] = []
        self.timer: asyncio.TimerHandle | None = None

    async def extract(self, body: bytes, url: str | None, content_type: str | None,
                      hint_date: str | None) -> Article | None:
        """The page's article (None when it is no article); ExtractionError if it raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self.pending.append(((body, url, content_type, hint_date), future))
        if len(self.pending) >= self.size:
            self.dispatch()
        elif self.timer is None:
            self.timer = loop.call_later(self.wait, self.dispatch)
        return await future

    def dispatch(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        batch, self.pending = self.pending, []
        if not batch:
            return
        pool = extraction_pool()
        try:
            task = asyncio.wrap_future(pool.submit(extract_batch, [page for page, _ in batch], self.rules))
        except BrokenProcessPool as exc:
            _discard_pool(pool)
            for _, future in batch:
                future.set_exception(exc)
            return
        task.add_done_callback(partial(self._settle, pool, [future for _, future in batch]))

    @staticmethod
    def _settle(pool: ProcessPoolExecutor, futures: list[asyncio.Future[Any]],
                task: asyncio.Future[Any]) -> None:
        error = BrokenProcessPool("the extraction pool shut down") if task.cancelled() else task.exception()
        if isinstance(error, BrokenProcessPool):
            _discard_pool(pool)
        if error is not None:
            for future in futures:
                if not future.done():
                    future.set_exception(error)
            return
        for future, (ok, value) in zip(futures, task.result(), strict=True):
            if future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(ExtractionError(value))


class ExtractPipeline:
    """Turns page items into article items in worker processes; drops non-articles."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        """Page batches carry the site's `extract:` rules to the workers."""
        self.batches = PageBatches(self.crawler.spider.site.extract)  # type: ignore[union-attr]

    async def process_item(self, item: PageItem) -> Article:
        """The page's article; a page that is none, or that the extractor fails on, is dropped."""
        try:
            article = await self.batches.extract(item.body, item.url, item.content_type, item.hint_date)
        except Exception as exc:  # noqa: BLE001 - a bad page is counted and the crawl goes on
            self.stats.inc_value("newsmon/errors/extract")
            message = str(exc) if isinstance(exc, ExtractionError) else f"{type(exc).__name__}: {exc}"
            log.warning("cannot extract %s: %s", item.url, message)
            raise ExtractionFailed(f"cannot extract {item.url}", log_level="DEBUG") from None
        if article is None:
            self.stats.inc_value("newsmon/non_articles")
            raise DropItem(f"not an article: {item.url}", log_level="DEBUG")
        article.site, article.fetched_at = item.site, item.fetched_at
        return article
