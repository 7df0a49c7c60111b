"""The scheduler behind `newsmon serve`: one cron job per enabled site (APScheduler 3.11,
jobs persisted in SQLite under `$NEWSMON_DATA_DIR/scheduler.sqlite`, Asia/Ho_Chi_Minh).

- `coalesce=True` and no misfire limit: crawls missed while the service was down run
  once when it starts again, not once per missed day.
- `max_instances=1`, and each crawl holds a per-site lock (`crawler/run.py`), so a site
  is never crawled twice at a time, not even by a manual `newsmon crawl`.
- Each crawl runs as its own subprocess (a Twisted reactor cannot be restarted).
- The registry is read at start-up: jobs whose schedule is unchanged keep their stored
  next run time (so a missed run is still due); changed ones are rescheduled; removed or
  disabled sites lose their job.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import weakref
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from config.vntime import TIMEZONE, VN_TZ
from crawler.registry import Site
from search.shared import SCHEMA_KEY
from search.stores import Store, StoreDamaged, check, set_aside

log = logging.getLogger(__name__)

JOB_PREFIX = "crawl:"
CRAWL_FUNC = "crawler.schedule:run_site_crawl"
DIGEST_JOB = "alerts:digest"
DIGEST_FUNC = "crawler.schedule:run_alerts"
ROLLOVER_JOB = "es:rollover"
ROLLOVER_FUNC = "crawler.schedule:run_rollover"
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}


def jobstore(data_dir: Path) -> SQLAlchemyJobStore:
    """The SQLite job store under the data directory. A damaged one is set aside and built
    again: it holds nothing but the registry's schedules, which `sync_jobs` writes back."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "scheduler.sqlite"
    try:
        check(Store(path, "rebuilt from the registry"))
    except StoreDamaged as exc:
        kept = set_aside(path)
        log.warning("%s; the damaged file is kept as %s", exc, kept)
    return SQLAlchemyJobStore(url=f"sqlite:///{path}")


# Each configured scheduler's job store, for `stop` (APScheduler 3 has no public getter).
_stores: weakref.WeakKeyDictionary[BaseScheduler, SQLAlchemyJobStore] = weakref.WeakKeyDictionary()


def configure(scheduler: BaseScheduler, data_dir: Path, state_url: str | None = None) -> BaseScheduler:
    """The scheduler with newsmon's job store (the shared database's with `state_url`), job
    defaults and time zone."""
    store = jobstore(data_dir) if state_url is None else shared_jobstore(state_url)
    scheduler.configure(jobstores={"default": store}, job_defaults=JOB_DEFAULTS, timezone=TIMEZONE)
    _stores[scheduler] = store
    return scheduler


def stop(scheduler: BaseScheduler, *, wait: bool = True) -> None:
    """Shut a started scheduler down (`wait`: for the jobs running) and close every connection
    of its job store. APScheduler 3.11's loop reads the store once more after `shutdown` has
    closed it, and the connection that read opens was never closed (one per scheduler stopped:
    per view of the sites page when the web app read the shared store that way)."""
    scheduler.shutdown(wait=wait)  # joins the loop's thread: its last read is over
    store = _stores.get(scheduler)
    if store is not None:
        store.engine.dispose()


class _SharedJobStore(SQLAlchemyJobStore):
    """APScheduler's SQLAlchemy job store whose table is created under the shared schema lock."""

    def start(self, scheduler: BaseScheduler, alias: str) -> None:
        """Create the table if missing, one process at a time, then start as APScheduler does."""
        # Two processes starting on a new database both found no table and both created it:
        # PostgreSQL refused the second (a unique violation in its catalogue) and that web
        # process never answered.
        from sqlalchemy import text

        with self.engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_KEY})
            self.jobs_t.create(connection, checkfirst=True)
        super().start(scheduler, alias)


def shared_jobstore(state_url: str) -> SQLAlchemyJobStore:
    """APScheduler's own SQLAlchemy job store in the shared PostgreSQL database (psycopg 3)."""
    url = re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", state_url)
    return _SharedJobStore(url=url, tablename="newsmon_jobs")


def trigger_for(site: Site) -> CronTrigger:
    """The site's cron schedule in Vietnam time."""
    return CronTrigger.from_crontab(site.schedule, timezone=TIMEZONE)


def _keep_job(scheduler: BaseScheduler, job_id: str, func: str, trigger: CronTrigger, name: str) -> None:
    """A fixed job stored like the crawl jobs: added once, changed when its time or function is."""
    job = scheduler.get_job(job_id)
    if job is None:
        scheduler.add_job(func, trigger, id=job_id, name=name)
    elif str(job.trigger) != str(trigger) or job.func_ref != func:
        scheduler.modify_job(job_id, func=func)
        scheduler.reschedule_job(job_id, trigger=trigger)


def sync_digest_job(scheduler: BaseScheduler, at: time, func: str = DIGEST_FUNC) -> None:
    """The daily digest run at `at` (Asia/Ho_Chi_Minh), kept like the crawl jobs."""
    trigger = CronTrigger(hour=at.hour, minute=at.minute, timezone=TIMEZONE)
    _keep_job(scheduler, DIGEST_JOB, func, trigger, "daily alert digests")


def sync_rollover_job(scheduler: BaseScheduler, func: str = ROLLOVER_FUNC) -> None:
    """The hourly `newsmon es rollover`: checked each hour, an index overshoots its size by
    an hour's articles at most."""
    _keep_job(
        scheduler, ROLLOVER_JOB, func, CronTrigger(minute=17, timezone=TIMEZONE), "article index rollover"
    )


def _command(*args: str) -> int:
    """`newsmon ARGS` in a subprocess; a failure is logged with the end of what it said."""
    result = subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True, check=False
    )
    if result.returncode:
        log.warning("%s ended with status %s: %s", " ".join(args), result.returncode, result.stderr[-2000:])
    return result.returncode


def run_rollover() -> int:
    """`newsmon es rollover` in a subprocess (a new write index when the current one is full)."""
    return _command("es", "rollover")


def run_alerts() -> int:
    """`newsmon alerts run` in a subprocess: due daily digests (and any queued mail)."""
    return _command("alerts", "run")


def sync_jobs(scheduler: BaseScheduler, sites: list[Site], func: str = CRAWL_FUNC) -> None:
    """Make the stored crawl jobs match the registry (call on a started, possibly paused,
    scheduler)."""
    wanted = {JOB_PREFIX + s.name: s for s in sites if s.enabled}
    for job in scheduler.get_jobs():
        if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
            log.info("site %s left the registry: job removed", job.id.removeprefix(JOB_PREFIX))
            job.remove()
    for job_id, site in wanted.items():
        trigger = trigger_for(site)
        stored = scheduler.get_job(job_id)
        if stored is None:
            scheduler.add_job(func, trigger, args=[site.name], id=job_id, name=f"crawl {site.name}")
        elif str(stored.trigger) != str(trigger) or stored.func_ref != func:
            scheduler.modify_job(job_id, func=func, args=[site.name])
            scheduler.reschedule_job(job_id, trigger=trigger)


def run_site_crawl(name: str, env: dict[str, str] | None = None, since: date | None = None) -> int:
    """One crawl of one site, in a subprocess (with `env`, else this process's environment);
    its summary goes to the run log. With `since`, a backfill of its history to that day."""
    command = [sys.executable, "-m", "crawler.cli", "crawl", "--site", name]
    if since is not None:
        command = [*command[:3], "backfill", "--site", name, "--since", since.strftime("%d/%m/%Y")]
    kind = "backfill" if since else "crawl"
    log.info("%s of %s starts", kind, name)
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if result.returncode:
        log.warning("%s of %s ended with status %s: %s", kind, name, result.returncode, result.stderr[-2000:])
    else:
        log.info("%s of %s done", kind, name)
    return result.returncode


@dataclass(frozen=True)
class PlannedRun:
    """A site's schedule and next crawl, and whether the job store holds it yet."""

    site: str
    schedule: str
    next_run: datetime | None
    stored: bool


def planned_runs(scheduler: BaseScheduler, sites: list[Site]) -> list[PlannedRun]:
    """Each enabled site's next crawl: the stored job's time, else what its cron gives."""
    runs = []
    now = datetime.now(VN_TZ)
    for site in sites:
        if not site.enabled:
            continue
        job = scheduler.get_job(JOB_PREFIX + site.name)
        if job is not None:
            runs.append(PlannedRun(site.name, site.schedule, job.next_run_time, True))
        else:
            runs.append(
                PlannedRun(site.name, site.schedule, trigger_for(site).get_next_fire_time(None, now), False)
            )
    return runs
