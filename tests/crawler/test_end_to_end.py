"""End to end: sample sites on loopback -> `newsmon crawl` -> Elasticsearch -> search/export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from crawler.samples.server import SampleSite
from tests.support import indexed_count, journal_waiting, run_cli

pytestmark = pytest.mark.es

NO_LUONG_URL = (
    "/quan-he-lao-dong/"
    "cong-doan-det-may-doi-thoai-voi-doanh-nghiep-ve-tinh-trang-no-luong-cong-nhan-651300.htm"
)


def _search(env: dict[str, str], *args: str) -> dict:
    result = run_cli("search", *args, "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_crawl_index_search_and_recrawl(
    registry: Path, sample_sites: dict[str, SampleSite], env: dict[str, str], es: Elasticsearch
) -> None:
    first = run_cli("crawl", "--json", env=env)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert set(summary) == set(sample_sites)
    assert sum(s["new"] for s in summary.values()) == 9
    # The bundled sample sites have no dead link: a first crawl reports no error.
    assert {name: s["errors"] for name, s in summary.items() if s["errors"]} == {}
    # Listing, category, "Giới thiệu" and "Liên hệ" pages are fetched but never indexed.
    assert indexed_count(es, env) == 9

    found = _search(env, "nợ lương")
    assert found["total"] >= 1
    top = found["hits"][0]
    assert top["url"].endswith(NO_LUONG_URL)
    assert top["title"] == "Công đoàn Dệt may đối thoại với doanh nghiệp về tình trạng nợ lương công nhân"
    assert top["site"] == "congdoan-mau"
    assert "<mark>nợ lương</mark>" in top["snippet"]  # the word marked whole
    # The same words typed without diacritics find the same article.
    assert _search(env, "no luong")["hits"][0]["url"] == top["url"]
    # Typed with diacritics, a word matches only those diacritics.
    assert not any(h["url"].endswith(NO_LUONG_URL) for h in _search(env, "nổ lượng")["hits"])
    # Old-style tone marks in the page (Hoà, Thuỷ) are found with new-style typing.
    assert any("Thuỷ Nguyên" in h["title"] for h in _search(env, "hòa giải thủy nguyên")["hits"])

    # The story republished by two sample sites (one names its source) is one hit.
    story = _search(env, "quán triệt Nghị quyết Đại hội XII")
    assert story["total"] == 1
    copies = {story["hits"][0]["site"]} | {d["site"] for d in story["hits"][0]["duplicates"]}
    assert copies == {"ldld-tinh-mau", "laodongthudo-mau"}
    assert sum(s["duplicates"] for s in summary.values()) == 1

    # Filters and sorting: site, day-first dates, newest first.
    by_site = _search(env, "công đoàn", "--site", "ldld-tinh-mau")["hits"]
    assert by_site
    assert {h["site"] for h in by_site} == {"ldld-tinh-mau"}
    recent = _search(env, "công đoàn", "--since", "01/01/2022", "--sort", "date")["hits"]
    assert [h["published"][:10] for h in recent] == ["2022-03-02", "2022-01-10"]
    older = _search(env, "công đoàn", "--until", "2018-12-31")["hits"]
    assert {h["published"][:4] for h in older} == {"2018"}

    # The second crawl re-fetches no article: discovery pages are revalidated (304) and
    # the articles they list are known from the first crawl.
    for site in sample_sites.values():
        site.requests.clear()
        site.not_modified.clear()
    second = run_cli("crawl", "--json", env=env)
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert sum(s["new"] + s["updated"] for s in again.values()) == 0
    assert sum(s["seen_skipped"] for s in again.values()) == 9
    for name, site in sample_sites.items():
        assert site.requests, name
        assert site.not_modified == site.requests, name  # every request answered 304
        assert again[name]["not_modified"] == len(site.requests)
    assert indexed_count(es, env) == 9


def test_export_lists_every_article_with_cluster(
    registry: Path, env: dict[str, str], es: Elasticsearch
) -> None:
    assert run_cli("crawl", "--site", "congdoan-mau", env=env).returncode == 0
    result = run_cli("export", env=env)
    assert result.returncode == 0, result.stderr
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(docs) == 3
    assert {d["site"] for d in docs} == {"congdoan-mau"}
    for doc in docs:
        assert set(doc) == {
            "id",
            "url",
            "canonical_url",
            "site",
            "title",
            "published",
            "author",
            "tags",
            "text",
            "cluster",
            "duplicate_of",
        }
        assert doc["cluster"]
        assert doc["duplicate_of"] is None
        assert "\n" in doc["text"]


def test_unreachable_elasticsearch_loses_no_article(
    registry: Path, env: dict[str, str], es: Elasticsearch, unused_port: int
) -> None:
    down = {**env, "NEWSMON_ES_URL": f"http://127.0.0.1:{unused_port}"}
    failed = run_cli("crawl", "--site", "ldld-tinh-mau", env=down)
    assert failed.returncode == 1
    assert "chưa nhận 3 bài" in failed.stderr
    assert journal_waiting(env) == 3

    # Elasticsearch is back: the next crawl indexes the journalled articles (once).
    recovered = run_cli("crawl", "--site", "laodongthudo-mau", env=env)
    assert recovered.returncode == 0, recovered.stderr
    assert journal_waiting(env) == 0
    assert indexed_count(es, env) == 6
