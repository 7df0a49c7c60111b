"""The seen store: what earlier crawls fetched, re-fetched only when a source re-dates it."""

from __future__ import annotations

from pathlib import Path

from crawler.seen import SeenStore


def test_marks_count_only_once_committed_and_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "seen.sqlite"
    store = SeenStore(path)
    store.mark("https://cd.example.vn/a-1001.html", "cd", "2021-12-08T09:00:00+07:00")
    assert store.needs_fetch("https://cd.example.vn/a-1001.html")  # not committed: a crash re-fetches it
    store.commit()
    store.close()
    again = SeenStore(path)
    assert not again.needs_fetch("https://cd.example.vn/a-1001.html")
    assert again.needs_fetch("https://cd.example.vn/b-1002.html")
    assert again.count("cd") == 1
    assert again.count("other") == 0


def test_a_later_source_date_asks_for_a_new_fetch_an_earlier_or_missing_one_does_not(tmp_path: Path) -> None:
    store = SeenStore(tmp_path / "seen.sqlite")
    url = "https://cd.example.vn/a-1001.html"
    store.mark(url, "cd", "2021-12-08T09:00:00+07:00")
    store.commit()
    assert store.needs_fetch(url, "2021-12-08T03:00:00+00:00")  # 10:00 in Vietnam: later
    assert not store.needs_fetch(url, "2021-12-08T01:00:00+00:00")  # 08:00 in Vietnam: earlier
    assert not store.needs_fetch(url, None)
    assert not store.needs_fetch(url, "not a date")
