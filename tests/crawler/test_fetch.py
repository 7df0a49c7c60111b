"""`newsmon extract URL` fetches as the crawl does: robots.txt, the private-address guard and
the size limit apply, a registry site's own loopback host is allowed, one line per input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from crawler.samples.server import SampleSite
from crawler.samples.sitegen import generate_site
from tests.support import host_of, run_cli, site_registry


def _extract(env: dict[str, str], *urls: str) -> list[dict[str, str]]:
    result = run_cli("extract", "--json", *urls, env=env)
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_extract_url_obeys_robots_and_the_private_address_guard(site: SampleSite, tmp_path: Path) -> None:
    articles = generate_site(site.root, 2, host_of(site))
    (site.root / "admin").mkdir()
    (site.root / "admin" / "bai-an-123456.html").write_bytes((site.root / articles[0].path).read_bytes())
    (site.root / "_redirects.txt").write_text(
        "/bai-cu-100902.html http://10.255.255.1/noi-bo-123456.html\n", encoding="utf-8"
    )
    env = {**os.environ, "NEWSMON_DATA_DIR": str(tmp_path / "data")}
    site_registry(env, site)  # the site's own host (loopback) is allowed, as for its crawl
    article, robots, private = (
        site.url + articles[0].path,
        site.url + "admin/bai-an-123456.html",
        site.url + "bai-cu-100902.html",
    )
    lines = _extract(env, article, robots, private)
    assert [line["input"] for line in lines] == [article, robots, private]
    assert lines[0]["title"] == articles[0].title
    assert "robots.txt" in lines[1]["error"]
    assert "10.255.255.1" in lines[2]["error"]
    assert "/admin/bai-an-123456.html" not in site.requests


@pytest.mark.slow
def test_a_loopback_page_of_no_registry_site_is_refused(site: SampleSite, tmp_path: Path) -> None:
    articles = generate_site(site.root, 1, host_of(site))
    env = {
        **os.environ,
        "NEWSMON_DATA_DIR": str(tmp_path / "data"),
        "NEWSMON_CONFIG": str(tmp_path / "none.yaml"),
    }
    [line] = _extract(env, site.url + articles[0].path)
    assert "refusing private address" in line["error"]
    assert not site.requests
    env["NEWSMON_ALLOW_PRIVATE_HOSTS"] = "true"
    [line] = _extract(env, site.url + articles[0].path)
    assert line["title"] == articles[0].title
