"""`newsmon serve` (the long-running service) and `newsmon schedule` (what it will run when)."""

from __future__ import annotations

import ipaddress
import signal
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from config.settings import Settings
from crawler.cli.common import app, err, fail, out, print_json, registry_sites, settings
from search.stores import check_all
from search.web.format import moment

if TYPE_CHECKING:
    from crawler.registry import Site
    from crawler.schedule import PlannedRun


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address of the web app")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port of the web app")] = 8000,
) -> None:
    """The long-running service: the web app, and every site's crawl on its cron
    (Asia/Ho_Chi_Minh), in one process."""
    import logging

    import uvicorn
    from apscheduler.schedulers.background import BackgroundScheduler

    from crawler.schedule import configure, planned_runs, sync_digest_job, sync_jobs
    from crawler.web import make_web_app

    config = settings()
    sites = registry_sites(config)
    check_all(config.resolved_data_dir)  # a damaged store stops the service, named
    if not _loopback(host) and config.web_token is None:
        raise fail(f"--host {host}: serving beyond this machine needs NEWSMON_WEB_TOKEN "
                   "(at least 12 characters) so that only signed-in users read and change", 2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    scheduler = configure(BackgroundScheduler(), config.resolved_data_dir)
    scheduler.start(paused=True)
    sync_jobs(scheduler, sites)
    sync_digest_job(scheduler, config.digest_time)
    for run in planned_runs(scheduler, sites):
        when = f"{run.next_run:%d/%m/%Y %H:%M}" if run.next_run else "-"
        err.print(f"{run.site}: '{run.schedule}', next {when}", markup=False)

    def next_runs() -> dict[str, datetime | None]:
        return {run.site: run.next_run for run in planned_runs(scheduler, sites)}

    if host not in ("0.0.0.0", "::"):  # noqa: S104 - compared, not bound
        config = config.model_copy(update={"web_hosts": [*config.web_hosts, host.lower()]})
    elif not config.web_hosts and not config.public_url:
        err.print("--host binds every address: name the host names readers use in NEWSMON_WEB_HOSTS "
                  "(or NEWSMON_PUBLIC_URL); the app answers others with 400", markup=False)
    app = make_web_app(config, sites, next_runs=next_runs)
    if config.web_token is None:
        err.print("NEWSMON_WEB_TOKEN is not set: the web app only reads (alerts and crawls cannot be "
                  "changed from it)", markup=False)
    err.print(f"scheduler running; web app on http://{host}:{port}/ (Ctrl-C stops)", markup=False)
    scheduler.resume()  # crawls missed while the service was down run now, once
    # uvicorn stops serving on SIGINT/SIGTERM, then raises the signal again for the handler
    # that was there before: these let the scheduler stop cleanly (exit status 0) after it.
    signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown(wait=True)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return bool(ipaddress.ip_address(host).is_loopback)
    except ValueError:
        return False


def _stored_runs(config: Settings, sites: list[Site]) -> list[PlannedRun]:
    """Each enabled site's next crawl as `newsmon serve`'s job store has it (read, not run)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from crawler.schedule import configure, planned_runs

    scheduler = configure(BackgroundScheduler(), config.resolved_data_dir)
    scheduler.start(paused=True)
    try:
        return planned_runs(scheduler, sites)
    finally:
        scheduler.shutdown(wait=False)


@app.command("schedule")
def schedule_list(
    as_json: Annotated[bool, typer.Option("--json", help="as JSON")] = False,
) -> None:
    """Each enabled site's schedule and next crawl (from `newsmon serve`'s job store)."""
    config = settings()
    runs = _stored_runs(config, registry_sites(config))
    rows = [{"site": r.site, "schedule": r.schedule,
             "next_run": r.next_run.isoformat() if r.next_run else None, "scheduled": r.stored} for r in runs]
    if as_json:
        print_json(rows)
        return
    for row, run in zip(rows, runs, strict=True):
        when = f"{run.next_run:%d/%m/%Y %H:%M}" if run.next_run else "-"
        note = "" if run.stored else "  (not yet in the job store: start `newsmon serve`)"
        out.print(f"{row['site']:<24} {row['schedule']:<16} {when}{note}", markup=False, highlight=False)


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="as JSON")] = False,
) -> None:
    """Each site's state, last crawls and next crawl (what the web app's sites page shows)."""
    from crawler.status import site_status

    config = settings()
    sites = registry_sites(config)
    planned = {r.site: r.next_run for r in _stored_runs(config, sites)}
    rows = site_status(config, sites, planned)
    if as_json:
        print_json([row.as_dict() for row in rows])
    for row in [] if as_json else rows:
        last = row.runs[0] if row.runs else None
        summary = (f"last {moment(last.get('started'))}: {last.get('new', 0)} new, {last.get('updated', 0)} "
                   f"updated, {sum((last.get('errors') or {}).values())} errors" if last else "never crawled")
        busy = ", crawling now" if row.running else ""
        out.print(f"{row.name:<24} {row.state:<8} {summary}; next {moment(row.next_run) or '-'}{busy}",
                  markup=False, highlight=False)
    if any(row.state == "failed" for row in rows):
        raise typer.Exit(1)
