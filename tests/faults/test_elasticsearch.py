"""Elasticsearch refusing writes, and a crawl killed while it replays the journal: every
article ends up indexed once, none is lost (real node, real crawl processes, SIGKILL by pid)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from pipelines.fingerprint import fingerprint
from pipelines.journal import Journal
from pipelines.normalize import normalize_article
from search.article import Article
from search.schema import alias_name, setup
from tests.support import NEWSMON, indexed_count, journal_waiting, run_cli

pytestmark = pytest.mark.es


def test_an_index_that_refuses_writes_loses_nothing(
    registry: Path, env: dict[str, str], es: Elasticsearch, engine: str | None, tmp_path: Path
) -> None:
    """Shared, the journal is replayed by another machine: the seen store (shared too) counts
    journalled articles as fetched everywhere, so a journal left on a machine that never comes
    back would hold articles nobody fetches again."""
    first = {**env, "NEWSMON_STATE_URL": engine} if engine else env
    later = {**first, "NEWSMON_DATA_DIR": str(tmp_path / "other-machine")} if engine else first
    assert run_cli("crawl", "--site", "congdoan-mau", env=first).returncode == 0
    alias = alias_name(env["NEWSMON_INDEX_PREFIX"])
    es.indices.put_settings(index=alias, settings={"index.blocks.write": True})  # what a full disk does
    try:
        refused = run_cli("crawl", "--site", "ldld-tinh-mau", env=first)
        assert refused.returncode == 1
        assert "chưa nhận 3 bài" in refused.stderr
        assert journal_waiting(later) == 3
    finally:
        es.indices.put_settings(index=alias, settings={"index.blocks.write": False})
    if engine:
        shutil.rmtree(first["NEWSMON_DATA_DIR"])  # the first machine is gone for good
    assert run_cli("crawl", "--site", "laodongthudo-mau", env=later).returncode == 0
    assert journal_waiting(later) == 0
    assert indexed_count(es, env) == 9


def _journal_articles(env: dict[str, str], count: int) -> list[Article]:
    articles = []
    for n in range(count):
        article = normalize_article(
            Article(
                url=f"https://cd.example.vn/tin-tuc/bai-so-{n}-{100000 + n}.html",
                site="cd",
                title=f"Bài số {n} về công đoàn cơ sở",
                text=f"Nội dung riêng của bài số {n}. " * 40,
                published="2021-12-08T08:00:00+07:00",
                fetched_at="2021-12-08T09:00:00+00:00",
            ),
            "cd.example.vn",
        )
        articles.append(fingerprint(article))
    journal = Journal(Path(env["NEWSMON_DATA_DIR"]) / "spool")
    journal.append(articles, "ConnectionError")
    journal.close()
    return articles


def test_a_crawl_killed_while_replaying_the_journal_loses_nothing(
    registry: Path, env: dict[str, str], es: Elasticsearch
) -> None:
    setup(es, env["NEWSMON_INDEX_PREFIX"])
    articles = _journal_articles(env, 600)
    for delay in (1.0, 1.6, 2.2, 2.8):  # start-up takes about a second; replay follows
        crawl = subprocess.Popen(
            [NEWSMON, "crawl", "--site", "congdoan-mau"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(delay)
        os.killpg(crawl.pid, signal.SIGKILL)
        crawl.wait()
    finished = run_cli("crawl", "--site", "congdoan-mau", env=env)
    assert finished.returncode == 0, finished.stderr
    assert journal_waiting(env) == 0
    ids = [a.id for a in articles]
    found = es.mget(index=alias_name(env["NEWSMON_INDEX_PREFIX"]), ids=ids, source=False)["docs"]
    assert all(d["found"] for d in found)
    assert indexed_count(es, env) == 600 + 3


def test_articles_waiting_in_a_damaged_journal_are_still_indexed(
    registry: Path, env: dict[str, str], es: Elasticsearch
) -> None:
    assert run_cli("crawl", "--site", "congdoan-mau", env=env).returncode == 0
    alias = alias_name(env["NEWSMON_INDEX_PREFIX"])
    es.indices.put_settings(index=alias, settings={"index.blocks.write": True})
    try:
        assert run_cli("crawl", "--site", "ldld-tinh-mau", env=env).returncode == 1
        assert journal_waiting(env) == 3
    finally:
        es.indices.put_settings(index=alias, settings={"index.blocks.write": False})
    journal = Path(env["NEWSMON_DATA_DIR"]) / "spool" / "journal.sqlite"
    journal.write_bytes(b"SQLite format 3\x00" + b"\xba\xad" * 4000)  # garbage written over it
    again = run_cli("crawl", "--site", "laodongthudo-mau", env=env)
    assert again.returncode == 0, again.stderr
    assert "rebuilt from its second record" in again.stderr
    assert indexed_count(es, env) == 9  # the 3 that waited are in: nothing lost
    assert journal_waiting(env) == 0
