"""Publication dates from a parsed page, most trustworthy source first.

Order: JSON-LD `datePublished`; `article:published_time` and similar meta;
`<time datetime>`; the date the feed/sitemap gave (passed in); Vietnamese date
stamps inside the article zone only (never the site clock in the header or a
sidebar's list); the caller falls back to htmldate last. Dates are day-first and,
unless the page gives an offset, in Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

import re
from datetime import datetime

from lxml import html as lxml_html

from config.settings import VN_TZ
from pipelines.extraction.pagemeta import PageMeta
from search.article import to_iso

_META_PUBLISHED = (
    "article:published_time", "og:published_time", "og:article:published_time",
    "datepublished", "pubdate", "publishdate", "publish-date", "date", "dc.date.issued",
    "dc.date", "dcterms.created", "sailthru.date", "parsely-pub-date",
)
_META_MODIFIED = ("article:modified_time", "og:updated_time", "datemodified", "dcterms.modified",
                  "last-modified")

_T = r"(?P<h>\d{1,2})\s*[:hg]\s*(?P<mi>\d{2})(?::\d{2})?"
_D = r"(?P<d>\d{1,2})\s*[/.-]\s*(?P<mo>\d{1,2})\s*[/.-]\s*(?P<y>(?:19|20)\d{2})"
_SEP = r"[\s,|\-–—(]*(?:ngày\s*|lúc\s*)?"
_STAMPS = [
    re.compile(_T + r"\s*(?:[A-Z]{2,4}\+?\d*)?" + _SEP + _D),       # 22:40 21/10/2021
    re.compile(_D + _SEP + _T),                                     # 08/12/2021 - 00:48
    re.compile(r"ngày\s+(?P<d>\d{1,2})\s+tháng\s+(?P<mo>\d{1,2})\s+năm\s+(?P<y>\d{4})"
               r"(?:[\s,|\-–—]*(?:lúc\s*)?" + _T + ")?", re.IGNORECASE),
    re.compile(_D),                                                 # Date : 07-12-2018
]
_LABEL = re.compile(r"(date|ngày\s*(đăng|xuất bản|cập nhật)|cập nhật|đăng\s*(lúc|ngày)?|xuất bản)\s*:",
                    re.IGNORECASE)
_STAMP_MAX_CHARS = 90
_ZONE_MIN_CHARS = 400


def structured_dates(tree: lxml_html.HtmlElement, page: PageMeta) -> tuple[str | None, str | None]:
    """(published, modified) from JSON-LD, meta tags and `<time datetime>`."""
    published = modified = None
    for obj in page.jsonld:
        published = published or to_iso(str(obj.get("datePublished") or ""))
        modified = modified or to_iso(str(obj.get("dateModified") or ""))
    published = published or to_iso(page.first(_META_PUBLISHED))
    modified = modified or to_iso(page.first(_META_MODIFIED))
    for node in tree.xpath("//time[@datetime]"):
        if node.xpath("ancestor::aside|ancestor::footer|ancestor::header[not(ancestor::article)]"):
            continue
        if "updated" in node.get("class", "") or "modified" in node.get("class", ""):
            modified = modified or to_iso(node.get("datetime"))
        else:
            published = published or to_iso(node.get("datetime"))
    return published, modified


def _stamp(text: str) -> datetime | None:
    for pattern in _STAMPS:
        match = pattern.search(text)
        if not match:
            continue
        parts = match.groupdict()
        try:
            return datetime(int(parts["y"]), int(parts["mo"]), int(parts["d"]),
                            int(parts.get("h") or 0), int(parts.get("mi") or 0), tzinfo=VN_TZ)
        except ValueError:
            continue
    return None


def article_zone(tree: lxml_html.HtmlElement, title: str | None,
                 head: lxml_html.HtmlElement | None = None) -> lxml_html.HtmlElement | None:
    """The smallest element around the headline (`head` when a site rule found it) that
    also holds the body text."""
    heads = [head] if head is not None else tree.xpath("//h1") or tree.xpath("//h2")
    if title and head is None:
        key = " ".join(title.split())[:40]
        heads = [h for h in heads if key and key in " ".join(h.text_content().split())] or heads
    if not heads:
        return None
    node = heads[0]
    while node is not None and node.tag != "body":
        if len(node.text_content()) >= _ZONE_MIN_CHARS:
            return node
        node = node.getparent()
    return None


def zone_date(zone: lxml_html.HtmlElement) -> str | None:
    """The first date stamp in the article zone: a short text (`22:40 21/10/2021`,
    `Thứ tư, 08/12/2021 - 00:48`) or a labelled one (`Date : 07-12-2018`), never prose."""
    for node in zone.iter():
        # A link's text and what follows it (a related list's "title 09:15 19/11/2026")
        # are not the article's stamp; the zone's own tail lies outside the zone.
        if not isinstance(node.tag, str) or node.tag in ("script", "style", "a"):
            continue
        for raw in (node.text, node.tail if node is not zone else None):
            if not raw or not raw.strip():
                continue
            text = " ".join(raw.split())
            if len(text) <= _STAMP_MAX_CHARS or _LABEL.search(text):
                found = _stamp(text)
                if found:
                    return found.isoformat()
    return None


def element_date(node: lxml_html.HtmlElement | None) -> str | None:
    """The date a site rule points at: its datetime/content attribute, else its text."""
    if node is None:
        return None
    return to_iso(node.get("datetime") or node.get("content")) or zone_date(node)
