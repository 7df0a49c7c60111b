"""The records that flow between the crawl's stages, and the identity of a page.

`PageItem` is what the spider yields (a fetched page); `Article` is what the extraction
stage makes of it, what normalize, dedup and index fill in, and what is indexed: its
fields are the index mapping's properties plus the document id (a test holds them
equal). URL identity (`canonical_url`, `site_host`, `doc_id`) and timestamp parsing
(`to_iso`) live here because the fetch, extract, dedup and search sides all need them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from scrapy.exceptions import DropItem
from w3lib.url import canonicalize_url

from config.settings import VN_TZ


@dataclass(slots=True)
class PageItem:
    """A fetched page on its way to extraction (what the spider yields)."""

    site: str
    url: str
    body: bytes
    content_type: str | None = None
    fetched_at: str | None = None
    # The date a feed or sitemap gave the URL: the article's fallback publication date.
    hint_date: str | None = None


@dataclass(slots=True)
class Article:
    """One article: extracted fields, then identity, matching forms, fingerprints and story."""

    url: str | None
    title: str | None = None
    text: str = ""
    canonical_url: str | None = None
    author: str | None = None
    published: str | None = None
    modified: str | None = None
    source_url: str | None = None
    tags: list[str] = field(default_factory=list)
    language: str | None = None
    # Set by the crawl: which registry site, when fetched; by normalize: id and domain.
    site: str | None = None
    domain: str | None = None
    fetched_at: str | None = None
    id: str | None = None
    # Matching forms of title and text (search.textnorm), computed in the extraction workers.
    title_norm: str | None = None
    title_fold: str | None = None
    text_norm: str | None = None
    text_fold: str | None = None
    # Fingerprints (pipelines/dedup.py) and the story the dedup decision puts it in.
    content_hash: str | None = None
    minhash: list[int] | None = None
    lsh_bands: list[str] | None = None
    cluster: str | None = None
    duplicate_of: str | None = None
    indexed_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Every field, shallow (for the spool and for JSON output)."""
        return {name: getattr(self, name) for name in ARTICLE_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        """Rebuild from `to_dict` output; keys this version does not know are ignored."""
        return cls(**{k: v for k, v in data.items() if k in _FIELD_SET})


class ExtractionFailed(DropItem):
    """The extractor raised on a page: dropped now, fetched again by the next crawl
    (unlike a page that is no article, which is remembered as seen)."""


ARTICLE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Article))
_FIELD_SET = frozenset(ARTICLE_FIELDS)

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


def doc_id(canonical: str) -> str:
    """Document id: the first 32 hex digits of SHA-256 of the canonical URL."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def to_iso(value: str | None) -> str | None:
    """A machine-readable timestamp -> ISO 8601 with offset (Vietnam time when none given)."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        match = re.match(r"\d{4}-\d{2}-\d{2}", text)
        if not match:
            return None
        parsed = datetime.fromisoformat(match.group(0))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=VN_TZ)
    return parsed.isoformat()


def in_vietnam_time(value: str | None) -> str | None:
    """The same instant shown in Asia/Ho_Chi_Minh (`...Z` -> `...+07:00`), as users read it."""
    iso = to_iso(value)
    return datetime.fromisoformat(iso).astimezone(VN_TZ).isoformat() if iso else None
