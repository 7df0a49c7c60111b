"""The seen store: what earlier crawls fetched, re-fetched only when a source re-dates it."""

from __future__ import annotations

import threading
from pathlib import Path

from crawler.seen import SeenStore


def test_marks_count_only_once_committed_and_survive_a_reopen(tmp_path: Path, engine: str | None) -> None:
    path = tmp_path / "seen.sqlite"
    store = SeenStore(path, engine)
    store.mark("https://cd.example.vn/a-1001.html", "cd", "2021-12-08T09:00:00+07:00")
    assert store.needs_fetch("https://cd.example.vn/a-1001.html")  # not committed: a crash re-fetches it
    store.commit()
    store.close()
    again = SeenStore(path, engine)
    assert not again.needs_fetch("https://cd.example.vn/a-1001.html")
    assert again.needs_fetch("https://cd.example.vn/b-1002.html")
    assert again.count("cd") == 1
    assert again.count("other") == 0
    again.close()


def test_a_later_source_date_asks_for_a_new_fetch_an_earlier_or_missing_one_does_not(
    tmp_path: Path, engine: str | None
) -> None:
    store = SeenStore(tmp_path / "seen.sqlite", engine)
    url = "https://cd.example.vn/a-1001.html"
    store.mark(url, "cd", "2021-12-08T09:00:00+07:00")
    store.commit()
    assert store.needs_fetch(url, "2021-12-08T03:00:00+00:00")  # 10:00 in Vietnam: later
    assert not store.needs_fetch(url, "2021-12-08T01:00:00+00:00")  # 08:00 in Vietnam: earlier
    assert not store.needs_fetch(url, None)
    assert not store.needs_fetch(url, "not a date")
    store.close()


def test_urls_read_ahead_are_planned_as_one_by_one_in_one_query_per_few_hundred(
    tmp_path: Path, engine: str | None
) -> None:
    """A sitemap names thousands of URLs: the spider reads the store for them in batches, on
    the reactor thread, rather than one round trip per URL."""
    store = SeenStore(tmp_path / "seen.sqlite", engine)
    urls = [f"https://cd.example.vn/bai-{n}-{1000 + n}.html" for n in range(1200)]
    for url in urls[::3]:
        store.mark(url, "cd", "2021-12-08T09:00:00+07:00")
    store.mark_dead(urls[1], "cd")
    store.commit()
    one_by_one = [store.plan(url, "2021-12-08T09:00:00+07:00") for url in urls]
    queries: list[str] = []
    if engine is None:  # SQLite says what it runs
        store.db.set_trace_callback(queries.append)
    store.read_ahead(urls)
    ahead = [store.plan(url, "2021-12-08T09:00:00+07:00") for url in urls]
    assert ahead == one_by_one
    assert set(one_by_one) == {"fetch", "skip"}
    if engine is None:
        assert len([q for q in queries if q.startswith("SELECT")]) == 3  # 1,200 URLs, 500 a query
    store.close()


def test_a_worker_on_another_machine_skips_what_one_fetched(
    registry: Path, env: dict[str, str], state_url: str, tmp_path: Path
) -> None:
    """Two data directories sharing NEWSMON_STATE_URL: the second crawl of a site fetches
    none of the articles the first one fetched."""
    import json

    from tests.support import run_cli

    shared = {**env, "NEWSMON_STATE_URL": state_url}
    first = run_cli("crawl", "--site", "congdoan-mau", "--json", env=shared)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["congdoan-mau"]["new"] == 3
    other = {**shared, "NEWSMON_DATA_DIR": str(tmp_path / "other-machine")}
    second = run_cli("crawl", "--site", "congdoan-mau", "--json", env=other)
    summary = json.loads(second.stdout)["congdoan-mau"]
    assert (summary["new"], summary["seen_skipped"]) == (0, 3)


def _open_at_once(tmp_path: Path, engine: str | None, count: int = 8) -> list[BaseException]:
    """Open one seen store (one file, or one shared database) from `count` threads released
    together, each with its own connection, as crawls in separate processes have; what they raised."""
    start = threading.Barrier(count)
    failed: list[BaseException] = []

    def open_store() -> None:
        start.wait()
        try:
            SeenStore(tmp_path / "seen.sqlite", engine).db.close()
        except Exception as exc:  # noqa: BLE001 - what the test counts
            failed.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failed


def test_crawls_starting_at_once_on_a_new_store_all_open_it(tmp_path: Path, engine: str | None) -> None:
    """Two crawls (one per site) started together each create the tables if missing:
    PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against a concurrent one, and the
    crawl that lost the race never started (found by the concurrent-crawls test)."""
    assert _open_at_once(tmp_path, engine) == []


def test_crawls_starting_at_once_all_add_a_column_a_newer_version_needs(
    tmp_path: Path, engine: str | None
) -> None:
    """Each sees the column missing and adds it; only one can, and the others go on."""
    first = SeenStore(tmp_path / "seen.sqlite", engine)
    first.db.execute("ALTER TABLE seen DROP COLUMN dead_until")
    first.db.commit()
    first.db.close()
    assert _open_at_once(tmp_path, engine) == []
