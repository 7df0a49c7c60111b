"""What the web app does, once for both its pages and its JSON API: each function here calls
the same search and alert-store functions the CLI calls; what concerns crawling (each site's
runs, "crawl now") comes from the crawler through the `Crawls` it is given."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from itertools import chain
from typing import Any, Protocol

from elasticsearch import ApiError, Elasticsearch

from config.settings import Settings
from config.sites import unknown_sites
from config.vntime import VN_TZ
from search.alerts.evaluate import refused_by_index
from search.alerts.rules import AlertError
from search.alerts.store import AlertStore, shown_rule
from search.es import unavailable
from search.query import QueryError
from search.search import export_matches, parse_day, search, story
from search.web.format import published as published_text
from search.web.security import Guard

PAGE_SIZE = 10
CHART_MAX_BARS = 92  # beyond about three months of days the chart counts by month
PREVIEW_DAYS = 7
REFUSED = "Elasticsearch từ chối truy vấn này: hãy viết đơn giản hơn"


@dataclass
class SiteStatus:
    """One site as the sites page, the API and `newsmon status` show it: state is 'ok',
    'warning' (errors, or extraction health fell), 'failed' or 'never' (not crawled yet)."""

    name: str
    url: str
    schedule: str
    enabled: bool
    next_run: str | None
    running: bool
    state: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    # What needs a person's attention (crawls failing in a row, no new article for long,
    # extraction health fallen), in Vietnamese; the admins were mailed once per episode.
    alarms: list[str] = field(default_factory=list)
    # Its backfill (`newsmon backfill`), if any: since, state (running, interrupted, finished),
    # queued, done, indexed, seconds_left.
    backfill: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


class NoSuchSite(LookupError):
    """The registry has no site of this name; the message is meant for the user."""


class Crawls(Protocol):
    """What the web app asks of the crawler (given by `crawler/web.py`)."""

    def overview(self) -> list[SiteStatus]:
        """Every registry site's status, in registry order."""
        ...

    def start(self, name: str, since: date | None = None) -> bool:
        """Start a crawl of the site now (with `since`, a backfill of its history to that
        day); False when one runs; NoSuchSite when unknown."""
        ...


@dataclass
class Web:
    """What every request of one app shares."""

    config: Settings
    site_names: list[str]
    es: Elasticsearch
    guard: Guard
    crawls: Crawls
    site_titles: dict[str, str] = field(default_factory=dict)  # name -> title, from the registry

    @contextmanager
    def store(self) -> Iterator[AlertStore]:
        """The alert store for one request (SQLite connections stay in their thread)."""
        store = AlertStore.of(self.config)
        try:
            yield store
        finally:
            store.close()


@dataclass
class SearchForm:
    """A search as the page's form and the API's parameters give it."""

    q: str = ""
    sites: list[str] = field(default_factory=list)
    since: str = ""
    until: str = ""
    sort: str = "relevance"
    page: int = 1

    def dates(self) -> tuple[date | None, date | None]:
        """The date filters; QueryError (Vietnamese) when one cannot be read."""
        first, last = parse_day(self.since), parse_day(self.until)
        if first and last and first > last:
            raise QueryError("ngày bắt đầu sau ngày kết thúc")
        return first, last


def run_search(web: Web, form: SearchForm, limit: int = PAGE_SIZE, *, facets: bool = True) -> dict[str, Any]:
    """The stories matching the form, with (`facets`) articles per site and stories per day; QueryError
    when the query or a filter cannot be read or Elasticsearch refuses it."""
    first, last = form.dates()
    if unknown := _unknown_site(web, form.sites):
        raise QueryError(unknown)
    query = form.q if form.q.strip() else None
    sort = form.sort if query is not None else "date"  # without words, relevance means nothing
    try:
        return search(
            web.es,
            web.config.index_prefix,
            query,
            sites=form.sites,
            since=first,
            until=last,
            sort=sort,
            limit=limit,
            page=form.page,
            facets=facets,
        )
    except ApiError as exc:
        if unavailable(exc):  # restarting, the index closed: a 503, not the query's fault
            raise
        raise QueryError(REFUSED) from None


def _unknown_site(web: Web, sites: list[str]) -> str | None:
    """The message for the first of `sites` the registry does not know, or None."""
    return unknown_sites([s for s in sites if s not in web.site_names], web.site_names)


def chart(days: dict[str, int], since: date | None, until: date | None) -> list[dict[str, Any]]:
    """Bars for stories per day over the chosen range (missing days are zeros), or per
    month when the range is long; each bar has its label, count and height in percent."""
    if not days and not (since and until):
        return []
    known = sorted(date.fromisoformat(d) for d in days)
    start = since or known[0]
    end = until or (known[-1] if known else start)
    if end < start:
        return []
    counts: dict[str, int] = {}
    monthly = (end - start).days + 1 > CHART_MAX_BARS
    current = start
    while current <= end:
        key = current.strftime("%m/%Y") if monthly else current.strftime("%d/%m/%Y")
        counts[key] = counts.get(key, 0) + days.get(current.isoformat(), 0)
        current += timedelta(days=1)
    top = max(counts.values(), default=0) or 1
    return [
        {"label": label, "count": count, "height": round(100 * count / top, 1)}
        for label, count in counts.items()
    ]


def top_sites(sites: dict[str, int], limit: int = 10) -> list[dict[str, Any]]:
    """The sites with the most matching articles, most first."""
    ranked = sorted(sites.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [{"site": name, "count": count} for name, count in ranked]


def get_story(web: Web, article_id: str) -> dict[str, Any] | None:
    """One article as indexed and its story's copies; None when unknown."""
    return story(web.es, web.config.index_prefix, article_id)


EXPORT_COLUMNS = ["id", "published", "site", "title", "url", "cluster", "duplicate_of", "author"]
# The CSV is for people with a spreadsheet: Vietnamese headers, dates as they read them
# (dd/mm/yyyy HH:MM, Vietnam time; the date alone when the site gave no time). JSON lines
# keep the field names and ISO dates, for programs (docs/configuration.md says both).
CSV_HEADERS = {
    "id": "mã bài",
    "published": "ngày đăng",
    "site": "trang",
    "title": "tiêu đề",
    "url": "địa chỉ",
    "cluster": "mã tin",
    "duplicate_of": "bản gốc (mã bài)",
    "author": "tác giả",
}
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: crawled text that starts like a formula is
    prefixed with an apostrophe (it would run as a formula in Excel or LibreOffice)."""
    text = "" if value is None else ", ".join(value) if isinstance(value, list) else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


_CHUNK = 1 << 16  # characters of CSV sent at a time


def export_rows(web: Web, form: SearchForm, fmt: str) -> Iterator[str]:
    """The search's every matching article (all copies, newest first) as CSV (metadata; with
    a byte-order mark so spreadsheets read Vietnamese right) or JSON lines (with the text)."""
    first, last = form.dates()
    query = form.q if form.q.strip() else None
    columns = None if fmt == "jsonl" else [c for c in EXPORT_COLUMNS if c != "id"]
    found = export_matches(
        web.es, web.config.index_prefix, query, sites=form.sites, since=first, until=last, fields=columns
    )
    # The archive is asked before anything is written (the caller sends the first chunk
    # only once it has it: an unavailable archive is an error status, not an empty file).
    head = next(found, None)
    rows = chain([head], found) if head is not None else iter(())
    if fmt == "jsonl":
        yield ""
        for row in rows:
            yield json.dumps(row, ensure_ascii=False) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([CSV_HEADERS[column] for column in EXPORT_COLUMNS])
    yield "\ufeff" + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for row in rows:
        row["published"] = published_text(row.get("published"))
        writer.writerow([_cell(row.get(column)) for column in EXPORT_COLUMNS])
        if buffer.tell() >= _CHUNK:  # a chunk per row cost more than writing the rows
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def alert_rows(web: Web, *, recipients: bool) -> list[dict[str, Any]]:
    """Every alert with when it last sent and how many stories; the recipients' addresses
    (and those refused) only when `recipients` (a signed-in reader), else only their count."""
    with web.store() as store:
        return [view.shown(recipients=recipients) for view in store.overview()]


def check_alert(web: Web, query: str, sites: list[str]) -> None:
    """What saving an alert checks beyond the store's own rules: known sites, and a query
    Elasticsearch accepts. AlertError or QueryError with a Vietnamese message."""
    if unknown := _unknown_site(web, sites):
        raise AlertError(unknown)
    refused = refused_by_index(web.es, web.config.index_prefix, query)
    if refused:
        raise AlertError(refused)


def save_alert(
    web: Web, *, name: str, query: str, emails: list[str], sites: list[str], mode: str, new: bool
) -> dict[str, Any]:
    """Add (new) or change an alert, with the CLI's validation; returns it as the API shows it."""
    with web.store() as store:
        if not new:
            store.get(name)  # NoSuchAlert before anything else
        check_alert(web, query, sites)
        if new:
            rule = store.add(name, query, emails, sites, mode=mode)
        else:
            rule = store.update(name, query, emails, sites, mode=mode)
    return shown_rule(rule)


def preview(web: Web, query: str, sites: list[str]) -> dict[str, Any]:
    """What an alert with this query and these sites would match: stories of the last
    7 days (the newest ten listed) and in the whole archive."""
    today = datetime.now(VN_TZ).date()
    week = SearchForm(
        q=query, sites=sites, since=(today - timedelta(days=PREVIEW_DAYS - 1)).isoformat(), sort="date"
    )
    if not query.strip():
        raise QueryError("truy vấn trống: hãy nhập từ cần tìm")
    recent = run_search(web, week, facets=False)
    everything = run_search(web, SearchForm(q=query, sites=sites), limit=1, facets=False)
    return {"week": recent["total"], "total": everything["total"], "hits": recent["hits"]}


def sites_overview(web: Web) -> list[dict[str, Any]]:
    """Each site's state, last runs and next crawl, and whether a crawl of it runs now."""
    return [status.as_dict() for status in web.crawls.overview()]


def start_crawl(web: Web, name: str) -> bool:
    """Start a crawl of the site now; False when one runs already; NoSuchSite when unknown."""
    return web.crawls.start(name)


def start_backfill(web: Web, name: str, since: str) -> bool:
    """Start a backfill of the site's history to the day `since` (as people write it);
    False when a crawl of it runs; QueryError for no day or a bad one; NoSuchSite."""
    day = parse_day(since)
    if day is None:
        raise QueryError("hãy chọn ngày bắt đầu nạp bài cũ")
    return web.crawls.start(name, day)
