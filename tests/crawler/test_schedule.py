"""The scheduler: a crawl missed while the service was down runs once at start-up; a site's
crawl never overlaps itself; jobs follow the registry; `newsmon schedule` lists them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from config.vntime import TIMEZONE
from crawler.registry import parse_registry
from crawler.schedule import JOB_PREFIX, configure, sync_jobs
from tests.support import NEWSMON, run_cli

RECORD = "tests.crawler.test_schedule:record_run"
SLOW = "tests.crawler.test_schedule:slow_run"


def record_run(name: str) -> None:
    """Stands in for a crawl: one line per run in the file named by the environment."""
    with Path(os.environ["NEWSMON_TEST_RUNS"]).open("a", encoding="utf-8") as runs:
        runs.write(f"{name} {time.time()}\n")


def slow_run(name: str) -> None:
    record_run(f"{name}-start")
    time.sleep(2.5)
    record_run(f"{name}-end")


def _sites(*entries: tuple[str, str]) -> list:
    return parse_registry(
        {"sites": [{"name": n, "url": f"https://{n}.example.vn/", "schedule": c} for n, c in entries]},
        Path("sites.yaml"),
    )


def _runs(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split()[::2] if path.exists() else []


def test_missed_crawl_runs_once_on_start_up(tmp_path: Path, monkeypatch) -> None:
    runs = tmp_path / "runs.txt"
    monkeypatch.setenv("NEWSMON_TEST_RUNS", str(runs))
    sites = _sites(("laodong", "0 6 * * *"))
    first = configure(BackgroundScheduler(), tmp_path)
    first.start(paused=True)
    sync_jobs(first, sites, func=RECORD)
    # The service was down for three days: three 06:00 runs were missed.
    # (The paused first scheduler stays as it is: like a killed service, it does nothing more.)
    first.modify_job(JOB_PREFIX + "laodong", next_run_time=datetime.now(first.timezone) - timedelta(days=3))

    again = configure(BackgroundScheduler(), tmp_path)
    again.start(paused=True)
    sync_jobs(again, sites, func=RECORD)  # unchanged schedule: the due run is kept
    again.resume()
    deadline = time.time() + 10
    while not runs.exists() and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    job = again.get_job(JOB_PREFIX + "laodong")
    again.shutdown()
    first.shutdown()
    assert _runs(runs) == ["laodong"]  # once, not three times
    assert job.next_run_time > datetime.now(job.next_run_time.tzinfo)
    assert (job.next_run_time.hour, job.next_run_time.minute) == (6, 0)


@pytest.mark.slow
def test_a_crawl_never_overlaps_itself(tmp_path: Path, monkeypatch) -> None:
    runs = tmp_path / "runs.txt"
    monkeypatch.setenv("NEWSMON_TEST_RUNS", str(runs))
    scheduler = configure(BackgroundScheduler(), tmp_path)
    scheduler.start()
    # Every second, a crawl that takes 2.5 s.
    scheduler.add_job(SLOW, CronTrigger(second="*", timezone=TIMEZONE), args=["nld"], id=JOB_PREFIX + "nld")
    time.sleep(6)
    scheduler.shutdown(wait=True)
    events = _runs(runs)
    assert events.count("nld-start") >= 2
    running = 0
    for event in events:
        running += 1 if event.endswith("start") else -1
        assert running <= 1, events


def test_jobs_follow_the_registry(tmp_path: Path) -> None:
    scheduler = configure(BackgroundScheduler(), tmp_path)
    scheduler.start(paused=True)
    sync_jobs(scheduler, _sites(("a", "0 6 * * *"), ("b", "30 7 * * *")), func=RECORD)
    assert {j.id for j in scheduler.get_jobs()} == {"crawl:a", "crawl:b"}
    sync_jobs(scheduler, _sites(("a", "15 5 * * *")), func=RECORD)
    jobs = {j.id: j for j in scheduler.get_jobs()}
    assert set(jobs) == {"crawl:a"}
    assert (jobs["crawl:a"].next_run_time.hour, jobs["crawl:a"].next_run_time.minute) == (5, 15)
    scheduler.shutdown()


def test_schedule_command_lists_sites_and_next_runs(tmp_path: Path) -> None:
    registry = tmp_path / "sites.yaml"
    registry.write_text(
        "sites:\n  - name: laodong\n    url: https://laodong.vn/\n    schedule: '0 6 * * *'\n"
        "  - name: nld\n    url: https://nld.com.vn/\n    enabled: false\n",
        encoding="utf-8",
    )
    env = {**os.environ, "NEWSMON_CONFIG": str(registry), "NEWSMON_DATA_DIR": str(tmp_path / "data")}
    result = run_cli("schedule", "--json", env=env)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["site"] for r in rows] == ["laodong"]
    next_run = datetime.fromisoformat(rows[0]["next_run"])
    assert next_run.utcoffset() == timedelta(hours=7)
    assert (next_run.hour, next_run.minute) == (6, 0)


@pytest.mark.slow
def test_serve_stores_the_jobs_serves_the_web_app_and_stops_on_sigterm(
    tmp_path: Path, unused_port: int
) -> None:
    registry = tmp_path / "sites.yaml"
    registry.write_text(
        "sites:\n  - name: laodong\n    url: https://laodong.vn/\n    schedule: '0 6 * * *'\n",
        encoding="utf-8",
    )
    env = {**os.environ, "NEWSMON_CONFIG": str(registry), "NEWSMON_DATA_DIR": str(tmp_path / "data")}
    command = [NEWSMON, "serve", "--port", str(unused_port)]
    service = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    assert service.stderr is not None
    seen = ""
    deadline = time.time() + 60
    while "lịch thu thập đang chạy" not in seen and time.time() < deadline:
        seen += service.stderr.readline()
    # The web app answers from the same process, with the stored job's next crawl.
    sites = None
    while sites is None and time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{unused_port}/api/sites", timeout=5) as answer:
                sites = json.loads(answer.read())
        except OSError:
            time.sleep(0.2)
    assert sites is not None
    assert sites[0]["name"] == "laodong"
    assert sites[0]["next_run"].endswith("T06:00:00+07:00")
    service.send_signal(signal.SIGTERM)
    status = service.wait(timeout=30)
    service.stderr.close()
    assert status == 0
    assert "laodong: thu thập hằng ngày lúc 06:00, lần tới" in seen
    rows = json.loads(run_cli("schedule", "--json", env=env).stdout)
    assert rows[0]["scheduled"] is True
    # The daily digest job is stored too, at 07:00 Vietnam time by default.
    store = configure(BackgroundScheduler(), tmp_path / "data")
    store.start(paused=True)
    digest = store.get_job("alerts:digest")
    store.shutdown(wait=False)
    assert digest is not None
    assert (digest.next_run_time.hour, digest.next_run_time.minute) == (7, 0)


def test_a_stopped_scheduler_leaves_no_connection_to_the_shared_database(
    tmp_path: Path, state_url: str
) -> None:
    """The web app reads the leader's jobs through a paused scheduler; each one stopped had left
    a connection open (APScheduler's loop reads its store once more after closing it)."""
    import psycopg

    from crawler.schedule import stop

    def connections() -> int:
        database = state_url.rsplit("/", 1)[1]
        with psycopg.connect(state_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            ).fetchone()
        return int(row[0]) if row else -1

    for _ in range(3):
        scheduler = configure(BackgroundScheduler(), tmp_path, state_url)
        scheduler.start(paused=True)
        assert scheduler.get_jobs() == []
        stop(scheduler)
    assert connections() == 0


def test_schedulers_starting_at_once_on_a_new_shared_database_all_start(
    tmp_path: Path, state_url: str
) -> None:
    """Two `serve --role web` processes started together on a new database: each found no job
    table and created it, PostgreSQL refused the second, and that process never answered."""
    import threading

    from crawler.schedule import stop

    schedulers = [configure(BackgroundScheduler(), tmp_path, state_url) for _ in range(6)]
    errors: list[BaseException] = []
    gate = threading.Barrier(len(schedulers))

    def start(scheduler: BackgroundScheduler) -> None:
        gate.wait()
        try:
            scheduler.start(paused=True)
        except Exception as exc:  # noqa: BLE001 - what the test reports
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == []
        assert all(s.get_jobs() == [] for s in schedulers)
    finally:
        for scheduler in schedulers:
            if scheduler.running:
                stop(scheduler)
