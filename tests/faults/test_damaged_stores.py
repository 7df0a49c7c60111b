"""A damaged or truncated store is named, with what to do, and the command fails; it is never
read as empty (a crawl that fetches nothing, "no alerts"). The scheduler's store, which holds
only the registry's schedules, is set aside and rebuilt."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from crawler.registry import load_registry
from crawler.schedule import configure, sync_jobs
from crawler.seen import SeenStore
from search.alerts.store import AlertStore
from search.stores import StoreDamaged, check_all
from tests.support import run_cli

GARBAGE = b"SQLite format 3\x00" + b"\xde\xad\xbe\xef" * 2000


def _damage(path: Path, content: bytes = GARBAGE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


@pytest.mark.parametrize(
    "relative", ["crawl/seen.sqlite", "spool/journal.sqlite", "crawl/profiles.sqlite", "alerts.sqlite"]
)
def test_each_damaged_store_is_named_with_what_to_do(tmp_path: Path, relative: str) -> None:
    check_all(tmp_path)  # nothing there yet: nothing to complain about
    _damage(tmp_path / relative)
    with pytest.raises(StoreDamaged, match=relative.rsplit("/", maxsplit=1)[-1]) as raised:
        check_all(tmp_path)
    assert "chuyển tệp sang chỗ khác" in str(raised.value)


def test_an_emptied_alert_store_is_not_no_alerts(tmp_path: Path) -> None:
    store = AlertStore(tmp_path)
    store.add("Nợ lương", "nợ lương", ["a@cd.example.vn"], [], mode="instant")
    store.close()
    (tmp_path / "alerts.sqlite").write_bytes(b"")
    with pytest.raises(StoreDamaged, match="tệp rỗng"):
        AlertStore(tmp_path)


@pytest.mark.es
def test_a_crawl_with_a_damaged_seen_store_fails_and_says_which(registry: Path, env: dict[str, str]) -> None:
    _damage(Path(env["NEWSMON_DATA_DIR"]) / "crawl" / "seen.sqlite")
    result = run_cli("crawl", env=env)
    assert result.returncode == 1
    assert "seen.sqlite" in result.stderr
    assert "chuyển tệp sang chỗ khác" in result.stderr
    assert "Traceback" not in result.stderr
    listed = run_cli("alerts", "list", env=env)  # other commands are not held up by it
    assert listed.returncode == 0


@pytest.mark.es
def test_alerts_commands_refuse_a_truncated_alert_store(tmp_path: Path, env: dict[str, str]) -> None:
    _damage(Path(env["NEWSMON_DATA_DIR"]) / "alerts.sqlite", b"")
    result = run_cli("alerts", "list", env=env)
    assert result.returncode == 1
    assert "alerts.sqlite: tệp rỗng" in result.stderr


def test_a_damaged_scheduler_store_is_rebuilt_from_the_registry(tmp_path: Path, registry: Path) -> None:
    _damage(tmp_path / "scheduler.sqlite")
    scheduler = configure(BackgroundScheduler(), tmp_path)
    scheduler.start(paused=True)
    try:
        sites = load_registry(registry)
        sync_jobs(scheduler, sites)
        assert len(scheduler.get_jobs()) == len([s for s in sites if s.enabled])
    finally:
        scheduler.shutdown(wait=False)
    assert list(tmp_path.glob("scheduler.sqlite.damaged-*"))  # kept for a look, out of the way


def test_a_store_another_process_is_creating_is_not_read_as_truncated(tmp_path: Path) -> None:
    """Two crawls started together: one creates the seen store while the other checks it."""
    path = tmp_path / "crawl" / "seen.sqlite"
    path.parent.mkdir()
    path.write_bytes(b"")  # the moment between the file's creation and its first page

    def create() -> None:
        time.sleep(0.3)
        SeenStore(path).db.close()

    creator = threading.Thread(target=create)
    creator.start()
    try:
        check_all(tmp_path)
    finally:
        creator.join()
