"""Downloader middleware answering the simplest anti-bot wall: a small page whose script sets
a cookie (`document.cookie="NAME=VALUE"`) and reloads. The cookie is read from the text (no
script runs), kept for the host, and the request asked once more with it; a page that still
answers with a challenge is reported and dropped, never indexed as an article."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response

from config.limits import MAX_CHALLENGE_BYTES

_SETS_COOKIE = re.compile(rb"""document\.cookie\s*=\s*(["'])\s*([A-Za-z0-9_.-]{1,64})=([^"';\s]{0,512})""")
_RELOADS = re.compile(rb"location\.(?:reload\s*\(|href\s*=|replace\s*\()|window\.location\s*=")
TRIED = "newsmon_challenge"


def challenge_cookie(body: bytes) -> tuple[str, str] | None:
    """(name, value) when `body` is a set-cookie-and-reload challenge page, else None."""
    if len(body) > MAX_CHALLENGE_BYTES or not _RELOADS.search(body):
        return None
    found = _SETS_COOKIE.search(body)
    if found is None:
        return None
    return found.group(2).decode("ascii"), found.group(3).decode("ascii", "replace")


class CookieChallenge:
    """Solves set-cookie-and-reload challenges once per request; cookies kept per host."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.cookies: dict[str, dict[str, str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CookieChallenge:
        """One per crawl."""
        return cls(crawler)

    def process_request(self, request: Request) -> Any:
        """Send the cookies a challenge of this host asked for (cookies are off otherwise)."""
        jar = self.cookies.get(urlsplit(request.url).hostname or "")
        if jar:
            request.headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in jar.items())
        return None

    def process_response(self, request: Request, response: Response) -> Any:
        """A challenge: keep its cookie and ask again, once; a second one: drop the page."""
        cookie = challenge_cookie(response.body) if response.status in (200, 403, 503) else None
        if cookie is None:
            return response
        stats = self.crawler.stats
        assert stats is not None
        if request.meta.get(TRIED):
            stats.inc_value("newsmon/errors/challenge")
            raise IgnoreRequest(f"{request.url}: answered with a JavaScript challenge newsmon could not pass")
        stats.inc_value("newsmon/challenges")
        host = urlsplit(response.url).hostname or ""
        self.cookies.setdefault(host, {})[cookie[0]] = cookie[1]
        return request.replace(dont_filter=True, meta={**request.meta, TRIED: True, "dont_cache": True})
