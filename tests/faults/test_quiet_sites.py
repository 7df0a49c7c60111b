"""A site that goes quiet is a fault too: crawls that keep failing, a site that stops
publishing and a fallen extraction health each make one admin mail per episode, and the
sites page and `newsmon status` say so meanwhile."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from elasticsearch import Elasticsearch

from crawler.watch import FAILED_IN_A_ROW, site_alarms
from tests.crawler.test_obstacles import serve
from tests.support import run_cli

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


def _run(days_ago: float, **counts: object) -> dict[str, object]:
    started = (NOW - timedelta(days=days_ago)).isoformat(timespec="seconds")
    return {
        "site": "s",
        "started": started,
        "finish_reason": "finished",
        "requests": 10,
        "pages": 10,
        "new": 0,
        "errors": {},
        **counts,
    }


def _failed(days_ago: float) -> dict[str, object]:
    return _run(days_ago, pages=0, errors={"download": 10})


def test_each_kind_of_episode_is_found_from_the_run_history() -> None:
    newest_first = [_run(d, new=3) for d in range(2, 20)]  # a site that publishes every day
    assert site_alarms("s", newest_first, NOW) == []
    # One that did, then was crawled daily for ten days with nothing new: quiet (usual gap: a day).
    silent = [*(_run(d) for d in range(1, 11)), *(_run(d, new=3) for d in range(11, 21))]
    (quiet,) = site_alarms("s", silent, NOW)
    assert quiet.kind == "quiet"
    assert "không có bài mới từ" in quiet.message
    assert quiet.key == site_alarms("s", silent[1:], NOW - timedelta(days=1))[0].key  # one episode
    # Two failed crawls are weather; three in a row are an episode, begun at the first.
    assert site_alarms("s", [_failed(0.25), _failed(0.5), *newest_first], NOW) == []
    failing = [_failed(0.25), _failed(0.5), _failed(0.75), *newest_first]
    (alarm,) = site_alarms("s", failing, NOW)
    assert (alarm.kind, alarm.since) == ("failing", failing[FAILED_IN_A_ROW - 1]["started"])
    assert "3 lần thu thập liên tiếp thất bại" in alarm.message
    dropped = [_run(0.5, new=2, health=0.4, health_usual=0.95), *newest_first]
    assert [a.kind for a in site_alarms("s", dropped, NOW)] == ["health"]
    # A site with too little history has no usual gap to be measured against.
    assert site_alarms("s", [_run(1), _run(9, new=1), _run(10, new=1)], NOW) == []


def _admin_mails(env: dict[str, str]) -> list[email.message.EmailMessage]:
    outbox = Path(env["NEWSMON_DATA_DIR"]) / "outbox"
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in sorted(outbox.glob("admin*.eml"))
    ]


@pytest.mark.es
def test_crawls_failing_in_a_row_mail_the_admin_once_and_show_on_the_sites_page(
    tmp_path: Path, env: dict[str, str], es: Elasticsearch, unused_port: int
) -> None:
    down = f"http://127.0.0.1:{unused_port}/"  # nothing listens: every crawl fetches nothing
    path = tmp_path / "sites.yaml"
    path.write_text(
        yaml.safe_dump({"sites": [{"name": "hong", "title": "Trang hỏng", "url": down}]}), encoding="utf-8"
    )
    env.update(NEWSMON_CONFIG=str(path), NEWSMON_ADMIN_EMAIL="quantri@cd.example.vn")
    for attempt in range(FAILED_IN_A_ROW + 1):
        run_cli("crawl", env=env)
        mails = _admin_mails(env)
        assert len(mails) == (0 if attempt < FAILED_IN_A_ROW - 1 else 1), attempt  # once per episode
    (mail,) = mails
    assert mail["To"] == "quantri@cd.example.vn"
    assert "Trang hỏng" in mail["Subject"]
    assert "thất bại" in mail["Subject"]
    status = json.loads(run_cli("status", "--json", env=env).stdout)
    assert any("liên tiếp thất bại" in alarm for alarm in status[0]["alarms"])


@pytest.mark.es
def test_a_site_that_stops_publishing_mails_the_admin_once(
    tmp_path: Path, env: dict[str, str], es: Elasticsearch
) -> None:
    root = tmp_path / "www"
    root.mkdir()
    (root / "index.html").write_text(
        "<html><head><title>Trang lặng</title></head><body><p>Chưa có tin.</p></body></html>",
        encoding="utf-8",
    )
    runs = Path(env["NEWSMON_DATA_DIR"]) / "crawl" / "runs.jsonl"
    runs.parent.mkdir(parents=True)
    now = datetime.now(UTC)
    # What earlier crawls wrote: an article a day for ten days, then ten days of nothing new.
    history = [
        {
            **_run(0, new=2 if day > 10 else 0),
            "site": "lang",
            "started": (now - timedelta(days=day)).isoformat(timespec="seconds"),
        }
        for day in range(20, 0, -1)
    ]
    runs.write_text("".join(json.dumps(run) + "\n" for run in history), encoding="utf-8")
    with serve(root, "plain") as home:
        path = tmp_path / "sites.yaml"
        path.write_text(
            yaml.safe_dump({"sites": [{"name": "lang", "title": "Trang lặng", "url": home}]}),
            encoding="utf-8",
        )
        env.update(NEWSMON_CONFIG=str(path), NEWSMON_ADMIN_EMAIL="quantri@cd.example.vn")
        first = run_cli("crawl", env=env)
        second = run_cli("crawl", env=env)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    (mail,) = _admin_mails(env)
    assert "không có bài mới" in mail["Subject"]
    assert "không có bài mới từ" in mail.get_body().get_content()  # type: ignore[union-attr]
