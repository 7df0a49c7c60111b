"""A crawl killed with SIGKILL leaves no extraction process behind; one that is interrupted
or finds its site locked by another crawl says so and exits 1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from crawler.samples.server import SampleSite
from crawler.samples.sitegen import generate_site
from tests.support import NEWSMON, run_cli, site_registry

pytestmark = pytest.mark.es


def _children(pid: int) -> set[int]:
    """Every live descendant of `pid`, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _crawl_with_workers(site: SampleSite, env: dict[str, str]) -> tuple[subprocess.Popen[str], set[int]]:
    """A crawl of a 400-article site, once its extraction processes run; and their pids."""
    generate_site(site.root, 400, site.url.split("/")[2])
    site_registry(env, site, sitemaps=["/sitemap.xml"])
    crawl = subprocess.Popen(
        [NEWSMON, "crawl"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = _children(crawl.pid)
        if len(workers) >= 3:  # the fork server, its resource tracker and at least one worker
            time.sleep(0.5)
            return crawl, _children(crawl.pid)
        time.sleep(0.1)
    crawl.kill()
    crawl.communicate()
    pytest.fail("the crawl never started its extraction processes")


def test_a_killed_crawl_leaves_no_extraction_process(
    site: SampleSite, env: dict[str, str], es: Elasticsearch
) -> None:
    crawl, workers = _crawl_with_workers(site, env)
    crawl.send_signal(signal.SIGKILL)
    crawl.communicate()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.1)
    left = [p for p in workers if _alive(p)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == []


def test_an_interrupted_crawl_exits_1_and_says_so(
    site: SampleSite, env: dict[str, str], es: Elasticsearch
) -> None:
    crawl, _ = _crawl_with_workers(site, env)
    crawl.send_signal(signal.SIGTERM)
    try:
        _, stderr = crawl.communicate(timeout=60)
    finally:
        crawl.kill()
    assert crawl.returncode == 1
    assert "lần thu thập bị ngắt" in stderr


def test_a_site_locked_by_another_crawl_is_reported_and_exits_1(
    site: SampleSite, env: dict[str, str], es: Elasticsearch
) -> None:
    import fcntl

    generate_site(site.root, 3, site.url.split("/")[2])
    site_registry(env, site, sitemaps=["/sitemap.xml"])
    lock = Path(env["NEWSMON_DATA_DIR"]) / "crawl" / "locks" / "gen.lock"
    lock.parent.mkdir(parents=True)
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = run_cli("crawl", env=env)
    assert result.returncode == 1
    assert "gen: không thu thập: một lần thu thập trang này đang chạy" in result.stderr


def test_a_fork_server_whose_crawl_died_before_it_asked_does_not_stay(tmp_path: Path) -> None:
    """The race the killed-crawl test met under load: the crawl dies while its fork server is
    still starting, before the server asks to die with it. The server must go anyway."""
    marker = tmp_path / "still-running"
    child = (
        "import sys, time; time.sleep(1.5); import pipelines.extraction.lifeline; "
        "open(sys.argv[1], 'w').write('alive')"
    )
    crawl = (
        "import os, subprocess, sys; os.environ['NEWSMON_EXTRACTION_PARENT'] = str(os.getpid()); "
        f"subprocess.Popen([sys.executable, '-c', {child!r}, sys.argv[1]])"
    )
    subprocess.run([sys.executable, "-c", crawl, str(marker)], check=True)  # returns at once: "killed"
    time.sleep(5)
    assert not marker.exists()
