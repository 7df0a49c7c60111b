"""The site registry: valid files load, invalid ones exit 2 naming file, site and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.registry import RegistryError, load_registry, select_sites
from search.article import same_site
from tests.support import ROOT, run_cli

GOOD = """\
sites:
  - name: laodongthudo
    url: https://laodongthudo.vn/
    feeds: [https://laodongthudo.vn/rss/cong-doan.rss]
    article_url: '-\\d+\\.html$'
    schedule: '0 6 * * *'
  - name: congdoan
    url: https://www.congdoan.vn/
    enabled: false
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sites.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_registry_loads_with_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    sites = load_registry(path)
    assert [s.name for s in sites] == ["laodongthudo", "congdoan"]
    assert sites[0].article_pattern is not None
    assert sites[0].article_pattern.search("https://laodongthudo.vn/a-b-123.html")
    assert sites[1].domain == "congdoan.vn"
    assert sites[1].schedule == "0 6 * * *"
    assert [s.name for s in select_sites(sites, [], path)] == ["laodongthudo"]
    assert [s.name for s in select_sites(sites, ["congdoan"], path)] == ["congdoan"]


def test_the_default_registry_validates_and_names_every_site() -> None:
    sites = load_registry(ROOT / "config" / "sites.yaml")
    assert len(sites) >= 10
    assert all(s.title and len(s.title) > 5 for s in sites)
    for site in sites:  # every source is on one of the site's own hosts
        for url in (*site.feeds, *site.sitemaps, *site.listings):
            assert any(same_site(url, host) for host in site.hosts), (site.name, url)
    moved = next(s for s in sites if s.name == "nld")
    assert moved.hosts == ["tuoitre.vn", "nld.com.vn"]
    assert moved.article_pattern is not None
    assert moved.article_pattern.search("https://nld.com.vn/cong-doan/tin-a-b-c-20181206125646445.htm")


def test_aliases_are_host_names(tmp_path: Path) -> None:
    text = "sites:\n  - name: ok\n    url: https://a.vn/\n    aliases: [https://www.b.vn, c.vn]\n"
    path = _write(tmp_path, text)
    assert load_registry(path)[0].hosts == ["a.vn", "b.vn", "c.vn"]


@pytest.mark.parametrize(
    ("text", "site", "key", "words"),
    [
        ("sites:\n  - name: ok\n    url: https://a.vn/\n    color: red\n", "ok", "color", "khoá không có"),
        (
            "sites:\n  - name: ok\n    url: https://a.vn/\n    schedule: 'every day'\n",
            "ok",
            "schedule",
            "cron",
        ),
        ("sites:\n  - name: Bad_Name\n    url: https://a.vn/\n", "Bad_Name", "name", "không đúng dạng"),
        ("sites:\n  - name: ok\n    url: ftp://a.vn/\n", "ok", "url", "http"),
        (
            "sites:\n  - name: ok\n    url: https://a.vn/\n    article_url: '(['\n",
            "ok",
            "article_url",
            "chính quy",
        ),
        (
            "sites:\n  - name: ok\n    url: https://a.vn/\n  - name: ok\n    url: https://b.vn/\n",
            "ok",
            "name",
            "bị trùng",
        ),
        ("sites:\n  - name: ok\n", "ok", "url", "thiếu khoá"),
        (
            "sites:\n  - name: ok\n    url: https://a.vn/\n    aliases: [b.vn/tin]\n",
            "ok",
            "aliases",
            "tên máy",
        ),
        ("sites:\n  - name: ok\n    url: https://a.vn/\n    title: ''\n", "ok", "title", "quá ngắn"),
        (
            "sites:\n  - name: ok\n    url: https://a.vn/\n    extract:\n      title: 'td..x'\n",
            "ok",
            "extract.title",
            "CSS selector hay XPath",
        ),
        (
            "sites:\n  - name: ok\n    url: https://a.vn/\n    extract:\n      drop: ['//div[']\n",
            "ok",
            "extract.drop",
            "CSS selector hay XPath",
        ),
        (
            "sites:\n  - name: ok\n    url: https://a.vn/\n    extract:\n      headline: h1\n",
            "ok",
            "extract.headline",
            "khoá không có",
        ),
    ],
)
def test_invalid_registry_names_file_site_and_key(
    tmp_path: Path, text: str, site: str, key: str, words: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(RegistryError) as info:
        load_registry(path)
    message = str(info.value)
    assert str(path) in message
    assert f"trang {site!r}" in message
    assert f"khoá {key!r}" in message
    assert words in message


def test_crawl_with_invalid_registry_exits_2(tmp_path: Path) -> None:
    import os

    path = _write(tmp_path, "sites:\n  - name: ldld-nghean\n    url: https://ldld.nghean.vn/\n    feed: x\n")
    result = run_cli(
        "crawl", env={**os.environ, "NEWSMON_CONFIG": str(path), "NEWSMON_DATA_DIR": str(tmp_path / "data")}
    )
    assert result.returncode == 2
    assert str(path) in result.stderr
    assert "trang 'ldld-nghean'" in result.stderr
    assert "khoá 'feed'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_unknown_site_and_missing_file_exit_2(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "NEWSMON_CONFIG": str(_write(tmp_path, GOOD))}
    for command in (
        ["crawl", "--site"],
        ["search", "công đoàn", "--site"],
        ["export", "--site"],
        ["sites", "check"],
    ):
        # A typo in a site name is refused, with the names there are, before anything runs.
        unknown = run_cli(*command, "nope", env=env)
        assert unknown.returncode == 2, command
        assert "không có trang nào tên 'nope'" in unknown.stderr, command
        assert "các trang có: laodongthudo, congdoan" in unknown.stderr, command
    missing = run_cli("crawl", env={**env, "NEWSMON_CONFIG": str(tmp_path / "absent.yaml")})
    assert missing.returncode == 2
    assert "absent.yaml" in missing.stderr
