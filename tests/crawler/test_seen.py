"""The seen store: what earlier crawls fetched, re-fetched only when a source re-dates it."""

from __future__ import annotations

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
