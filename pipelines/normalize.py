"""Stage 2: canonical URL, document id, NFC display text, content fingerprint.

`canonical_url()` is also used by the spider, so one article reached by several
addresses is fetched and stored once.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

from search import textnorm
from search.index import doc_id

_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|dclid|msclkid|zarsrc|_ga|_gl|mc_cid|mc_eid|igshid)$",
                       re.IGNORECASE)
_MOBILE_HOST = re.compile(r"^(www|m|mobile)\.")


def site_host(url: str) -> str:
    """The host that names a site: lower case, without `www.`/`m.`/`mobile.`, with the port
    unless it is the scheme's default (loopback sample sites differ only by port)."""
    parts = urlsplit(url)
    host = _MOBILE_HOST.sub("", (parts.hostname or "").lower())
    if parts.port and (parts.scheme, parts.port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{parts.port}"
    return host


@lru_cache(maxsize=65536)
def canonical_url(url: str) -> str:
    """One spelling per page: lower-case host without www./m., no fragment, no tracking
    parameters, sorted query, no `/m/` mobile prefix, no trailing slash."""
    parts = urlsplit(canonicalize_url(url.strip()))
    host = site_host(parts.geturl())
    path = parts.path or "/"
    if path.startswith("/m/"):
        path = path[2:]
    if len(path) > 1:
        path = path.rstrip("/")
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not _TRACKING.match(k)])
    return urlunsplit((parts.scheme, host, path, query, ""))


def same_site(url: str, domain: str) -> bool:
    """True when `url` is on `domain` (a `site_host`) or one of its subdomains."""
    host = site_host(url)
    return host == domain or host.endswith("." + domain)


def normalize_article(article: dict[str, Any], site_domain: str) -> dict[str, Any]:
    """NFC every text field, settle the canonical URL (rel=canonical only on the same site)."""
    out = dict(article)
    for key in ("title", "text", "author"):
        if out.get(key):
            out[key] = textnorm.display(out[key]).strip()
    out["tags"] = [textnorm.display(t) for t in out.get("tags") or []]
    declared = out.get("canonical_url")
    base = declared if declared and same_site(declared, site_domain) else out["url"]
    out["canonical_url"] = canonical_url(base)
    out["id"] = doc_id(out["canonical_url"])
    out["domain"] = site_domain
    return out


class NormalizePipeline:
    """Scrapy stage wrapping `normalize_article`."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> NormalizePipeline:
        return cls(crawler)

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        return normalize_article(item, self.crawler.spider.site.domain)
