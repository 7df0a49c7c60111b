"""An article split over pages (a pager inside it) fetched whole: its other pages one after
another, each page's own pager read too, then handed on as one item under the first page's
address. Bounded by `MAX_ARTICLE_PAGES`; a page that cannot be fetched ends the article
where it is (what was fetched is kept)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from config.limits import MAX_ARTICLE_PAGES
from crawler.discovery import continuation_links, page_of

# What a spider does with the whole article: the first page's response and the bodies of
# the pages after it, in order.
Done = Callable[[Response, list[bytes]], Iterator[Any]]


@dataclass
class _Split:
    first: Response
    pending: list[str]
    asked: set[int]
    parts: list[bytes] = field(default_factory=list)


def follow(response: Response, spider: scrapy.Spider, done: Done) -> Iterator[Any]:
    """`done(response, [])` for a page in one piece; for a split article, the requests for
    its other pages, `done(first, parts)` after the last."""
    pending = continuation_links(response)
    if not pending:
        yield from done(response, [])
        return
    if spider.crawler is not None and spider.crawler.stats is not None:
        spider.crawler.stats.inc_value("newsmon/split_articles")
    asked = {page_of(response.url)[1], *(page_of(u)[1] for u in pending)}
    yield from _next(_Split(response, pending, asked), spider, done)


def _next(split: _Split, spider: scrapy.Spider, done: Done) -> Iterator[Any]:
    if not split.pending or len(split.parts) >= MAX_ARTICLE_PAGES:
        yield from done(split.first, split.parts)
        return
    url = split.pending.pop(0)
    yield scrapy.Request(
        url,
        callback=partial(_fetched, split=split, spider=spider, done=done),
        errback=partial(_failed, split=split, spider=spider, done=done),
        dont_filter=True,
        priority=10,
        meta={"split_of": split.first.url},
    )


def _fetched(response: Response, split: _Split, spider: scrapy.Spider, done: Done) -> Iterator[Any]:
    split.parts.append(response.body)
    for url in continuation_links(response):  # a pager showing a window of page numbers
        number = page_of(url)[1]
        if number not in split.asked:
            split.asked.add(number)
            split.pending.append(url)
    split.pending.sort(key=lambda u: page_of(u)[1])
    yield from _next(split, spider, done)


def _failed(failure: Failure, split: _Split, spider: scrapy.Spider, done: Done) -> Iterator[Any]:
    spider.logger.warning(
        "page %s of %s not fetched (%s): the article is kept without it",
        len(split.parts) + 2,
        split.first.url,
        failure.getErrorMessage(),
    )
    if spider.crawler is not None and spider.crawler.stats is not None:
        spider.crawler.stats.inc_value("newsmon/errors/split_page")
    yield from done(split.first, split.parts)
