"""`newsmon serve` (the long-running service) and `newsmon schedule` (what it will run when)."""

from __future__ import annotations

import ipaddress
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from config.settings import Settings
from crawler.cli.common import app, err, fail, print_json, registry_sites, settings, show_table
from search.stores import check_all, check_space
from search.web.format import STATES, backfill_text, moment, schedule_words

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

    from crawler.registry import Site
    from crawler.schedule import PlannedRun


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="địa chỉ của ứng dụng web")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="cổng của ứng dụng web")] = 8000,
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="all (mặc định); khi nhiều máy dùng chung NEWSMON_STATE_URL: web, scheduler hoặc worker",
        ),
    ] = "all",
) -> None:
    """Dịch vụ chạy liên tục: ứng dụng web, và thu thập từng trang theo lịch của nó (giờ Việt
    Nam), trong một tiến trình; hoặc một vai (--role) khi nhiều máy dùng chung NEWSMON_STATE_URL."""
    import logging

    import uvicorn
    from apscheduler.schedulers.background import BackgroundScheduler

    from crawler.roles import ROLES
    from crawler.schedule import configure, planned_runs, stop, sync_digest_job, sync_jobs, sync_rollover_job
    from crawler.web import make_web_app

    config = settings()
    sites = registry_sites(config)
    check_all(config.resolved_data_dir)  # a damaged store stops the service, named
    check_space(config.resolved_data_dir)  # so does a full disk
    if not _loopback(host) and config.web_token is None:
        raise fail(
            f"--host {host}: mở ra ngoài máy này cần đặt NEWSMON_WEB_TOKEN (ít nhất 12 ký tự) "
            "để chỉ người đã đăng nhập mới đọc và sửa được",
            2,
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if role not in ("all", *ROLES):
        raise fail(f"--role {role!r}: chỉ nhận all, {', '.join(ROLES)}", 2)
    if config.state_url is not None:
        _serve_shared(config, sites, host, port, set(ROLES) if role == "all" else {role})
        return
    if role != "all":
        raise fail(
            f"--role {role}: các vai chỉ chạy riêng được khi nhiều máy dùng chung trạng thái: hãy đặt "
            "NEWSMON_STATE_URL (postgresql://…)",
            2,
        )
    scheduler = configure(BackgroundScheduler(), config.resolved_data_dir)
    scheduler.start(paused=True)
    sync_jobs(scheduler, sites)
    sync_digest_job(scheduler, config.digest_time)
    sync_rollover_job(scheduler)
    for run in planned_runs(scheduler, sites):
        when = f"{run.next_run:%d/%m/%Y %H:%M}" if run.next_run else "-"
        err.print(f"{run.site}: thu thập {schedule_words(run.schedule)}, lần tới {when}", markup=False)

    def next_runs() -> dict[str, datetime | None]:
        return {run.site: run.next_run for run in planned_runs(scheduler, sites)}

    if host not in ("0.0.0.0", "::"):  # noqa: S104 - compared, not bound
        config = config.model_copy(update={"web_hosts": [*config.web_hosts, host.lower()]})
    elif not config.web_hosts and not config.public_url:
        err.print(
            "--host mở mọi địa chỉ: hãy ghi tên máy người đọc dùng vào NEWSMON_WEB_HOSTS "
            "(hoặc NEWSMON_PUBLIC_URL); tên khác bị trả lời 400",
            markup=False,
        )
    app = make_web_app(config, sites, next_runs=next_runs)
    if config.web_token is None:
        err.print(
            "chưa đặt NEWSMON_WEB_TOKEN: ứng dụng web chỉ để đọc (không sửa được cảnh báo, không "
            "bấm thu thập được)",
            markup=False,
        )
    err.print(f"lịch thu thập đang chạy; ứng dụng web ở http://{host}:{port}/ (Ctrl-C để dừng)", markup=False)
    scheduler.resume()  # crawls missed while the service was down run now, once
    # uvicorn stops serving on SIGINT/SIGTERM, then raises the signal again for the handler
    # that was there before: these let the scheduler stop cleanly (exit status 0) after it.
    signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)
    except KeyboardInterrupt:
        pass
    finally:
        stop(scheduler)


def _serve_shared(config: Settings, sites: list[Site], host: str, port: int, roles: set[str]) -> None:
    """The roles of this process on a shared deployment (crawler/roles.py): the scheduler and
    the worker as threads, the web app in front (or a wait for SIGTERM without it)."""
    import threading

    import uvicorn

    from crawler.roles import lead, work
    from crawler.web import make_web_app

    stop = threading.Event()
    threads = []
    if "scheduler" in roles:
        threads.append(threading.Thread(target=lead, args=(config, sites, stop), name="scheduler"))
    if "worker" in roles:
        threads.append(threading.Thread(target=work, args=(config, stop), name="worker"))
    for thread in threads:
        thread.start()
    err.print(f"vai: {', '.join(sorted(roles))} (trạng thái dùng chung)", markup=False)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if "web" in roles:
            from crawler.schedule import planned_runs

            # One reader of the shared job store for the process (its engine pools connections):
            # opening the store on every view of the sites page cost a connection each time.
            with job_reader(config) as reader:

                def next_runs() -> dict[str, datetime | None]:  # the leading scheduler's
                    return {run.site: run.next_run for run in planned_runs(reader, sites)}

                app = make_web_app(config, sites, next_runs=next_runs)
                uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)
        else:
            while not stop.wait(1.0):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=600)  # a worker finishes the crawl it runs


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return bool(ipaddress.ip_address(host).is_loopback)
    except ValueError:
        return False


@contextmanager
def job_reader(config: Settings) -> Iterator[BaseScheduler]:
    """A paused scheduler over newsmon's job store (the shared one with NEWSMON_STATE_URL): it
    reads the stored jobs, as the scheduler that runs them keeps them, and never runs one."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from crawler.schedule import configure, stop

    scheduler = configure(BackgroundScheduler(), config.resolved_data_dir, config.shared_state)
    scheduler.start(paused=True)
    try:
        yield scheduler
    finally:
        stop(scheduler)


def _stored_runs(config: Settings, sites: list[Site]) -> list[PlannedRun]:
    """Each enabled site's next crawl as `newsmon serve`'s job store has it (read, not run)."""
    from crawler.schedule import planned_runs

    with job_reader(config) as reader:
        return planned_runs(reader, sites)


@app.command("schedule")
def schedule_list(
    as_json: Annotated[bool, typer.Option("--json", help="dạng JSON")] = False,
) -> None:
    """Lịch và lần thu thập tới của mỗi trang đang bật (theo lịch đã lưu của `newsmon serve`)."""
    config = settings()
    runs = _stored_runs(config, registry_sites(config))
    rows = [
        {
            "site": r.site,
            "schedule": r.schedule,
            "next_run": r.next_run.isoformat() if r.next_run else None,
            "scheduled": r.stored,
        }
        for r in runs
    ]
    if as_json:
        print_json(rows)
        return
    unstored = "chưa có trong lịch đã lưu: hãy chạy `newsmon serve`"
    table = [
        (
            run.site,
            schedule_words(run.schedule),
            f"{run.next_run:%d/%m/%Y %H:%M}" if run.next_run else "-",
            "" if run.stored else unstored,
        )
        for run in runs
    ]
    show_table("lịch thu thập", ("trang", "lịch", "lần tới", "ghi chú"), table)


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="dạng JSON")] = False,
) -> None:
    """Tình trạng, các lần thu thập gần đây và lần tới của mỗi trang (như trang “Các trang” của
    ứng dụng web)."""
    from crawler.status import site_status

    config = settings()
    sites = registry_sites(config)
    planned = {r.site: r.next_run for r in _stored_runs(config, sites)}
    rows = site_status(config, sites, planned)
    if as_json:
        print_json([row.as_dict() for row in rows])
    else:
        table = []
        for row in rows:
            last = row.runs[0] if row.runs else None
            errors = sum((last.get("errors") or {}).values()) if last else 0
            summary = (
                f"{moment(last.get('started'))}: {last.get('new', 0)} mới, {last.get('updated', 0)} "
                f"cập nhật, {errors} lỗi"
                if last
                else "chưa thu thập"
            )
            state = STATES.get(row.state, row.state) + (", đang thu thập" if row.running else "")
            notes = "; ".join(n for n in [*row.alarms, backfill_text(row.backfill)] if n)
            table.append((row.name, state, summary, moment(row.next_run) or "-", notes))
        show_table("các trang", ("trang", "tình trạng", "lần cuối", "lần tới", "cần chú ý"), table)
    if any(row.state == "failed" for row in rows):
        raise typer.Exit(1)
