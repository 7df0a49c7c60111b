"""Which sites are being crawled, as the sites page and `status` show it: read from each
site's lock (a file lock on one machine, an advisory lock shared by every machine)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from config.settings import Settings
from crawler.state import site_lock, sites_running


def test_a_site_runs_exactly_while_a_crawl_holds_its_lock(tmp_path: Path, engine: str | None) -> None:
    config = Settings(data_dir=tmp_path, state_url=SecretStr(engine) if engine else None)
    names = ["cd", "ld", "thudo"]
    assert sites_running(config, names) == set()
    # Another machine sharing the database sees the same (its own data directory).
    elsewhere = config.model_copy(update={"data_dir": tmp_path / "other"}) if engine else config
    locks = [site_lock(config, "cd"), site_lock(config, "thudo")]
    assert all(lock.acquire() for lock in locks)
    try:
        assert sites_running(elsewhere, names) == {"cd", "thudo"}
        locks[0].release()
        assert sites_running(elsewhere, names) == {"thudo"}
    finally:
        for lock in locks:
            lock.release()
    assert sites_running(elsewhere, names) == set()
