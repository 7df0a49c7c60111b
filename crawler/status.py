"""How each site's crawling goes: its last runs (from runs.jsonl), whether a crawl of it runs
now, its next scheduled crawl; and starting a crawl now. Shared by `newsmon status` and the
web app's sites page, so both say the same."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import date, datetime

from config.settings import Settings, as_environment
from config.sites import unknown_sites
from config.vntime import VN_TZ
from crawler.registry import Site
from crawler.schedule import run_site_crawl, trigger_for
from crawler.state import RunSummary, recorded_runs, sites_running
from search.web.service import NoSuchSite, SiteStatus

log = logging.getLogger(__name__)

RUNS_SHOWN = 5
_FINISHED = {"finished", "closespider_pagecount", "closespider_timeout", "closespider_itemcount"}


def recent_runs(config: Settings, limit: int = RUNS_SHOWN) -> dict[str, list[RunSummary]]:
    """Each site's last `limit` runs, newest first (a line cut by a crash is skipped)."""
    found: dict[str, list[RunSummary]] = {}
    for run in reversed(recorded_runs(config)):
        runs = found.setdefault(run["site"], [])
        if len(runs) < limit:
            runs.append(run)
    return found


def crawl_running(config: Settings, name: str) -> bool:
    """Whether a crawl of `name` holds its lock right now."""
    return name in sites_running(config, [name])


def run_state(run: RunSummary | None) -> str:
    """'never' (no run yet), 'failed' (the crawl did not finish or fetched nothing it asked
    for), 'warning' (errors, or extraction health fell), or 'ok'."""
    if run is None:
        return "never"
    if run.get("skipped"):
        return "ok"
    if run.get("finish_reason") not in _FINISHED or (run.get("requests", 0) and not run.get("pages", 0)):
        return "failed"
    if run.get("warning") or any(run.get("errors", {}).values()):
        return "warning"
    return "ok"


def site_status(
    config: Settings, sites: list[Site], next_runs: dict[str, datetime | None] | None = None
) -> list[SiteStatus]:
    """Every registry site with its last runs and state; `next_runs` from the scheduler's
    job store when there is one (a stored job may be due earlier than the cron says),
    else each site's cron."""
    from crawler.backfill import INTERRUPTED, RUNNING, current
    from crawler.watch import HISTORY, site_alarms

    history = recent_runs(config, limit=HISTORY)
    backfills = current(config)
    now = datetime.now(VN_TZ)
    busy = sites_running(config, [site.name for site in sites])
    statuses = []
    for site in sites:
        if not site.enabled:
            upcoming = None
        elif next_runs is not None and site.name in next_runs:
            upcoming = next_runs[site.name]
        else:
            upcoming = trigger_for(site).get_next_fire_time(None, now)
        site_runs = history.get(site.name, [])
        alarms = [a.message for a in site_alarms(site.name, site_runs, now)] if site.enabled else []
        running = site.name in busy
        backfill = None
        if site.name in backfills:
            found = backfills[site.name]
            if found.state == RUNNING and not running:
                found.state = INTERRUPTED  # its process is gone (killed, or the machine restarted)
            backfill = {**found.as_dict(), "seconds_left": found.seconds_left}
        statuses.append(
            SiteStatus(
                name=site.name,
                url=site.url,
                schedule=site.schedule,
                enabled=site.enabled,
                next_run=upcoming.isoformat() if upcoming else None,
                running=running,
                state=run_state(site_runs[0] if site_runs else None),
                runs=[dict(run) for run in site_runs[:RUNS_SHOWN]],
                alarms=alarms,
                backfill=backfill,
            )
        )
    return statuses


class CrawlStarter:
    """Starts crawls on request ("Thu thập ngay"), each a subprocess like the scheduler's,
    at most one per site from this process; the per-site lock keeps out any other."""

    def __init__(self, config: Settings) -> None:
        self.config = config
        self._starting: set[str] = set()
        self._guard = threading.Lock()

    def start(self, name: str, since: date | None = None) -> bool:
        """Start a crawl of `name` in the background (with `since`, a backfill of its history
        to that day); False when one is running already."""
        url = self.config.shared_state
        if url is not None:  # several machines: a worker takes it
            from crawler.roles import enqueue, prepare

            prepare(url)
            return not crawl_running(self.config, name) and enqueue(url, name, since)
        with self._guard:
            if name in self._starting or crawl_running(self.config, name):
                return False
            self._starting.add(name)
        threading.Thread(target=self._run, args=(name, since), name=f"crawl-{name}", daemon=True).start()
        return True

    def busy(self, name: str) -> bool:
        """Whether this process started a crawl of `name` that has not ended yet."""
        with self._guard:
            return name in self._starting

    def _run(self, name: str, since: date | None) -> None:
        try:
            run_site_crawl(name, {**os.environ, **as_environment(self.config)}, since)
        except OSError:
            log.exception("crawl of %s could not start", name)
        finally:
            with self._guard:
                self._starting.discard(name)


class SiteBoard:
    """The crawler's side of the web app (`search.web.service.Crawls`): each site's status,
    with the scheduler's next runs when there is a scheduler, and "crawl now"."""

    def __init__(
        self,
        config: Settings,
        sites: list[Site],
        next_runs: Callable[[], dict[str, datetime | None]] | None = None,
    ) -> None:
        self.config, self.sites, self.next_runs = config, sites, next_runs
        self.starter = CrawlStarter(config)

    def overview(self) -> list[SiteStatus]:
        """Every site's status; a crawl this process started counts as running at once."""
        rows = site_status(self.config, self.sites, self.next_runs() if self.next_runs else None)
        for row in rows:
            row.running = row.running or self.starter.busy(row.name)
        return rows

    def start(self, name: str, since: date | None = None) -> bool:
        """Start a crawl of the site now (with `since`, a backfill to that day); False when
        one runs; NoSuchSite when unknown."""
        known = [site.name for site in self.sites]
        if message := unknown_sites([name] if name not in known else [], known):
            raise NoSuchSite(message)
        return self.starter.start(name, since)
