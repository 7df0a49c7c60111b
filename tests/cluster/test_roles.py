"""`newsmon serve --role` on one shared PostgreSQL: two schedulers (one leads, the other
takes over when it is SIGKILLed and fires the next jobs once) and two workers (one SIGKILLed
mid-crawl, with its crawl: the other crawls that site again), each with its own data
directory. Every article is indexed once, every queued mail sent once."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import httpx2
import psycopg
import pytest
import yaml
from apscheduler.schedulers.background import BackgroundScheduler
from elasticsearch import Elasticsearch

from config.vntime import VN_TZ
from crawler.registry import load_registry
from crawler.samples.server import SampleSite, write_registry
from crawler.schedule import JOB_PREFIX, configure, stop, sync_jobs
from search.schema import alias_name
from search.shared import AdvisoryLock
from tests.search.web.conftest import TOKEN, form_token, sign_in
from tests.support import NEWSMON, free_port, run_cli

pytestmark = [pytest.mark.es, pytest.mark.cluster]


def _start(role: str, env: dict[str, str], folder: Path, *args: str) -> subprocess.Popen[bytes]:
    """`newsmon serve --role ROLE` with a data directory of its own, its log in `folder`."""
    data = folder / role
    data.mkdir(parents=True, exist_ok=True)
    with (folder / f"{role}.log").open("ab") as log:
        return subprocess.Popen(
            [NEWSMON, "serve", "--role", role.rstrip("12"), *args],
            env={**env, "NEWSMON_DATA_DIR": str(data)},
            stdout=log,
            stderr=log,
            start_new_session=True,  # a SIGKILL to its group takes its crawl with it, as a dead machine
        )


def _wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def _kill(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@pytest.fixture
def shared_env(
    tmp_path: Path, env: dict[str, str], state_url: str, sample_sites: dict[str, SampleSite]
) -> dict[str, str]:
    """The environment of every process of a test: the sample sites' registry, shared state."""
    registry = write_registry(tmp_path / "sites.yaml", sample_sites)
    return {**env, "NEWSMON_CONFIG": str(registry), "NEWSMON_STATE_URL": state_url}


def test_schedulers_and_workers_share_the_work_and_lose_nothing(
    tmp_path: Path, shared_env: dict[str, str], es: Elasticsearch, state_url: str
) -> None:
    env = shared_env
    registry = Path(env["NEWSMON_CONFIG"])
    doc = yaml.safe_load(registry.read_text(encoding="utf-8"))
    doc["sites"] = doc["sites"][:2]
    for site in doc["sites"]:
        site["schedule"] = "* * * * *"  # every minute: the test waits for two of them
    registry.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    names = [site["name"] for site in doc["sites"]]
    added = run_cli(
        "alerts", "add", "--name", "Tin", "--query", "công đoàn", "--email", "a@cd.example.vn", env=env
    )
    assert added.returncode == 0, added.stderr
    logs = tmp_path / "roles"
    running: list[subprocess.Popen[bytes]] = []
    try:
        leader = _start("scheduler1", env, logs)
        running.append(leader)
        _wait(lambda: "now leads the schedule" in (logs / "scheduler1.log").read_text(), 60, "a leader")
        running.append(_start("scheduler2", env, logs))
        first_worker = _start("worker1", env, logs)
        running.append(first_worker)

        # The first minute's crawls are queued; the only worker starts one and dies with it.
        locks = [AdvisoryLock(state_url, f"site:{name}") for name in names]
        _wait(lambda: any(lock.held_elsewhere() for lock in locks), 100, "a crawl under way")
        _kill(first_worker)
        _kill(leader)  # and the leading scheduler dies too
        running.append(_start("worker2", env, logs))

        def finished() -> list[tuple[str, int]]:
            with psycopg.connect(state_url) as conn:
                rows = conn.execute(
                    "SELECT site, status FROM crawl_queue WHERE finished_at IS NOT NULL"
                ).fetchall()
            return [(str(site), int(status)) for site, status in rows]

        # The standby fires the next minute's jobs; the second worker crawls everything.
        _wait(
            lambda: Counter(site for site, _ in finished()) == Counter(dict.fromkeys(names, 2)),
            200,
            "4 crawls",
        )
    finally:
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                _kill(process)
    assert all(status == 0 for _, status in finished())

    # Each job fired once per minute, whichever scheduler led.
    fired = Counter(
        match
        for name in ("scheduler1", "scheduler2")
        for match in re.findall(
            r'Running job "(crawl [^ ]+) .*?\(scheduled at ([^)]+)\)', (logs / f"{name}.log").read_text()
        )
    )
    assert fired
    assert set(fired.values()) == {1}, fired
    assert "now leads the schedule" in (logs / "scheduler2.log").read_text()

    # A machine that crawled nothing (a web process's) shows every worker's runs and the next ones.
    shown = run_cli("status", "--json", env={**env, "NEWSMON_DATA_DIR": str(tmp_path / "web")})
    rows = {row["name"]: row for row in json.loads(shown.stdout)}
    assert all(len(rows[name]["runs"]) == 2 and rows[name]["next_run"] for name in names), rows

    alias = alias_name(env["NEWSMON_INDEX_PREFIX"])
    es.indices.refresh(index=alias)
    counted = es.search(index=alias, size=0, aggs={"urls": {"cardinality": {"field": "url"}}})
    assert counted["hits"]["total"]["value"] == counted["aggregations"]["urls"]["value"] == 6

    # Each queued mail went out once, from whichever data directory delivered it.
    sent = [mail.name for mail in logs.glob("*/outbox/*.eml")]
    with psycopg.connect(state_url) as conn:
        queued = conn.execute("SELECT count(*) FROM mails WHERE sent_at IS NOT NULL").fetchone()
    assert sent
    assert len(sent) == len(set(sent)) == (queued[0] if queued else -1)


def test_two_web_processes_share_sign_in_and_sign_out(
    tmp_path: Path, shared_env: dict[str, str], es: Elasticsearch
) -> None:
    """Behind a load balancer, each request may reach either `serve --role web` process (each
    with its own data directory): signed in on one, a form goes through the other; signed out
    on the second, the first refuses the cookie."""
    env = {**shared_env, "NEWSMON_WEB_TOKEN": TOKEN}
    ports = [free_port(), free_port()]
    logs = tmp_path / "web"
    webs = [_start(f"web{n + 1}", env, logs, "--port", str(port)) for n, port in enumerate(ports)]
    one, two = (httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) for port in ports)

    def answering(client: httpx2.Client) -> bool:
        try:
            return client.get("/login").status_code == 200
        except httpx2.TransportError:
            return False

    try:
        _wait(lambda: answering(one) and answering(two), 60, "two web processes answering")
        sign_in(one)
        two.cookies.set("newsmon_session", one.cookies["newsmon_session"])
        form = {"name": "x", "query": "công đoàn", "emails": "a@example.vn", "action": "save"}
        saved = two.post("/alerts/new", data={**form, "csrf": form_token(two, "/alerts/new")})
        assert saved.status_code == 303, saved.text
        assert [a["name"] for a in one.get("/api/alerts").json()] == ["x"]  # one alert store
        two.post("/logout", data={"csrf": form_token(two, "/alerts")})
        after = one.post("/alerts/new", data={**form, "name": "y", "csrf": form_token(one, "/alerts/new")})
        assert after.status_code == 401

        # The next crawls a web process shows are the leading scheduler's, read as it changes them.
        sites = load_registry(Path(env["NEWSMON_CONFIG"]))
        leader = configure(BackgroundScheduler(), tmp_path / "leader", env["NEWSMON_STATE_URL"])
        leader.start(paused=True)
        try:
            sync_jobs(leader, sites)
            for moment in (
                datetime(2031, 5, 6, 7, 8, tzinfo=VN_TZ),
                datetime(2032, 1, 2, 3, 4, tzinfo=VN_TZ),
            ):
                leader.modify_job(JOB_PREFIX + sites[0].name, next_run_time=moment)
                shown = {row["name"]: row["next_run"] for row in two.get("/api/sites").json()}
                assert datetime.fromisoformat(shown[sites[0].name]) == moment
        finally:
            stop(leader)
    finally:
        one.close()
        two.close()
        for web in webs:
            _kill(web)
