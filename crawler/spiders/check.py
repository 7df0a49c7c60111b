"""CheckSpider: probes registry sites for `newsmon sites check`, with the crawl's own Scrapy
settings (robots.txt, the cookie-challenge middleware, redirects, limits): robots.txt, each
source (or the home page when a site names none) and the article URLs it yields, then the
first two of those articles. Nothing is indexed; what was seen is collected for the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import HtmlResponse, Response
from scrapy.linkextractors import LinkExtractor
from twisted.python.failure import Failure

from crawler.discovery import feed_entries, sitemap_body, sitemap_entries
from crawler.registry import Site
from crawler.spiders import reason
from crawler.spiders.news import looks_like_article
from search.article import same_site, site_host

ARTICLES_PER_SITE = 2


@dataclass
class Probe:
    """One URL asked for: what kind, how it answered, the article URLs it gave."""

    site: str
    kind: str  # robots, feed, sitemap, listing, home, article
    url: str
    status: int | None = None
    final_url: str | None = None
    error: str | None = None
    articles: list[str] = field(default_factory=list)
    body: bytes = b""
    content_type: str | None = None


class CheckSpider(scrapy.Spider):
    """Probe `sites`; results land in `probes`."""

    name = "check"
    custom_settings = {"ROBOTSTXT_OBEY": True, "HTTPERROR_ALLOW_ALL": True}  # noqa: RUF012 - as Scrapy declares it

    def __init__(self, sites: list[Site], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sites = {site.name: site for site in sites}
        # A registry site's own host may be private, as for its crawl (hosts without ports).
        self.own_hosts = frozenset(urlsplit(f"//{h}").hostname or "" for s in sites for h in s.hosts)
        self.probes: list[Probe] = []
        self.asked: dict[str, int] = {}
        self.links = LinkExtractor(deny_extensions=None, tags=("a", "area"), attrs=("href",))

    async def start(self) -> AsyncIterator[Any]:
        """robots.txt and every source of every site (its home page when it names none)."""
        for site in self.sites.values():
            root = site.url.split("/", 3)
            yield self._ask(site, "robots", f"{root[0]}//{root[2]}/robots.txt")
            sources = [("feed", u) for u in site.feeds] + [("sitemap", u) for u in site.sitemaps]
            sources += [("listing", u) for u in site.listings]
            for kind, url in sources or [("home", site.url)]:
                yield self._ask(site, kind, url)

    def _ask(self, site: Site, kind: str, url: str) -> scrapy.Request:
        probe = Probe(site.name, kind, url)
        self.probes.append(probe)
        meta = {"probe": probe, "dont_cache": True, "dont_obey_robotstxt": kind == "robots"}
        return scrapy.Request(url, callback=self.parse, errback=self.failed, dont_filter=True, meta=meta)

    def parse(self, response: Response) -> Any:
        """Record the answer; from a source, the article URLs it gives (and ask for two)."""
        probe: Probe = response.meta["probe"]
        probe.status, probe.final_url = response.status, response.url
        site = self.sites[probe.site]
        if probe.kind == "article":
            probe.body = response.body
            probe.content_type = (response.headers.get("Content-Type") or b"").decode("latin-1") or None
            return
        if probe.kind == "robots" or response.status >= 400:
            return
        hosts = [*site.hosts, site_host(response.url)]  # a site that moved answers from its new host
        if probe.kind == "feed":
            urls = [entry.url for entry in feed_entries(response)]
        elif probe.kind == "sitemap":
            body = sitemap_body(response, self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
            urls = [entry.url for entry in sitemap_entries(body)[1]] if body else []
        elif isinstance(response, HtmlResponse):
            urls = [link.url for link in self.links.extract_links(response)]
        else:
            urls = []
        ours = (u for u in urls if any(same_site(u, h) for h in hosts))
        probe.articles = list(dict.fromkeys(u for u in ours if looks_like_article(u, site.article_pattern)))
        wanted = ARTICLES_PER_SITE - self.asked.get(site.name, 0)
        for url in probe.articles[: max(0, wanted)]:
            self.asked[site.name] = self.asked.get(site.name, 0) + 1
            yield self._ask(site, "article", url)

    def failed(self, failure: Failure) -> None:
        """Record why a URL could not be fetched (robots.txt, DNS, refused, challenge...)."""
        request = getattr(failure, "request", None)
        probe = request.meta.get("probe") if request is not None else None
        if probe is not None:
            probe.error = reason(failure)
