"""PageSpider: fetches a given list of URLs once each, for `newsmon extract URL...`.

It runs under the crawl's own Scrapy settings, so a page asked for by hand goes through
the same robots.txt rules, private-address guard, size limit, timeouts and retries as a
crawled one. Nothing is indexed: responses and failures are collected for the caller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.spiders import paged, reason


@dataclass(frozen=True)
class Fetched:
    """One fetched page (after redirects), or why it could not be fetched."""

    url: str
    body: bytes = b""
    content_type: str | None = None
    error: str | None = None
    parts: tuple[bytes, ...] = ()  # the pages an article split over pages continues on


class PageSpider(scrapy.Spider):
    """Fetch `urls`; results land in `results`, keyed by the URL as asked for."""

    name = "pages"

    def __init__(self, urls: list[str], own_hosts: frozenset[str] = frozenset(), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = urls
        # Hosts of registry sites whose home page is itself on a private address.
        self.own_hosts = own_hosts
        self.results: dict[str, Fetched] = {}

    async def start(self) -> AsyncIterator[Any]:
        """One request per distinct URL; the duplicate filter is off for them."""
        for url in dict.fromkeys(self.urls):
            yield scrapy.Request(
                url, callback=self.parse, errback=self.failed, dont_filter=True, meta={"asked": url}
            )

    def parse(self, response: Response) -> Iterator[Any]:
        """Keep the page as fetched (with the pages it continues on, if split)."""
        yield from paged.follow(response, self, self._keep)

    def _keep(self, response: Response, parts: list[bytes]) -> Iterator[Any]:
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1") or None
        self.results[response.meta["asked"]] = Fetched(
            response.url, response.body, content_type, parts=tuple(parts)
        )
        yield from ()

    def failed(self, failure: Failure) -> None:
        """Keep why the page could not be fetched (robots.txt, private address, HTTP status...)."""
        request = getattr(failure, "request", None)
        asked = request.meta.get("asked") if request is not None else None
        if asked:
            self.results[asked] = Fetched(asked, error=reason(failure))
