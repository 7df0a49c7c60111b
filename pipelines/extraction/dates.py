"""Publication dates from a parsed page: every date the page gives, ranked.

Sources, most trustworthy first: the site rule's element; JSON-LD `datePublished`;
`article:published_time` and similar meta; microdata and RDFa (`itemprop`/`property`
datePublished); `<time datetime>` and other machine-readable attributes (`data-time`,
`data-timestamp`...) in the article zone; the date the feed/sitemap gave (passed in);
visible stamps inside the article zone only (never the site clock in the header or a
sidebar's list: day-first numbers, 12-hour clocks, Vietnamese weekdays and month words);
a relative date ("9 giờ trước") resolved against the fetch time; htmldate last. The first
source found gives the day; when it gives no time of day (a date alone, or midnight), the
first other source on the same day that does gives the time: the most precise consistent
candidate wins. Dates are day-first and, unless the page gives an offset, in
Asia/Ho_Chi_Minh. Later sources are only read when an earlier one left something open.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone, tzinfo
from urllib.parse import urlsplit

from lxml import html as lxml_html

from config.vntime import VN_TZ
from pipelines.extraction.pagemeta import PageMeta, squash
from pipelines.extraction.xpath import Elements, Owners, elements
from search.article import parse_moment, to_iso

_META_PUBLISHED = (
    "article:published_time",
    "og:published_time",
    "og:article:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "date",
    "dc.date.issued",
    "dc.date",
    "dcterms.created",
    "sailthru.date",
    "parsely-pub-date",
)
_META_MODIFIED = (
    "article:modified_time",
    "og:updated_time",
    "datemodified",
    "dcterms.modified",
    "dc.date.modified",
    "last-modified",
)

_T = (
    r"(?P<h>\d{1,2})\s*(?:[:hg]|giờ)\s*(?P<mi>\d{2})(?:\s*phút)?(?::(?P<s>\d{2}))?"
    r"(?:\s*(?P<ap>AM|PM|SA|CH|sáng|chiều|tối)\b)?"
    # "08:20 GMT", "(GMT+7)", "UTC+07:00": a clock given in another zone than Vietnam's
    r"(?:\s*\(?(?P<tz>GMT|UTC)\s*(?P<off>[+-]\d{1,2})?(?::?00)?\)?)?"
)
_D = r"(?P<d>\d{1,2})\s*[/.-]\s*(?P<mo>\d{1,2})\s*[/.-]\s*(?P<y>(?:19|20)\d{2})"
# A weekday may stand between a clock and its date ("15:20 | Thứ Năm, 03/12/2026").
_WEEKDAY = r"(?:thứ\s*(?:hai|ba|tư|năm|sáu|bảy|[2-7])|chủ\s*nhật|CN|T[2-7])\b"
_SEP = r"[\s,|\-–—(]*(?:" + _WEEKDAY + r"[\s,|\-–—]*)?(?:ngày\s*|lúc\s*)?"
_MONTH_WORDS = {
    "một": 1,
    "giêng": 1,
    "hai": 2,
    "ba": 3,
    "tư": 4,
    "bốn": 4,
    "năm": 5,
    "sáu": 6,
    "bảy": 7,
    "tám": 8,
    "chín": 9,
    "mười": 10,
    "mười một": 11,
    "mười hai": 12,
    "chạp": 12,
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MON = (
    r"(?:(?:tháng\s+|thg\.?\s*|th\.?\s*(?=\d))(?P<mon>mười\s+một|mười\s+hai|mười|một|giêng|hai|ba|tư|bốn|năm|sáu|bảy|tám|chín|chạp"
    r"|\d{1,2})|(?P<emon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?)"
)
_Y = r"(?P<y>(?:19|20)\d{2})"
_THEN_T = r"(?:[\s,|\-–—]*(?:lúc|at)?\s*" + _T + ")?"
_STAMPS = [
    re.compile(_T + r"\s*(?:[A-Z]{2,4}\+?\d*)?" + _SEP + _D, re.IGNORECASE),  # 22:40 21/10/2021
    re.compile(_D + _SEP + _T, re.IGNORECASE),  # 08/12/2021 - 00:48
    re.compile(
        r"ngày\s+(?P<d>\d{1,2})\s+tháng\s+(?P<mo>\d{1,2})\s+năm\s+(?P<y>\d{4})"
        r"(?:[\s,|\-–—]*(?:lúc\s*)?" + _T + ")?",
        re.IGNORECASE,
    ),
    # 3 tháng Năm, 2024 · 03 Tháng 5 2024 · 3 May 2024 (a time may follow)
    re.compile(r"\b(?P<d>\d{1,2})\s+" + _MON + r"\s*,?\s*(?:năm\s+)?" + _Y + _THEN_T, re.IGNORECASE),
    # Tháng Năm 3, 2024 · May 3, 2024
    re.compile(_MON + r"\s+(?P<d>\d{1,2}),?\s+" + _Y + _THEN_T, re.IGNORECASE),
    # 2026-11-17 14:30, 2026/11/17 (year first, shown as is)
    re.compile(
        r"\b(?P<y>(?:19|20)\d{2})(?P<ys>[-/.])(?P<mo>\d{1,2})(?P=ys)(?P<d>\d{1,2})(?:[T\s]+" + _T + ")?"
    ),
    re.compile(_D),  # Date : 07-12-2018
    # 03/12/26 15:20 (a portal's short form: slashes and a two-digit year, as a whole stamp)
    re.compile(r"^(?P<d>\d{1,2})/(?P<mo>\d{1,2})/(?P<yy>\d{2})(?:[\s,|\-–—]+" + _T + r")?$"),
]
# "9 giờ trước", "3 ngày trước", "hôm qua": resolved against the fetch time, last.
_RELATIVE = re.compile(
    r"\b(?:(?P<n>\d{1,3})\s*(?P<unit>giây|phút|giờ|tiếng|ngày|tuần)\s+trước"
    r"|(?P<word>hôm qua|vừa xong|mới đây))\b",
    re.IGNORECASE,
)
_RELATIVE_UNITS = {
    "giây": timedelta(seconds=1),
    "phút": timedelta(minutes=1),
    "giờ": timedelta(hours=1),
    "tiếng": timedelta(hours=1),
    "ngày": timedelta(days=1),
    "tuần": timedelta(weeks=1),
}
_LABEL = re.compile(
    r"(date|ngày\s*(đăng|xuất bản|cập nhật)|cập nhật|đăng\s*(lúc|ngày)?|xuất bản)\s*:", re.IGNORECASE
)
_STAMP_MAX_CHARS = 90
_ZONE_MIN_CHARS = 400
_COVER_GAP_CHARS = 200  # what may stand between a long read's cover and its text


# Attribute tests only (no string functions): this runs over the whole tree.
# Asked on the attribute axis (a third cheaper than testing every element's attributes);
# `<meta>` is read with the page's declared metadata.
_MICRODATA = Owners("//@itemprop | //@property")
_MICRODATA_NAMES = re.compile(r"^(?:\w+:)?(?:datePublished|dateCreated|date|created)$", re.IGNORECASE)
_OUTSIDE = "ancestor::aside|ancestor::footer|ancestor::header[not(ancestor::article)]"
# `<abbr class="published" title="2026-11-18T21:30:00+07:00">9:30 CH</abbr>`: the
# microformats' way (blog platforms) of giving the machine-readable date beside a shown one.
_TIME_NODES = Elements("//time[@datetime] | //abbr[@title]")
_DATE_ATTRIBUTE = re.compile(r"^data-(?:[\w-]*)(?:date|time|publish)", re.IGNORECASE)
_UPDATED = re.compile(r"updated|modified|cap-?nhat", re.IGNORECASE)
# `<span title="2026-12-03T15:20:00+07:00">2 ngày trước</span>`: a full moment in a tooltip
_ISO_MOMENT = re.compile(r"^\s*(?:19|20)\d{2}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def structured_modified(tree: lxml_html.HtmlElement, page: PageMeta) -> str | None:
    """The last modification a page declares (JSON-LD, meta, `<time class=updated>`)."""
    for obj in page.jsonld:
        if found := to_iso(str(obj.get("dateModified") or "")):
            return found
    if found := to_iso(page.first(_META_MODIFIED)):
        return found
    for node in _TIME_NODES(tree):
        if _UPDATED.search(node.get("class", "")) and not elements(node, _OUTSIDE):
            return to_iso(_machine_value(node))
    return None


def _machine_value(node: lxml_html.HtmlElement) -> str | None:
    """The machine-readable value an element carries beside its shown text."""
    return node.get("content") or node.get("datetime") or (node.get("title") if node.tag == "abbr" else None)


def published_date(
    tree: lxml_html.HtmlElement,
    page: PageMeta,
    zone: lxml_html.HtmlElement | None,
    *,
    rule_node: lxml_html.HtmlElement | None = None,
    hint: str | None = None,
    fetched: datetime | None = None,
    last_resort: Callable[[], str | None] | None = None,
    url: str | None = None,
) -> str | None:
    """The publication date and time, from every source the page gives (module docstring)."""
    sources: list[Callable[[], Iterator[datetime | None]]] = [
        lambda: iter([parse_moment(element_date(rule_node))]),
        lambda: (parse_moment(str(obj.get("datePublished") or "")) for obj in page.jsonld),
        lambda: iter([parse_moment(page.first(_META_PUBLISHED))]),
        lambda: (
            parse_moment(_machine_value(n) or n.text_content())
            for n in _MICRODATA(tree)
            if n.tag != "meta" and _MICRODATA_NAMES.match(n.get("itemprop") or n.get("property") or "")
        ),
        lambda: _attribute_dates(tree, zone),
        lambda: iter([parse_moment(hint)]),
        lambda: _zone_stamps(zone) if zone is not None else iter(()),
        lambda: _relative_dates(zone, fetched) if zone is not None else iter(()),
        lambda: iter([url_moment(url)]),
    ]
    primary, timed = _ranked(sources)
    if timed is not None:
        return _afternoon(timed, zone).isoformat()
    if primary is not None:
        return primary.isoformat()
    return last_resort() if last_resort is not None else None


# A date in the address: /2026/12/03/, 2026-12-03, or a run of 8 to 14 digits that reads as
# year, month, day and perhaps hour, minute, second (a news CMS's "-20261203152010.htm"); a
# longer run (milliseconds after the seconds) is read on its first 14 digits.
_URL_DATES = (
    re.compile(r"/(?P<y>20\d{2})/(?P<mo>\d{1,2})/(?P<d>\d{1,2})(?:/|$)"),
    re.compile(r"(?<!\d)(?P<y>20\d{2})-(?P<mo>\d{2})-(?P<d>\d{2})(?!\d)"),
    re.compile(
        r"(?<!\d)(?P<y>20\d{2})(?P<mo>\d{2})(?P<d>\d{2})(?:(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})?)?(?:\d{1,3})?(?!\d)"
    ),
)


def url_moment(url: str | None) -> datetime | None:
    """The date (and time, when the address gives one) a page's address carries, read last."""
    if not url:
        return None
    path = urlsplit(url).path
    for pattern in _URL_DATES:
        for found in pattern.finditer(path):
            parts = found.groupdict()
            try:
                return datetime(
                    int(parts["y"]),
                    int(parts["mo"]),
                    int(parts["d"]),
                    int(parts.get("h") or 0),
                    int(parts.get("mi") or 0),
                    int(parts.get("s") or 0),
                    tzinfo=VN_TZ,
                )
            except ValueError:  # 8 digits that are an id, not a date
                continue
    return None


def _ranked(
    sources: list[Callable[[], Iterator[datetime | None]]],
) -> tuple[datetime | None, datetime | None]:
    """The first moment the sources give, and the moment with a time of day: that one, or its
    day with the time of the first later source that gives one on the same day (None when
    none does). Later sources are only read while something is left open."""
    primary: datetime | None = None
    for source in sources:
        for moment in source():
            if moment is None:
                continue
            if primary is None:
                primary = moment
                if _timed(moment):
                    return primary, primary
            elif _timed(moment) and _local_day(moment) == _local_day(primary):
                local = moment.astimezone(VN_TZ)
                return primary, datetime.combine(_local_day(primary), local.timetz())
    return primary, None


def _afternoon(moment: datetime, zone: lxml_html.HtmlElement | None) -> datetime:
    """`moment`, or the stamp the article shows twelve hours later on the same day at the same
    minute: a template that prints a 12-hour clock without its half into a machine-readable
    field gives 02:30 for the 02:30 CH (14:30) it shows."""
    local = moment.astimezone(VN_TZ)
    if zone is None or not 1 <= local.hour < 12:
        return moment
    for shown in _zone_stamps(zone):
        if (
            shown is not None
            and shown.date() == local.date()
            and (shown.hour, shown.minute) == (local.hour + 12, local.minute)
        ):
            return shown
    return moment


def _timed(moment: datetime) -> bool:
    """True when a time of day was given (midnight is what date-only sources default to)."""
    return (moment.hour, moment.minute, moment.second) != (0, 0, 0)


def _local_day(moment: datetime) -> date:
    return moment.astimezone(VN_TZ).date()


def _attribute_dates(
    tree: lxml_html.HtmlElement, zone: lxml_html.HtmlElement | None
) -> Iterator[datetime | None]:
    """`<time datetime>` outside sidebars and footers, then `data-*date/time` attributes in
    the article zone (outside links: a related story's date is not this one's)."""
    for node in _TIME_NODES(tree):
        if not _UPDATED.search(node.get("class", "")) and not elements(node, _OUTSIDE):
            yield parse_moment(_machine_value(node))
    if zone is None:
        return
    for node in zone.iter():
        if not isinstance(node.tag, str) or node.tag == "a" or not node.attrib:
            continue
        for name, value in node.attrib.items():
            if (
                _DATE_ATTRIBUTE.match(name) or (name == "title" and _ISO_MOMENT.match(value))
            ) and not _UPDATED.search(name):
                yield parse_moment(value)


def _zone_stamps(zone: lxml_html.HtmlElement) -> Iterator[datetime | None]:
    """Every visible date stamp in the article zone, in document order."""
    for text in _zone_texts(zone):
        yield _stamp(text)


def _relative_dates(zone: lxml_html.HtmlElement, fetched: datetime | None) -> Iterator[datetime | None]:
    """`9 giờ trước`, `hôm qua`... in the article zone, against the fetch time (a day alone
    for days and weeks: the hour is not given)."""
    now = (fetched or datetime.now(VN_TZ)).astimezone(VN_TZ)
    for text in _zone_texts(zone):
        match = _RELATIVE.search(text)
        if not match:
            continue
        if match.group("word"):
            yield (
                (now - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
                if match.group("word").lower() == "hôm qua"
                else now.replace(second=0, microsecond=0)
            )
            continue
        unit = match.group("unit").lower()
        moment = now - int(match.group("n")) * _RELATIVE_UNITS[unit]
        if unit in ("ngày", "tuần"):
            moment = moment.replace(hour=0, minute=0)
        yield moment.replace(second=0, microsecond=0)


def _zone_texts(zone: lxml_html.HtmlElement) -> Iterator[str]:
    """Short texts of the zone (or labelled ones) where a date stamp may stand."""
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
                yield text


def _month(parts: dict[str, str | None]) -> int:
    word = (parts.get("mo") or parts.get("mon") or parts.get("emon") or "").lower()
    return (
        int(word)
        if word.isdigit()
        else _MONTH_WORDS[" ".join(word.split())[:3] if parts.get("emon") else " ".join(word.split())]
    )


def _hour(parts: dict[str, str | None]) -> int:
    hour, half = int(parts.get("h") or 0), (parts.get("ap") or "").lower()
    if half in ("pm", "ch", "chiều", "tối") and hour < 12:
        return hour + 12
    if half in ("am", "sa", "sáng") and hour == 12:
        return 0
    return hour


def _stamp(text: str) -> datetime | None:
    for pattern in _STAMPS:
        match = pattern.search(text)
        if not match:
            continue
        parts = match.groupdict()
        year = int(parts.get("y") or 0) or 2000 + int(parts.get("yy") or 0)
        try:
            return datetime(
                year,
                _month(parts),
                int(parts["d"] or 0),
                _hour(parts),
                int(parts.get("mi") or 0),
                int(parts.get("s") or 0),
                tzinfo=_zone_of(parts),
            )
        except (ValueError, KeyError):
            continue
    return None


def _zone_of(parts: dict[str, str | None]) -> tzinfo:
    """The zone a shown clock names ("GMT" alone is UTC), else Vietnam's."""
    if not parts.get("tz"):
        return VN_TZ
    hours = int(parts.get("off") or 0)
    return VN_TZ if hours == 7 else timezone(timedelta(hours=hours))


def article_zone(
    tree: lxml_html.HtmlElement, title: str | None, head: lxml_html.HtmlElement | None = None
) -> lxml_html.HtmlElement | None:
    """The smallest element around the headline (`head` when a site rule found it) that
    also holds the body text."""
    heads = [head] if head is not None else elements(tree, "//h1") or elements(tree, "//h2")
    if title and head is None:
        heads = [h for h in heads if _names(h, title)] or heads
    if not heads:
        return None
    node = heads[0]
    declared = None  # a short story (photos, a notice): the <article> or <main> that holds it
    top = node
    while node is not None and node.tag != "body":
        if len(node.text_content()) >= _ZONE_MIN_CHARS:
            return node
        if declared is None and node.tag in ("article", "main"):
            declared = node
        top, node = node, node.getparent()
    if declared is None and node is not None and (head is not None or _names(heads[0], title)):
        return _after_cover(top)
    return declared


def _names(head: lxml_html.HtmlElement, title: str | None) -> bool:
    """True when the heading shows the title (its first 40 characters)."""
    key = squash(title or "")[:40]
    return bool(key) and key in squash(head.text_content())


def _after_cover(cover: lxml_html.HtmlElement) -> lxml_html.HtmlElement | None:
    """A long read's headline stands alone on its cover picture, a block of the page's own;
    the story is the block right after it (a short credit or share bar may come between)."""
    for sibling in cover.itersiblings():
        if not isinstance(sibling.tag, str) or sibling.tag in ("script", "style", "template"):
            continue
        if len(sibling.text_content()) >= _ZONE_MIN_CHARS:
            return sibling
        if len(sibling.text_content().strip()) > _COVER_GAP_CHARS:
            return None
    return None


def has_stamp(text: str) -> bool:
    """True when `text` holds a date stamp with its day, month and year."""
    return _stamp(text) is not None


def zone_date(zone: lxml_html.HtmlElement) -> str | None:
    """The first date stamp in the article zone: a short text (`22:40 21/10/2021`,
    `Thứ tư, 08/12/2021 - 00:48`) or a labelled one (`Date : 07-12-2018`), never prose."""
    found = next((moment for moment in _zone_stamps(zone) if moment is not None), None)
    return found.isoformat() if found is not None else None


def element_date(node: lxml_html.HtmlElement | None) -> str | None:
    """The date a site rule points at: its datetime/content attribute, else its text."""
    if node is None:
        return None
    return to_iso(node.get("datetime") or node.get("content")) or zone_date(node)
