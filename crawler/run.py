"""Run one crawl of some sites in this process and return each site's stats.

A Twisted reactor cannot be restarted, so a process runs at most one crawl; the
scheduler starts each crawl as its own subprocess.
"""

from __future__ import annotations

import gc
import logging
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings as ScrapySettings

from config import scrapy_settings
from config.settings import Settings, get_settings
from crawler.registry import Site, site_titles
from crawler.spiders.news import NewsSpider, crawl_defaults
from crawler.state import RunSummary, record_runs, recorded_runs, site_lock
from pipelines.journal import recover as recover_journal
from search.alerts.job import after_crawl
from search.locks import NamedLock
from search.stores import check_all, check_space, is_disk_full

log = logging.getLogger(__name__)

SUMMARY_KEYS = {
    "requests": "downloader/request_count",
    "pages": "downloader/response_count",
    "not_modified": "httpcache/revalidate",
    "seen_skipped": "newsmon/seen_skipped",
    "robots_blocked": "robotstxt/forbidden",
    "new": "newsmon/new",
    "updated": "newsmon/updated",
    "unchanged": "newsmon/unchanged",
    "duplicates": "newsmon/duplicates",
    "non_articles": "newsmon/non_articles",
    "spooled": "newsmon/spooled",
    "revisits": "newsmon/revisits",
    "revisits_unchanged": "newsmon/revisits_unchanged",
    "dead_links": "newsmon/dead_links",
    "moved": "newsmon/moved",
    "challenges": "newsmon/challenges",
    "split_articles": "newsmon/split_articles",
    "before_date": "newsmon/backfill/before_date",
}


def scrapy_settings_for(overrides: dict[str, Any] | None = None) -> ScrapySettings:
    """The project's Scrapy settings, this process's NEWSMON_* rules, `overrides` on top."""
    settings = ScrapySettings()
    settings.setmodule(scrapy_settings, priority="project")
    settings.set("NEWSMON_ALLOW_PRIVATE_HOSTS", get_settings().allow_private_hosts, priority="project")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def summarize(stats: dict[str, Any]) -> RunSummary:
    """The per-site summary a user sees (pages, new/updated/unchanged, duplicates, errors)."""
    out = cast(RunSummary, {name: int(stats.get(key, 0)) for name, key in SUMMARY_KEYS.items()})
    errors = {
        k.removeprefix("newsmon/errors/"): v for k, v in stats.items() if k.startswith("newsmon/errors/")
    }
    # IgnoreRequest is a decision (robots.txt, private address), not a download failure.
    http_errors = sum(
        v
        for k, v in stats.items()
        if k.startswith("downloader/exception_type_count/") and not k.endswith(".IgnoreRequest")
    )
    if http_errors:
        errors["download"] = http_errors
    # Sources and pages that answered an error status after the retries (a 404 or 410
    # article is a dead link, counted apart).
    for key, count in stats.items():
        if key.startswith("httperror/response_ignored_status_count/"):
            errors["http_" + key.rsplit("/", 1)[-1]] = count
    out["errors"] = errors
    out["finish_reason"] = stats.get("finish_reason")
    out["duration_s"] = round(float(stats.get("elapsed_time_seconds", 0.0)), 1)
    depth_limit = stats.get("newsmon/depth_limit")
    if depth_limit and stats.get("request_depth_max", 0) >= depth_limit:
        out["cut_off"] = f"dừng ở độ sâu giới hạn {depth_limit}"
    if stats.get("finish_reason") == "closespider_pagecount":
        out["cut_off"] = "dừng vì đủ hạn mức trang cho một lần"
    if stats.get("newsmon/moved_to"):
        out["moved_to"] = stats["newsmon/moved_to"]
        out["warning"] = (
            f"trang đã chuyển sang {stats['newsmon/moved_to']}: hãy sửa url (hoặc aliases) "
            "trong danh sách trang"
        )
    pages = int(stats.get("newsmon/health/pages", 0))
    if pages:
        # Extraction health: the share of article pages read with a title, a date and a body
        # over the floor. A redesign that defeats the extractor shows here first.
        out["health"] = round(int(stats.get("newsmon/health/complete", 0)) / pages, 2)
        out["article_pages"] = pages
    return out


HEALTH_DROP = 0.2  # a fall of this much below the site's usual health is flagged
_HEALTH_MIN_PAGES = 5  # fewer article pages say too little to compare
_HEALTH_HISTORY = 5  # earlier runs the usual health is taken from


def flag_health_drop(summary: RunSummary, earlier: list[float]) -> None:
    """Note in `summary` when its extraction health fell well below the site's usual (the
    median of its earlier runs)."""
    health = summary.get("health")
    if health is None or summary.get("article_pages", 0) < _HEALTH_MIN_PAGES or not earlier:
        return
    usual = sorted(earlier)[len(earlier) // 2]
    if usual - health >= HEALTH_DROP:
        summary["health_usual"] = usual
        summary["warning"] = f"trích xuất tốt {health:.0%}, thường {usual:.0%}: trang có đổi giao diện không?"


def earlier_health(runs: list[RunSummary]) -> dict[str, list[float]]:
    """Each site's health in its last runs with enough article pages, from the run log."""
    found: dict[str, list[float]] = {}
    for run in runs:
        if run.get("health") is not None and run.get("article_pages", 0) >= _HEALTH_MIN_PAGES:
            found.setdefault(run["site"], []).append(float(run["health"]))
    return {site: values[-_HEALTH_HISTORY:] for site, values in found.items()}


class _OneLineDownloadErrors(logging.Filter):
    """A page or robots.txt that cannot be downloaded (refused, reset, timed out, cut short)
    is one line in the crawl's output: the message says what happened; the traceback of
    Scrapy's and Twisted's network layers says nothing more to a reader. A full disk too."""

    disk_full_said = False

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and _network_error(error):
            record.exc_info, record.exc_text = None, None
        elif error is not None and is_disk_full(error):
            # A full disk fails every write after it: said once, with the file, no traceback.
            if _OneLineDownloadErrors.disk_full_said:
                return False
            _OneLineDownloadErrors.disk_full_said = True
            where = getattr(error, "filename", None) or "the data directory"
            record.msg, record.args = "disk full: %s (%s)", (where, error)
            record.exc_info, record.exc_text = None, None
        return True


def _network_error(error: BaseException) -> bool:
    from scrapy.exceptions import DownloadConnectionRefusedError, DownloadFailedError, DownloadTimeoutError
    from twisted.internet.error import ConnectError, ConnectionLost, TimeoutError
    from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

    network = (
        ConnectError,
        ConnectionLost,
        TimeoutError,
        ResponseFailed,
        ResponseNeverReceived,
        DownloadConnectionRefusedError,
        DownloadFailedError,
        DownloadTimeoutError,
    )
    return isinstance(error, network) or isinstance(error.__cause__, network)


# The loggers that report a download failure with its traceback.
_DOWNLOAD_LOGGERS = (
    "scrapy.downloadermiddlewares.robotstxt",
    "scrapy.core.scraper",
    "scrapy.core.engine",
    "scrapy.downloadermiddlewares.retry",
)


def one_line_download_errors() -> None:
    """Install the one-line filter on the loggers that report download failures (once)."""
    for name in _DOWNLOAD_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _OneLineDownloadErrors) for f in logger.filters):
            logger.addFilter(_OneLineDownloadErrors())


def fewer_collections() -> None:
    """Tune the cyclic garbage collector for a crawl process (bench/archive.py does too).

    Scrapy allocates several container objects per request and response, so with the
    default thresholds a 2,000-page crawl ran about 700 young and a few full collections,
    each full one walking every imported module again: 1.1 s of the process's 5.3 s of
    CPU (bench/crawl.py). Freezing what start-up built takes it out of every later
    collection, and a larger young generation makes collections rarer; cycles are still
    collected."""
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def crawl_overrides(config: Settings) -> dict[str, Any]:
    """What a crawl's Scrapy components take from newsmon's settings (in `from_crawler`)."""
    return {**crawl_defaults(config), "NEWSMON_SETTINGS": config, "NEWSMON_ORIGINS": origin_names(config)}


def origin_names(config: Settings) -> dict[str, str]:
    """Every registry site by the words a republished copy may name it with: its title, its
    name and its hosts, folded (no diacritics, lower case)."""
    from crawler.registry import RegistryError, load_registry
    from search.textnorm import fold

    try:
        sites = load_registry(config.registry)
    except RegistryError:
        return {}  # the crawl itself reports a bad registry
    names: dict[str, str] = {}
    for site in sites:
        for words in (site.title, site.name, *site.hosts):
            if words:
                names.setdefault(fold(words).strip(), site.name)
    return names


@dataclass
class CrawlResult:
    """Each site's summary, and what the instant alerts run after the crawl reported."""

    summaries: dict[str, RunSummary]
    alert_messages: list[str] = field(default_factory=list)


def crawl_and_alert(
    sites: list[Site], config: Settings, overrides: dict[str, Any] | None = None
) -> CrawlResult:
    """One crawl, then the instant alerts for what it indexed (a failure of the alerts never
    fails the crawl: the next run covers the same articles)."""
    summaries = run_crawl(sites, config, overrides)
    from crawler.registry import registry_titles

    titles = {**site_titles(sites), **registry_titles(config.registry)}
    watch_sites(config, [site.name for site in sites], titles)
    return CrawlResult(summaries, after_crawl(config, titles))


def run_backfill(
    site: Site, since: date, config: Settings, overrides: dict[str, Any] | None = None
) -> CrawlResult:
    """Fetch a site's history back to `since`: its sitemaps (children dated or named before the
    date left out), feeds and listing pages walked until they reach past the date, with a
    crawl's politeness and per-site lock and no page cap. Resumes an unfinished backfill to
    the same date (what it indexed is not fetched again). What it finds published before it
    first started is history: searchable, clustered, never mailed; anything newer is news and
    goes to the instant alerts run afterwards, as after a crawl."""
    from crawler.backfill import BackfillStore
    from crawler.registry import registry_titles
    from search.es import make_client
    from search.schema import bulk_load

    if site_lock(config, site.name).held_elsewhere():  # its row belongs to the process that runs it
        return CrawlResult({site.name: {"skipped": "một lần thu thập trang này đang chạy"}})
    store = BackfillStore(config)
    try:
        state = store.begin(site.name, since)
    finally:
        store.close()
    limits: dict[str, Any] = {"CLOSESPIDER_PAGECOUNT": 0}
    if site.sitemaps or site.feeds or site.listings:
        limits["DEPTH_LIMIT"] = 0  # the date bounds it; a site walked from its home page keeps the depth
    backfill = {"since": state.since, "started_at": state.started_at}
    es = make_client(config)
    try:
        with bulk_load(es, config.index_prefix):
            summaries = run_crawl(
                [site], config, {**limits, **(overrides or {}), "NEWSMON_BACKFILL": backfill}
            )
    finally:
        es.close()
    summaries.get(site.name, {})["backfill"] = state.since
    titles = {**site_titles([site]), **registry_titles(config.registry)}
    return CrawlResult(summaries, after_crawl(config, titles))


def watch_sites(config: Settings, names: list[str], titles: dict[str, str]) -> None:
    """Mail the admins about the crawled sites' new episodes (failing, quiet, health); a
    failure to do so is logged and never fails the crawl (the next crawl tries again)."""
    from crawler.watch import current_alarms, mail_admins

    try:
        alarms = [alarm for found in current_alarms(config, names).values() for alarm in found]
        mail_admins(config, alarms, titles)
    except (OSError, sqlite3.Error) as exc:
        log.warning("sites needing attention not mailed (%s); the next crawl tries again", exc)


def run_crawl(
    sites: list[Site], config: Settings, overrides: dict[str, Any] | None = None
) -> dict[str, RunSummary]:
    """Crawl `sites` concurrently (one crawler each); block until done; summaries by site.

    A site another process is crawling right now is skipped. Each site's summary is also
    appended to `$NEWSMON_DATA_DIR/crawl/runs.jsonl`."""
    recover_journal(config.spool_dir)  # rebuilt from its second record when damaged
    check_all(config.resolved_data_dir)  # a damaged store stops the crawl, named, before any fetch
    check_space(config.resolved_data_dir)  # so does a full disk (it would leave empty stores)
    process = CrawlerProcess(scrapy_settings_for({**crawl_overrides(config), **(overrides or {})}))
    started = datetime.now(UTC).isoformat(timespec="seconds")
    crawlers: list[tuple[Site, Any]] = []
    locks: list[NamedLock] = []
    summaries: dict[str, RunSummary] = {}
    for site in sites:
        lock = site_lock(config, site.name)
        if not lock.acquire():
            summaries[site.name] = {"skipped": "một lần thu thập trang này đang chạy"}
            continue
        locks.append(lock)
        crawler = process.create_crawler(NewsSpider)
        crawlers.append((site, crawler))
        process.crawl(crawler, site=site)
    if crawlers:
        fewer_collections()
        one_line_download_errors()
        process.start()
    finished = datetime.now(UTC).isoformat(timespec="seconds")
    history = earlier_health(recorded_runs(config))
    for site, crawler in crawlers:
        try:
            stats = crawler.stats.get_stats()
        except RuntimeError:  # the crawler never started (its spider or a store failed to open)
            stats = {"finish_reason": "not started"}
        stats["newsmon/depth_limit"] = crawler.settings.getint("DEPTH_LIMIT")
        summaries[site.name] = summarize(stats)
        flag_health_drop(summaries[site.name], history.get(site.name, []))
    record_runs(
        config,
        [{"site": name, "started": started, "finished": finished, **s} for name, s in summaries.items()],
    )
    for lock in locks:
        lock.release()
    return summaries
