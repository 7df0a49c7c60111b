"""`newsmon serve --role` on several machines sharing NEWSMON_STATE_URL (PostgreSQL).

- **scheduler**: every scheduler process waits for one advisory lock; the one holding it
  runs APScheduler on the shared job store, the others stand by and take over within
  STANDBY_POLL seconds of its death (PostgreSQL releases a dead holder's lock). A crawl job
  does not crawl: it puts the site on the crawl queue.
- **worker**: takes the oldest queued crawl with `FOR UPDATE SKIP LOCKED` inside a
  transaction it holds for the whole crawl. A worker that dies rolls that transaction back,
  so the crawl is queued again and another worker takes it; the site's own lock (held by the
  crawl process) still keeps one site to one crawl at a time.
- **web**: the web app; "crawl now" queues the crawl too.

One row per queued crawl; a site has at most one crawl queued and not finished (a partial
unique index), so a schedule that fires while its last crawl still waits adds nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import UTC, date, datetime

import psycopg
from apscheduler.schedulers.background import BackgroundScheduler

from config.settings import Settings, get_settings
from crawler.registry import Site
from crawler.schedule import configure, run_site_crawl, sync_digest_job, sync_jobs, sync_rollover_job
from crawler.schedule import stop as stop_scheduler
from search.shared import AdvisoryLock, lock_key

log = logging.getLogger(__name__)

ROLES = ("web", "scheduler", "worker")
ENQUEUE_FUNC = "crawler.roles:enqueue_crawl"
STANDBY_POLL = 2.0  # seconds between a standby scheduler's tries for the lock
WORKER_POLL = 1.0  # seconds between an idle worker's looks at the queue

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS crawl_queue (id BIGSERIAL PRIMARY KEY, site TEXT NOT NULL, since TEXT, "
    "enqueued_at TIMESTAMPTZ NOT NULL DEFAULT now(), started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, "
    "worker TEXT, status INTEGER)",
    "CREATE UNIQUE INDEX IF NOT EXISTS crawl_queue_open ON crawl_queue (site) WHERE finished_at IS NULL",
]


def _url(config: Settings) -> str:
    if config.shared_state is None:
        raise ValueError("NEWSMON_STATE_URL is not set")
    return config.shared_state


def prepare(url: str) -> None:
    """Create the queue table (idempotent)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (lock_key("crawl_queue:schema"),))  # two at once
        for statement in SCHEMA:
            conn.execute(statement)


def enqueue(url: str, site: str, since: date | None = None) -> bool:
    """Queue a crawl of `site` (a backfill with `since`); False when one is queued or running."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO crawl_queue (site, since) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING id",
            (site, since.isoformat() if since else None),
        ).fetchone()
    return row is not None


def enqueue_crawl(name: str) -> int:
    """The scheduler's crawl job on a shared deployment: queue the site for a worker."""
    queued = enqueue(_url(get_settings()), name)
    log.info("crawl of %s %s", name, "queued" if queued else "already queued: not queued again")
    return 0


def work_once(config: Settings, worker: str) -> str | None:
    """Take one queued crawl and run it to its end; the site crawled, or None when the queue
    was empty."""
    with psycopg.connect(_url(config)) as conn, conn.transaction():
        row = conn.execute(
            "SELECT id, site, since FROM crawl_queue WHERE finished_at IS NULL "
            "ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        number, site, since = row
        log.info("worker %s takes the crawl of %s", worker, site)
        started = datetime.now(UTC)
        status = run_site_crawl(site, {**os.environ}, date.fromisoformat(since) if since else None)
        conn.execute(
            "UPDATE crawl_queue SET started_at = %s, finished_at = now(), worker = %s, status = %s "
            "WHERE id = %s",
            (started, worker, status, number),
        )
    return str(site)


def work(config: Settings, stop: threading.Event, worker: str | None = None) -> None:
    """A worker: run queued crawls one after another until `stop`."""
    worker = worker or f"{socket.gethostname()}:{os.getpid()}"
    prepare(_url(config))
    while not stop.is_set():
        try:
            if work_once(config, worker) is None:
                stop.wait(WORKER_POLL)
        except psycopg.OperationalError as exc:
            log.warning("worker %s: shared state unreachable (%s); trying again", worker, exc)
            stop.wait(5 * WORKER_POLL)


def lead(config: Settings, sites: list[Site], stop: threading.Event) -> None:
    """A scheduler: stand by until this process holds the scheduler lock, then schedule
    until `stop` (or until the lock's connection is lost: then stand by again)."""
    url = _url(config)
    prepare(url)
    lock = AdvisoryLock(url, "scheduler")
    while not stop.is_set():
        if not lock.acquire():
            stop.wait(STANDBY_POLL)
            continue
        log.info("this process now leads the schedule")
        scheduler = configure(BackgroundScheduler(), config.resolved_data_dir, url)
        scheduler.start(paused=True)
        sync_jobs(scheduler, sites, func=ENQUEUE_FUNC)
        sync_digest_job(scheduler, config.digest_time)
        sync_rollover_job(scheduler)
        scheduler.resume()
        try:
            while not stop.wait(STANDBY_POLL):
                if not _alive(lock):
                    log.warning("the scheduler lock's connection is lost: standing by")
                    break
        finally:
            stop_scheduler(scheduler, wait=False)
            lock.release()


def _alive(lock: AdvisoryLock) -> bool:
    try:
        assert lock.conn is not None
        lock.conn.execute("SELECT 1")
    except (psycopg.Error, AssertionError):
        return False
    return True
