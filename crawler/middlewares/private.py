"""Downloader middleware refusing private, loopback and link-local addresses (SSRF guard).

Checked on every request, redirects included (a redirect is a new request). A site
whose own home page is on such an address may reach that address; otherwise only
NEWSMON_ALLOW_PRIVATE_HOSTS=true lifts the rule.
"""

from __future__ import annotations

import ipaddress
import socket
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request


@lru_cache(maxsize=4096)
def _addresses(host: str) -> tuple[str, ...]:
    try:
        return tuple({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
    except OSError:
        return ()


def is_private_host(host: str) -> bool:
    """True when any address `host` resolves to is not a public one."""
    for addr in _addresses(host):
        ip = ipaddress.ip_address(addr.split("%")[0])
        if (
            ip.is_private
            or ip.is_loopback
            or ip.is_link_local
            or ip.is_reserved
            or ip.is_multicast
            or ip.is_unspecified
        ):
            return True
    return False


class PrivateAddressGuard:
    """Drops requests to non-public addresses unless allowed."""

    def __init__(self, crawler: Crawler, allow_all: bool) -> None:
        self.crawler = crawler
        self.allow_all = allow_all

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateAddressGuard:
        """The rule is lifted only by NEWSMON_ALLOW_PRIVATE_HOSTS (via the crawl's settings)."""
        return cls(crawler, crawler.settings.getbool("NEWSMON_ALLOW_PRIVATE_HOSTS"))

    def process_request(self, request: Request) -> Any:
        """Let the request through, or refuse it (counted as an error of the crawl)."""
        if self.allow_all:
            return None
        host = urlsplit(request.url).hostname or ""
        if host and host in getattr(self.crawler.spider, "own_hosts", ()):
            return None
        if is_private_host(host):
            self.crawler.stats.inc_value("newsmon/errors/private_address")
            raise IgnoreRequest(f"refusing private address {host} (NEWSMON_ALLOW_PRIVATE_HOSTS)")
        return None
