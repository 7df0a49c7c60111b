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


def test_workers_recording_their_first_runs_at_once_on_a_new_database_lose_none(
    tmp_path: Path, state_url: str
) -> None:
    """Two workers finishing their first crawls together on a new shared database: each found
    no run table and created it; PostgreSQL refused the second, and its run was never recorded."""
    import threading

    from crawler import state

    config = Settings(data_dir=tmp_path, state_url=SecretStr(state_url))
    errors: list[BaseException] = []
    gate = threading.Barrier(6)

    def record(n: int) -> None:
        gate.wait()
        try:
            state.record_runs(config, [{"site": f"site{n}"}])  # type: ignore[typeddict-item]
        except Exception as exc:  # noqa: BLE001 - what the test reports
            errors.append(exc)

    threads = [threading.Thread(target=record, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(run["site"] for run in state.recorded_runs(config)) == [f"site{n}" for n in range(6)]
