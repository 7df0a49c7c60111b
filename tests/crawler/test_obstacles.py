"""What real sites put in a crawler's way, on loopback servers that behave like them: a
JavaScript cookie challenge, a wall that never lets through, a site that moved to another
domain; and feed dates written the way Vietnamese feeds write them."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from elasticsearch import Elasticsearch

from crawler.discovery import feed_date
from crawler.middlewares.challenge import challenge_cookie
from crawler.samples.sitegen import generate_site
from search.schema import alias_name
from tests.support import indexed_count, run_cli

CHALLENGE = (
    b'<html><head><script>document.cookie="D1N=ok42; path=/"; location.reload(true);</script>'
    b"</head><body></body></html>"
)


@contextmanager
def serve(root: Path | None, mode: str, target: str = "") -> Iterator[str]:
    """A loopback site: `plain` serves `root`; `challenge` answers with a cookie challenge
    until the cookie comes back; `wall` always challenges; `moved` redirects every path for
    good to `target`; `down` answers 503 to everything."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if mode == "down":
                self._send(503, b"service unavailable")
                return
            if mode == "moved":
                self.send_response(301)
                self.send_header("Location", target + self.path.lstrip("/"))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            passed = "D1N=ok42" in (self.headers.get("Cookie") or "")
            if mode == "wall" or (mode == "challenge" and not passed):
                self._send(200, CHALLENGE)
                return
            assert root is not None
            path = root / (self.path.split("?")[0].lstrip("/") or "index.html")
            if path.is_dir():
                path = path / "index.html"
            if not path.is_file():
                self._send(404, b"not found")
                return
            self._send(200, path.read_bytes().replace(b"{HOST}", self.headers["Host"].encode()))

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            kind = "application/xml" if self.path.endswith((".rss", ".xml")) else "text/html; charset=utf-8"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _registry(env: dict[str, str], tmp_path: Path, **site: object) -> None:
    path = tmp_path / "sites.yaml"
    entry = {"name": "ld", "title": "Báo Lao Động", **site}
    path.write_text(yaml.safe_dump({"sites": [entry]}), encoding="utf-8")
    env["NEWSMON_CONFIG"] = str(path)
    env["NEWSMON_ALLOW_PRIVATE_HOSTS"] = "true"


def _crawl(env: dict[str, str]) -> dict:
    result = run_cli("crawl", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["ld"]


@pytest.mark.es
def test_a_cookie_challenge_is_passed_and_each_article_indexed_once(
    tmp_path: Path, env: dict[str, str], es: Elasticsearch
) -> None:
    root = tmp_path / "www"
    with serve(root, "challenge") as url:
        articles = generate_site(root, 5, url.split("/")[2])
        _registry(env, tmp_path, url=url, feeds=[url + "rss/tin-moi.rss"])
        summary = _crawl(env)
        again = _crawl(env)
    assert summary["new"] == len(articles)
    assert summary["challenges"] >= 1
    assert "challenge" not in summary["errors"]
    assert indexed_count(es, env) == len(articles)
    assert again["new"] == 0


@pytest.mark.es
def test_a_challenge_that_never_lets_through_is_reported_not_indexed(
    tmp_path: Path, env: dict[str, str], es: Elasticsearch
) -> None:
    with serve(None, "wall") as url:
        _registry(env, tmp_path, url=url, listings=[url + "tin-tuc/"])
        summary = _crawl(env)
    assert summary["errors"]["challenge"] >= 1
    assert summary["new"] == 0
    alias = alias_name(env["NEWSMON_INDEX_PREFIX"])
    assert es.count(index=alias, ignore_unavailable=True, allow_no_indices=True)["count"] == 0


@pytest.mark.es
def test_a_site_that_moved_is_followed_and_keeps_its_name(
    tmp_path: Path, env: dict[str, str], es: Elasticsearch
) -> None:
    root = tmp_path / "www"
    with serve(root, "plain") as new_home:
        articles = generate_site(root, 4, new_home.split("/")[2])
        with serve(None, "moved", target=new_home) as old_home:
            _registry(env, tmp_path, url=old_home)
            summary = _crawl(env)
    assert summary["new"] == len(articles)
    assert summary["moved_to"] == new_home
    assert new_home in summary["warning"]
    assert indexed_count(es, env) == len(articles)
    exported = [json.loads(line) for line in run_cli("export", env=env).stdout.splitlines()]
    assert {doc["site"] for doc in exported} == {"ld"}
    assert all(doc["url"].startswith(new_home) for doc in exported)


def test_a_page_that_only_sets_a_cookie_and_reloads_is_a_challenge() -> None:
    assert challenge_cookie(CHALLENGE) == ("D1N", "ok42")
    redirecting = b"<script>window.location='/x'; document.cookie = 'a_b=1'</script>"
    assert challenge_cookie(redirecting) == ("a_b", "1")
    article = (
        "<html><body><p>" + "Công nhân " * 3000 + "</p><script>document.cookie='x=1';"
        "location.reload()</script></body></html>"
    ).encode()
    assert challenge_cookie(article) is None  # a real page is large
    assert challenge_cookie(b"<script>document.cookie='x=1'</script>") is None  # no reload


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Mon, 01 Dec 2025 10:00:00 +07", "2025-12-01T10:00:00+07:00"),  # short offset (not 7 minutes)
        ("Thứ hai, 01 Dec 2025 10:00:00 +0700", "2025-12-01T10:00:00+07:00"),  # Vietnamese day name
        ("T2, 01/12/2025 10:00 +07", "2025-12-01T10:00:00+07:00"),
        ("CN, 30/11/2025 22:15", "2025-11-30T22:15:00+07:00"),  # no offset: Vietnam time
        ("Mon, 01 Dec 2025 10:00:00 GMT+7", "2025-12-01T10:00:00+07:00"),
        ("Mon, 01 Dec 2025 03:00:00 GMT", "2025-12-01T03:00:00+00:00"),
        ("2025-12-01T10:00:00+07:00", "2025-12-01T10:00:00+07:00"),
        ("không phải ngày", None),
    ],
)
def test_feed_dates_as_vietnamese_feeds_write_them(written: str, expected: str | None) -> None:
    assert feed_date(written) == expected


def test_sites_check_tells_a_healthy_a_dead_a_moved_and_a_walled_site_apart(
    tmp_path: Path, env: dict[str, str]
) -> None:
    root = tmp_path / "www"
    with (
        serve(root, "plain") as home,
        serve(root, "challenge") as guarded,
        serve(None, "wall") as wall,
        serve(None, "moved", target=home) as old,
    ):
        generate_site(root, 3, home.split("/")[2])
        entries = [
            {"name": "healthy", "title": "Trang tốt", "url": home, "feeds": [home + "rss/tin-moi.rss"]},
            {"name": "dead-feed", "title": "Nguồn hỏng", "url": home, "feeds": [home + "rss/khong-co.rss"]},
            {"name": "moved", "title": "Đã chuyển", "url": old},
            {"name": "guarded", "title": "Có thử thách", "url": guarded, "listings": [guarded + "tin-tuc/"]},
            {"name": "walled", "title": "Bị chặn", "url": wall},
        ]
        path = tmp_path / "sites.yaml"
        path.write_text(yaml.safe_dump({"sites": entries}), encoding="utf-8")
        # A registry site's own loopback host is read as a crawl reads it: no variable needed.
        env.update(NEWSMON_CONFIG=str(path))
        env.pop("NEWSMON_ALLOW_PRIVATE_HOSTS", None)
        everything = run_cli("sites", "check", "--json", env=env)
        one = run_cli("sites", "check", "healthy", env=env)
    assert everything.returncode == 1, everything.stderr
    found = {r["site"]: r for r in json.loads(everything.stdout)}
    assert {name: r["readable"] for name, r in found.items()} == {
        "healthy": True,
        "dead-feed": False,
        "moved": True,
        "guarded": True,
        "walled": False,
    }
    dead = [c for c in found["dead-feed"]["checks"] if c["label"] == "RSS/Atom"]
    assert dead[0]["ok"] is False
    assert "404" in dead[0]["detail"]
    assert found["moved"]["moved_to"] == home
    articles = [c for c in found["healthy"]["checks"] if c["label"] == "bài viết"]
    assert len(articles) == 2
    assert all(c["ok"] for c in articles)  # title, date and body
    assert one.returncode == 0, one.stderr
    assert one.stdout.startswith("healthy: đọc được")


@pytest.mark.es
def test_discover_finds_sources_and_pattern_and_its_added_entry_crawls(
    tmp_path: Path, env: dict[str, str], es: Elasticsearch
) -> None:
    root = tmp_path / "www"
    registry = tmp_path / "sites.yaml"
    before = (
        "# my federation's sites\nsites:\n  - name: other\n    title: Trang khác\n    url: https://a.vn/\n"
    )
    registry.write_text(before, encoding="utf-8")
    env.update(NEWSMON_CONFIG=str(registry))  # the site's own loopback host: no variable needed
    env.pop("NEWSMON_ALLOW_PRIVATE_HOSTS", None)
    with serve(root, "plain") as home:
        articles = generate_site(root, 6, home.split("/")[2])
        shown = run_cli("sites", "discover", home, "--json", env=env)
        added = run_cli(
            "sites", "discover", home, "--add", "--name", "ldld-mau", "--title", "LĐLĐ Mẫu", env=env
        )
        entry = json.loads(shown.stdout)["entry"]
        crawled = run_cli("crawl", "--site", "ldld-mau", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    assert entry["feeds"] == [home + "rss/tin-moi.rss"]
    assert entry["sitemaps"] == [home + "sitemap.xml"]
    assert entry["listings"] == [home + "tin-tuc/"]
    assert entry["title"] == "Công đoàn Mẫu"  # the site's name, not a page's
    assert entry["name"] == "cong-doan-mau"  # an address alone names nothing
    pattern = re.compile(entry["article_url"])
    assert all(pattern.search(home + a.path) for a in articles)
    assert not pattern.search(home + "tin-tuc/")
    tried = json.loads(shown.stdout)["articles"]
    assert len(tried) == 3
    assert all(row["title"] and row["published"] for row in tried)
    assert added.returncode == 0, added.stderr
    text = registry.read_text(encoding="utf-8")
    assert text.startswith(before)  # nothing else in the file changed
    assert "name: ldld-mau\n    title: LĐLĐ Mẫu" in text  # as given on the command line
    assert crawled.returncode == 0, crawled.stderr
    assert json.loads(crawled.stdout)["ldld-mau"]["new"] == len(articles)


@pytest.mark.es
def test_a_failing_site_is_reported_and_never_holds_up_the_others(
    tmp_path: Path, env: dict[str, str], es: Elasticsearch
) -> None:
    root = tmp_path / "www"
    with serve(root, "plain") as home, serve(None, "down") as down:
        articles = generate_site(root, 3, home.split("/")[2])
        path = tmp_path / "sites.yaml"
        sites = [
            {"name": "ld", "url": home, "feeds": [home + "rss/tin-moi.rss"]},
            {"name": "hong", "url": down, "feeds": [down + "rss.xml"]},
        ]
        path.write_text(yaml.safe_dump({"sites": sites}), encoding="utf-8")
        env.update(NEWSMON_CONFIG=str(path), NEWSMON_ALLOW_PRIVATE_HOSTS="true")
        result = run_cli("crawl", "--json", env=env)
    summaries = json.loads(result.stdout)
    assert summaries["ld"]["new"] == len(articles)
    assert summaries["hong"]["new"] == 0
    assert summaries["hong"]["errors"] == {"http_503": 1}  # retried, then reported
    assert indexed_count(es, env) == len(articles)


def test_a_download_failure_is_one_line_and_counted(
    tmp_path: Path, env: dict[str, str], es: Elasticsearch, unused_port: int
) -> None:
    root = tmp_path / "www"
    with serve(root, "plain") as home:
        articles = generate_site(root, 3, home.split("/")[2])
        feed = root / "rss" / "tin-moi.rss"
        dead = f"http://127.0.0.1:{unused_port}/tin-tuc/bai-bi-mat-ket-noi-100901.html"  # nobody listens
        feed.write_text(
            feed.read_text(encoding="utf-8").replace(
                "</channel>", f"<item><link>{dead}</link></item></channel>"
            ),
            encoding="utf-8",
        )
        _registry(
            env, tmp_path, url=home, feeds=[home + "rss/tin-moi.rss"], aliases=[f"127.0.0.1:{unused_port}"]
        )
        result = run_cli("crawl", "--json", env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["ld"]
    assert summary["new"] == len(articles)
    assert summary["errors"].get("download", 0) >= 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert sum("cannot fetch" in line and "bai-bi-mat-ket-noi" in line for line in lines) == 1
