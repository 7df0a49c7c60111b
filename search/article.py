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
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

from config.vntime import VN_TZ


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
    # An article split over pages: the bodies of its pages after this one, in order.
    parts: tuple[bytes, ...] = ()


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
    source_name: str | None = None  # the origin a copy names in words only ("Nguồn: Báo Lao Động")
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
    # Fetched by a backfill and published before it started: history, searchable, never mailed.
    backfill: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Every field, shallow (for the spool and for JSON output)."""
        return {name: getattr(self, name) for name in ARTICLE_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        """Rebuild from `to_dict` output; keys this version does not know are ignored."""
        return cls(**{k: v for k, v in data.items() if k in _FIELD_SET})


ARTICLE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Article))
_FIELD_SET = frozenset(ARTICLE_FIELDS)

_TRACKING = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|msclkid|zarsrc|_ga|_gl|mc_cid|mc_eid|igshid)$", re.IGNORECASE
)
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
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)]
    )
    return urlunsplit((parts.scheme, host, path, query, ""))


def same_site(url: str, domain: str) -> bool:
    """True when `url` is on `domain` (a `site_host`) or one of its subdomains."""
    host = site_host(url)
    return host == domain or host.endswith("." + domain)


def doc_id(canonical: str) -> str:
    """Document id: the first 32 hex digits of SHA-256 of the canonical URL."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


# A machine-readable time some CMSs write in 12-hour form ("2024-05-03 02:20 PM", "02:20 CH").
_TWELVE_HOUR = re.compile(
    r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ap>AM|PM|SA|CH)\b", re.IGNORECASE
)
_DAY_FIRST = re.compile(r"^(?P<d>\d{1,2})[/.-](?P<mo>\d{1,2})[/.-](?P<y>\d{4})\b")


def _twelve_hour(match: re.Match[str]) -> str:
    hour = int(match.group("h")) % 12 + (12 if match.group("ap").upper() in ("PM", "CH") else 0)
    return f"{hour:02d}:{match.group('mi')}:{match.group('s') or '00'}"


def parse_moment(value: str | None) -> datetime | None:
    """A machine-readable timestamp (ISO 8601 with or without offset, `T` or space, a
    12-hour clock, day-first `03/05/2024 14:20`, RFC 2822, Unix seconds or milliseconds)
    -> an aware datetime (Vietnam time when none is given); None when unreadable."""
    if not value:
        return None
    text = " ".join(value.split())[:64]
    if text.isdigit() and len(text) in (10, 13):  # Unix time (data-timestamp attributes)
        return datetime.fromtimestamp(int(text[:10]), tz=UTC)
    text = _ZONE_FOR_T.sub(_zone_for_t, text)
    text = _TWELVE_HOUR.sub(_twelve_hour, text.replace("Z", "+00:00"))
    text = _DAY_FIRST.sub(lambda m: f"{m['y']}-{int(m['mo']):02d}-{int(m['d']):02d}", text)
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    text = re.sub(r"^(\d{4})/(\d{2})/(\d{2})", r"\1-\2-\3", text)
    parsed = _iso(text) or _rfc2822(text)
    if parsed is None:
        match = re.match(r"\d{4}-\d{2}-\d{2}", text)
        parsed = _iso(match.group(0)) if match else None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=VN_TZ)


# PHP's date("Y-m-dTH:i:s") prints the zone's abbreviation where the "T" should be
# ("2026-12-03ICT09:15:00", "2026-12-03+0709:15:00"). Named zones that say which offset they
# are become that offset; any other name is dropped (the time is then read as local).
_ZONE_FOR_T = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})(?P<zone>[A-Za-z]{2,5}|[+-]\d{2}(?::?\d{2})?)(?P<time>\d{2}:\d{2}(?::\d{2})?)$"
)
_NAMED_OFFSETS = {"ict": "+07:00", "utc": "+00:00", "gmt": "+00:00"}


def _zone_for_t(match: re.Match[str]) -> str:
    zone = match["zone"]  # fromisoformat reads "+07", "+0700" and "+07:00" alike
    offset = _NAMED_OFFSETS.get(zone.casefold(), "") if zone[0].isalpha() else zone
    return f"{match['date']}T{match['time']}{offset}"


def _iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _rfc2822(text: str) -> datetime | None:
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def to_iso(value: str | None) -> str | None:
    """A machine-readable timestamp -> ISO 8601 with offset (Vietnam time when none given)."""
    parsed = parse_moment(value)
    return parsed.isoformat() if parsed is not None else None


def in_vietnam_time(value: str | None) -> str | None:
    """The same instant shown in Asia/Ho_Chi_Minh (`...Z` -> `...+07:00`), as users read it."""
    iso = to_iso(value)
    return datetime.fromisoformat(iso).astimezone(VN_TZ).isoformat() if iso else None
