"""`newsmon serve` (the long-running service) and `newsmon schedule` (what it will run when)."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Annotated

import typer

from crawler.cli.common import app, err, fail, out, print_json, registry_sites, settings


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
    from web.app import create_app

    config = settings()
    sites = registry_sites(config)
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

    app = create_app(config, sites, next_runs=next_runs)
    if config.web_token is None:
        err.print("NEWSMON_WEB_TOKEN is not set: the web app only reads (alerts and crawls cannot be "
                  "changed from it)", markup=False)
    err.print(f"web app on http://{host}:{port}/ ; Ctrl-C stops", markup=False)
    scheduler.resume()  # crawls missed while the service was down run now, once
    try:
        # uvicorn handles SIGINT/SIGTERM: it stops serving, then the scheduler stops here.
        uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)
    finally:
        scheduler.shutdown(wait=True)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return bool(ipaddress.ip_address(host).is_loopback)
    except ValueError:
        return False


@app.command("schedule")
def schedule_list(
    as_json: Annotated[bool, typer.Option("--json", help="as JSON")] = False,
) -> None:
    """Each enabled site's schedule and next crawl (from `newsmon serve`'s job store)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from crawler.schedule import configure, planned_runs

    config = settings()
    sites = registry_sites(config)
    scheduler = configure(BackgroundScheduler(), config.resolved_data_dir)
    scheduler.start(paused=True)
    try:
        runs = planned_runs(scheduler, sites)
    finally:
        scheduler.shutdown(wait=False)
    rows = [{"site": r.site, "schedule": r.schedule,
             "next_run": r.next_run.isoformat() if r.next_run else None, "scheduled": r.stored} for r in runs]
    if as_json:
        print_json(rows)
        return
    for row, run in zip(rows, runs, strict=True):
        when = f"{run.next_run:%d/%m/%Y %H:%M}" if run.next_run else "-"
        note = "" if run.stored else "  (not yet in the job store: start `newsmon serve`)"
        out.print(f"{row['site']:<24} {row['schedule']:<16} {when}{note}", markup=False, highlight=False)
