"""Where article URLs come from: RSS/Atom feeds, sitemaps (index, gzipped, Google News),
and listing pages with their pagination. Parsing relies on Scrapy's own helpers
(`Sitemap`, `sitemap_urls_from_robots`, gunzip, selectors)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from scrapy.http import Response, TextResponse
from scrapy.link import Link
from scrapy.selector import Selector
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import Sitemap

from config.limits import MAX_ARTICLE_PAGES
from config.vntime import VN_TZ
from search.article import canonical_url, to_iso


@dataclass(frozen=True)
class Entry:
    """A URL a feed or sitemap lists, with the date it gives (ISO 8601, +07:00 if naive)."""

    url: str
    date: str | None = None


# What Vietnamese feeds put around an RFC 822 date: a day name of their own ("Thứ hai,",
# "T2,", "CN,"), a short offset ("+07", "GMT+7") that the standard parser misreads as minutes
# or drops, or a day-first numeric date ("01/12/2025 10:00").
_DAY_NAME = re.compile(r"^\s*(?:[^\d,]{1,12}|T[2-7]),\s*")
_SHORT_OFFSET = re.compile(r"\s*(?:GMT|UTC)?\s*([+-])(\d{1,2})(?::?(\d{2}))?\s*$", re.IGNORECASE)
_DAY_FIRST = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def feed_date(value: str | None) -> str | None:
    """A feed's date as ISO 8601 with its offset (+07:00 when it gives none), or None."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if re.match(r"^\d{4}-\d{2}-\d{2}", text):  # ISO 8601 (Atom, some RSS)
        return to_iso(text)
    text = _DAY_NAME.sub("", text)
    offset: tzinfo = VN_TZ
    found = _SHORT_OFFSET.search(text)
    if found:
        sign, hours, minutes = found.groups()
        offset = timezone((-1 if sign == "-" else 1) * timedelta(hours=int(hours), minutes=int(minutes or 0)))
        text = text[: found.start()].strip()
    numeric = _DAY_FIRST.match(text)
    try:
        if numeric:
            day, month, year, hour, minute, second = (int(g) if g else 0 for g in numeric.groups())
            moment = datetime(year, month, day, hour, minute, second)
        else:
            moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=offset)
    return moment.isoformat()


def feed_entries(response: Response) -> list[Entry]:
    """Items of an RSS 2.0 or Atom feed (link and date: Atom `updated`/`published`, RSS `pubDate`)."""
    selector = Selector(
        text=response.text
        if isinstance(response, TextResponse)
        else response.body.decode("utf-8", "replace"),
        type="xml",
    )
    selector.remove_namespaces()
    entries = []
    for item in selector.xpath("//item"):
        link = item.xpath("normalize-space(link)").get() or item.xpath("normalize-space(guid)").get()
        date = item.xpath("normalize-space(pubDate)").get() or item.xpath("normalize-space(date)").get()
        if link:
            entries.append(Entry(response.urljoin(link), feed_date(date)))
    for item in selector.xpath("//entry"):
        link = item.xpath("link[@rel='alternate']/@href").get() or item.xpath("link[not(@rel)]/@href").get()
        date = item.xpath("normalize-space(updated)").get() or item.xpath("normalize-space(published)").get()
        if link:
            entries.append(Entry(response.urljoin(link), to_iso(date)))
    return entries


class NewsSitemap(Sitemap):
    """Scrapy's sitemap parser, also keeping a Google News `<news:publication_date>`."""

    def _process_sitemap_element(self, elem: Any) -> dict[str, Any] | None:
        published = next(
            (
                child.text
                for child in elem.iter()
                if isinstance(child.tag, str) and child.tag.endswith("publication_date") and child.text
            ),
            None,
        )
        entry = super()._process_sitemap_element(elem)
        if entry is not None and published:
            entry["publication_date"] = published.strip()
        return entry


def sitemap_body(response: Response, max_size: int) -> bytes | None:
    """The XML of a sitemap response, gunzipped when it is a `.xml.gz` file."""
    if gzip_magic_number(response):
        try:
            return gunzip(response.body, max_size=max_size)
        except Exception:  # noqa: BLE001 - a broken archive is an invalid sitemap
            return None
    return response.body if response.body.lstrip()[:1] == b"<" else None


def sitemap_entries(body: bytes) -> tuple[str, list[Entry]]:
    """(`urlset` or `sitemapindex`, its entries with their dates)."""
    sitemap = NewsSitemap(body)
    entries = [
        Entry(e["loc"], to_iso(e.get("lastmod") or e.get("publication_date")))
        for e in sitemap
        if e.get("loc")
    ]
    return sitemap.type, entries


_NEXT_TEXT = re.compile(r"^\s*(xem thêm|trang sau|tiếp|tiếp theo|sau|next|older|»|›|>>|>)\s*$", re.IGNORECASE)
_PAGE_URL = re.compile(
    r"([?&](page|trang|p)=\d+|/(trang|page|p)[-/]\d+/?$|/trang-\d+\.html?$)", re.IGNORECASE
)


def pagination_links(response: Response, links: list[Link]) -> list[str]:
    """Links to the next listing pages: `rel=next`, "Xem thêm"/"Trang sau"/"»" links,
    and URLs numbered like `?page=N` or `/trang-N`."""
    found = (
        [
            response.urljoin(h)
            for h in response.xpath("//a[@rel='next']/@href | //link[@rel='next']/@href").getall()
        ]
        if isinstance(response, TextResponse)
        else []
    )
    found += [link.url for link in links if _NEXT_TEXT.match(link.text or "") or _PAGE_URL.search(link.url)]
    return list(dict.fromkeys(found))


# An article split over pages: its other pages are the same address with a page number,
# `?page=2`, `?trang=2`, `/trang-2`, `/page/2`, `-p2.html`, `/2`.
_PAGE_PARAM = re.compile(r"^(page|trang|p|pg|paged|pageno|pagenum|part)$", re.IGNORECASE)
# Classic PHP CMS pagers count from 0 (`?start=1`, `?limitstart=2` is the third page). The same
# names carry a listing's item offset (`?start=20`): only an offset small enough to be a page of
# one article is read as one.
_PAGE_OFFSET_PARAM = re.compile(r"^(start|limitstart)$", re.IGNORECASE)
_PAGE_PATH = re.compile(
    r"(?:(?:/(?:trang|page|p)[-/]?|[-_](?:trang|page|p)-?)(?P<n>\d{1,2})"
    r"(?P<ext>\.[a-z]{2,5})?|/(?P<bare>\d{1,2}))/?$",
    re.IGNORECASE,
)
# Every article page is searched for its pager on the crawl's reactor thread: the hrefs are
# read from the raw bytes (no HTML parse there) and only those that may carry a page number
# are parsed as URLs.
_HREF = re.compile(rb"""href\s*=\s*["']([^"'<>]{1,2000})["']""", re.IGNORECASE)
_MAY_BE_PAGE = re.compile(
    r"[?&](?:page|trang|p|pg|paged|pageno|pagenum|part|start|limitstart)=\d"
    r"|(?:trang|page|p)[-/]?\d{1,2}\b|/\d{1,2}/?(?:$|[?#])",
    re.IGNORECASE,
)
# The same question of a raw href, and yes to any href holding an entity or a non-ASCII byte
# (decoded and unescaped, it is asked again).
_MAY_BE_PAGE_BYTES = re.compile(rb"&|[\x80-\xff]|" + _MAY_BE_PAGE.pattern.encode(), re.IGNORECASE)


def page_of(url: str) -> tuple[str, int]:
    """(the address without its page number, the page number: 1 when it has none)."""
    parts = urlsplit(canonical_url(url))
    number, kept = 1, []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if _PAGE_PARAM.match(key) and value.isdigit():
            number = int(value)
        elif _PAGE_OFFSET_PARAM.match(key) and value.isdigit() and int(value) < MAX_ARTICLE_PAGES:
            number = int(value) + 1
        else:
            kept.append((key, value))
    path = parts.path
    if number == 1 and (found := _PAGE_PATH.search(path)) and found.start() > 0:
        number = int(found.group("n") or found.group("bare"))
        path = path[: found.start()] + (found.group("ext") or "")
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(kept), "")), number


def continuation_links(response: Response) -> list[str]:
    """The other pages of the article on `response` (a pager inside it: numbered links,
    "Trang 2", `rel=next`), by page number, at most MAX_ARTICLE_PAGES; the first page's
    own address and the page itself excluded."""
    if not isinstance(response, TextResponse):
        return []
    encoding = response.encoding  # worked out anew (headers, meta, BOM) on every access
    # Only the hrefs that may be pages are decoded and unescaped: the others are told apart
    # as bytes, in C (a page has about 150 links; one or two may be its pager's).
    raw = filter(_MAY_BE_PAGE_BYTES.search, _HREF.findall(response.body)[:5000])
    decoded = (html.unescape(href.decode(encoding, "replace")) for href in raw)
    candidates = [href for href in decoded if _MAY_BE_PAGE.search(href)]
    if not candidates:
        return []
    base, own = page_of(response.url)
    found: dict[int, str] = {}
    for href in candidates:
        url = response.urljoin(href.strip())
        if not url.startswith(("http://", "https://")):
            continue
        other, number = page_of(url)
        if other == base and number > 1 and number != own and number not in found:
            found[number] = url
    return [found[n] for n in sorted(found)][:MAX_ARTICLE_PAGES]
