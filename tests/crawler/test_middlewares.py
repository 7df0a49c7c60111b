"""The private-address guard: loopback, private and link-local hosts refused unless allowed."""

from __future__ import annotations

import pytest
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request
from scrapy.utils.test import get_crawler

from crawler.middlewares.private import PrivateAddressGuard, is_private_host
from crawler.spiders.pages import PageSpider


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "10.0.0.1", "192.168.1.1", "169.254.169.254", "::1", "localhost"]
)
def test_private_and_local_addresses(host: str) -> None:
    assert is_private_host(host)


def test_a_public_address_is_not_private() -> None:
    assert not is_private_host("8.8.8.8")


def _guard(allow: bool, own: frozenset[str] = frozenset()) -> PrivateAddressGuard:
    crawler = get_crawler(PageSpider, {"NEWSMON_ALLOW_PRIVATE_HOSTS": allow})
    crawler.spider = PageSpider(urls=[], own_hosts=own)
    return PrivateAddressGuard.from_crawler(crawler)


def test_refused_and_counted_unless_the_setting_or_the_site_itself_allows_it() -> None:
    guard = _guard(allow=False, own=frozenset({"10.1.2.3"}))
    with pytest.raises(IgnoreRequest, match=r"169\.254\.169\.254"):
        guard.process_request(Request("http://169.254.169.254/latest/meta-data/"))
    assert guard.crawler.stats.get_value("newsmon/errors/private_address") == 1
    assert guard.process_request(Request("http://10.1.2.3/tin-1001.html")) is None  # the site's own host
    assert _guard(allow=True).process_request(Request("http://169.254.169.254/")) is None
