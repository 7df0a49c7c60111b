"""`newsmon backfill`: a site's history back to a date, from its sitemaps, searchable and never
mailed; a new article found by the next crawl is mailed once; a backfill killed with SIGKILL
goes on where it stopped without fetching again what it indexed."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from config.settings import Settings
from crawler.backfill import current
from crawler.samples.server import SampleSite
from crawler.samples.sitegen import generate_site, write_article, write_indexes
from search.schema import alias_name
from tests.search.test_alerts import Inbox, smtp  # noqa: F401 - the SMTP sink fixture
from tests.support import NEWSMON, host_of, run_cli, site_registry

pytestmark = pytest.mark.es

SINCE = date(2021, 1, 1)  # the generated site's 2,000 articles go back to July 2020


def _backfill_state(env: dict[str, str]) -> dict[str, object] | None:
    """The site's backfill row where `env`'s newsmon keeps it (data directory or shared state)."""
    config = Settings(data_dir=Path(env["NEWSMON_DATA_DIR"]), state_url=env.get("NEWSMON_STATE_URL"))
    try:
        found = current(config).get("gen")
    except sqlite3.OperationalError:  # the file is being created
        return None
    return found.as_dict() if found is not None else None


def _indexed(es: Elasticsearch, env: dict[str, str]) -> set[str]:
    index = alias_name(env["NEWSMON_INDEX_PREFIX"])
    es.indices.refresh(index=index)
    hits = es.search(index=index, size=5000, source_includes=["url"], query={"match_all": {}})["hits"]["hits"]
    return {"/" + hit["_source"]["url"].split("/", 3)[3] for hit in hits}


@pytest.mark.parametrize("since", [SINCE, date(2020, 1, 1)], ids=["to-a-date", "everything"])
def test_history_is_indexed_to_its_date_and_never_mailed_the_next_crawl_mails_what_is_new(
    site: SampleSite,
    env: dict[str, str],
    es: Elasticsearch,
    smtp: Inbox,  # noqa: F811
    since: date,
) -> None:
    articles = generate_site(site.root, 2000, host_of(site))
    site_registry(env, site, sitemaps=["/sitemap.xml"])
    assert (
        run_cli(
            "alerts", "add", "--name", "LĐLĐ", "--query", '"LĐLĐ tỉnh"', "--email", "a@cd.example.vn", env=env
        ).returncode
        == 0
    )
    result = run_cli(
        "backfill", "--site", "gen", "--since", since.strftime("%d/%m/%Y"), "--json", env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["gen"]
    wanted = {"/" + a.path for a in articles if a.published.date() >= since}
    # Every article back to the date, and none the sitemap dates earlier (never fetched).
    assert _indexed(es, env) == wanted
    assert not {"/" + a.path for a in articles if a.published.date() < since} & set(site.requests)
    assert summary["new"] == len(wanted)
    assert summary["before_date"] == 2000 - len(wanted)
    assert _backfill_state(env)["state"] == "finished"  # type: ignore[index]
    assert f"đã nạp xong bài từ {since:%d/%m/%Y}" in result.stderr
    assert smtp.messages == []
    if since == SINCE:
        assert 1000 < len(wanted) < 2000
        return  # what the next crawl does follows, once, after a backfill of everything
    # The search finds the history; the alerts, run again, still mail none of it.
    found = json.loads(run_cli("search", '"LĐLĐ tỉnh"', "--json", env=env).stdout)
    assert found["total"] == len(wanted)
    assert run_cli("alerts", "run", env=env).returncode == 0
    assert smtp.messages == []

    # A new article, found by the next crawl: mailed once; the history is not fetched again.
    fresh = write_article(
        site.root,
        2000,
        datetime.now().replace(microsecond=0) - timedelta(hours=1),
        articles[:3],
        rng=random.Random(9),
    )
    write_indexes(site.root, [*articles, fresh], host_of(site))
    site.requests.clear()
    crawl = json.loads(run_cli("crawl", "--json", env=env, timeout=600).stdout)["gen"]
    assert crawl["new"] == 1
    assert not wanted & set(site.requests)
    assert [m["Subject"] for m in smtp.messages] == ["[newsmon] LĐLĐ: 1 bài mới"]
    assert fresh.title in smtp.messages[0].get_payload()[0].get_payload(decode=True).decode()
    run_cli("alerts", "run", env=env)
    assert len(smtp.messages) == 1


@pytest.mark.parametrize(
    "elsewhere",
    [False, pytest.param(True, marks=pytest.mark.state)],
    ids=["same-machine", "resumed-on-another-machine"],
)
def test_a_killed_backfill_goes_on_where_it_stopped(
    site: SampleSite,
    env: dict[str, str],
    es: Elasticsearch,
    elsewhere: bool,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    articles = generate_site(site.root, 2000, host_of(site))
    site_registry(env, site, sitemaps=["/sitemap.xml"])
    if elsewhere:  # with shared state, another machine's worker takes the backfill over
        env["NEWSMON_STATE_URL"] = request.getfixturevalue("state_url")
    wanted = {"/" + a.path for a in articles if a.published.date() >= SINCE}
    first = subprocess.Popen(
        [NEWSMON, "backfill", "--site", "gen", "--since", "01/01/2021"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        state = _backfill_state(env)
        if state is not None and int(state["indexed"]) >= 400:  # type: ignore[call-overload]
            break
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed = _backfill_state(env)
    assert killed is not None
    assert killed["state"] == "running"  # as the killed process left it
    status = json.loads(run_cli("status", "--json", env=env).stdout)
    assert status[0]["backfill"]["state"] == "interrupted"
    indexed_first = _indexed(es, env)
    assert 400 <= len(indexed_first) < len(wanted)
    fetched_first = [path for path in site.requests if path in wanted]
    site.requests.clear()

    if elsewhere:
        env["NEWSMON_DATA_DIR"] = str(tmp_path / "other-machine")
        site_registry(env, site, sitemaps=["/sitemap.xml"])
    result = run_cli("backfill", "--site", "gen", env=env, timeout=600)  # no date: goes on
    assert result.returncode == 0, result.stderr
    assert _indexed(es, env) == wanted  # nothing lost
    again = {path for path in site.requests if path in wanted}
    # What the first run indexed is not fetched again (its last unacknowledged batch may be).
    assert len(again & indexed_first) <= 200
    assert len(again) + len(set(fetched_first)) >= len(wanted)
    state = _backfill_state(env)
    assert state is not None
    assert state["state"] == "finished"
    assert state["started_at"] == killed["started_at"]
    assert state["indexed"] >= len(wanted)
