"""Recent articles are asked for again (conditionally) on each crawl; a changed one is
re-indexed and never mailed again; a dead link is not requested again for a week."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from crawler.samples.server import SampleSite
from crawler.samples.sitegen import GeneratedArticle, generate_site, write_article, write_indexes
from tests.support import host_of, run_cli, site_registry

pytestmark = pytest.mark.es


def _crawl(env: dict[str, str]) -> dict:
    result = run_cli("crawl", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["gen"]


def test_recent_articles_are_revalidated_and_dead_links_rested(
    site: SampleSite, env: dict[str, str], es: Elasticsearch
) -> None:
    articles = generate_site(site.root, 4, host_of(site))
    recent = datetime.now() - timedelta(days=1)
    for index in (0, 1):  # published yesterday: inside the 7-day revisit window
        articles[index] = write_article(site.root, index, recent, [], rng=random.Random(index))
    gone = GeneratedArticle("tin-tuc/bai-da-go-bo-100099.html", "Bài đã gỡ bỏ", recent)
    write_indexes(site.root, [*articles, gone], host_of(site))
    site_registry(env, site, sitemaps=["/sitemap.xml"])
    run_cli(
        "alerts",
        "add",
        "--name",
        "Tin mới",
        "--query",
        articles[0].title.split(":")[0],
        "--email",
        "a@cd.example.vn",
        env=env,
    )

    first = _crawl(env)
    assert (first["new"], first["dead_links"]) == (4, 1)
    outbox = Path(env["NEWSMON_DATA_DIR"]) / "outbox"
    mails = len(list(outbox.glob("*.eml")))
    assert mails >= 1

    write_article(site.root, 0, recent, [], rng=random.Random(0), edition=1)  # a paragraph added
    site.requests.clear()
    second = _crawl(env)
    assert second["revisits"] == 2
    assert second["revisits_unchanged"] == 1
    assert second["updated"] == 1
    assert second["new"] == 0
    assert not [p for p in site.requests if "bai-da-go-bo" in p]  # the dead link rests
    assert not [p for p in site.requests if articles[2].path in p]  # old and known: not asked for
    assert len(list(outbox.glob("*.eml"))) == mails  # the updated story is not mailed again
    docs = {d["title"]: d for d in map(json.loads, run_cli("export", env=env).stdout.splitlines())}
    assert "Cập nhật lần 1" in docs[articles[0].title]["text"]
