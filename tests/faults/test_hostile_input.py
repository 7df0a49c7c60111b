"""Hostile input is refused with a clear message or rendered harmless: compression bombs,
huge or deeply nested queries, markup and escape sequences in crawled titles, bad settings."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from config.limits import MAX_FIELD_CHARS, MAX_PAGE_BYTES, MAX_QUERY_DEPTH, MAX_QUERY_TERMS, MAX_TAGS
from crawler.registry import RegistryError, load_registry
from pipelines.extraction.page import PageTooLarge, decode_html
from pipelines.fingerprint import content_hash
from pipelines.index import write_batch
from pipelines.normalize import normalize_article
from search.article import Article
from search.query import QueryError, parse
from search.schema import alias_name
from tests.support import run_cli


def test_a_gzip_bomb_is_refused_without_unpacking_it(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.gz"
    with gzip.open(bomb, "wb") as packed:  # 400 MB of spaces in about 400 KB, written 1 MB at a time
        for _ in range(40 * MAX_PAGE_BYTES >> 20):
            packed.write(b" " * (1 << 20))
    # In a process allowed 200 MB beyond what its imports take: unpacking the bomb would fail
    # there with MemoryError instead of being refused.
    probe = (
        "import resource, sys\n"
        "from pipelines.extraction.page import PageTooLarge, decode_html\n"
        "status = open('/proc/self/status').read().splitlines()\n"
        "size = next(int(line.split()[1]) for line in status if line.startswith('VmSize'))\n"
        "limit = (size + 200 * 1024) * 1024\n"
        "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
        "try:\n    decode_html(open(sys.argv[1], 'rb').read(), 'text/html')\n"
        "except PageTooLarge:\n    print('refused')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(bomb)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.stdout.strip() == "refused", result.stderr[-500:]
    with pytest.raises(PageTooLarge):
        decode_html(gzip.compress(b" " * (MAX_PAGE_BYTES + 1)), "text/html")
    assert decode_html(gzip.compress("<p>Công đoàn</p>".encode()), None) == "<p>Công đoàn</p>"
    # A download cut before the gzip trailer still gives the page it holds.
    page = "<p>Công đoàn chăm lo Tết cho đoàn viên</p>" * 500
    assert decode_html(gzip.compress(page.encode())[:-8], None) == page


def test_a_gzip_bomb_given_to_extract_is_one_error_line(tmp_path: Path) -> None:
    bomb = tmp_path / "page.html.gz"
    bomb.write_bytes(gzip.compress(b" " * (MAX_PAGE_BYTES * 3)))
    result = run_cli("extract", "--json", str(bomb), env={**os.environ, "NEWSMON_DATA_DIR": str(tmp_path)})
    assert result.returncode == 1
    [line] = [json.loads(x) for x in result.stdout.splitlines()]
    assert "PageTooLarge" in line["error"]


@pytest.mark.parametrize(
    "query",
    [
        "(" * (MAX_QUERY_DEPTH + 1) + "lương" + ")" * (MAX_QUERY_DEPTH + 1),
        " OR ".join(f"từ{n}" for n in range(MAX_QUERY_TERMS + 1)),
        "công đoàn " * 1000,
    ],
)
def test_oversized_queries_get_a_clear_message(query: str) -> None:
    with pytest.raises(QueryError, match="truy vấn"):
        parse(query)


def test_the_deepest_allowed_query_still_parses() -> None:
    parse("(" * MAX_QUERY_DEPTH + "lương" + ")" * MAX_QUERY_DEPTH)


def test_a_registry_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "sites.yaml"
    path.write_bytes("sites:\n  - name: cd\n    url: https://công-đoàn.vn/\n".encode("cp1258"))
    with pytest.raises(RegistryError, match="không phải văn bản UTF-8"):
        load_registry(path)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NEWSMON_ES_URL", "garbage"),
        ("NEWSMON_MAIL_FROM", "a@b.vn\r\nBcc: x@y.vn"),
        ("NEWSMON_SMTP_PORT", "port"),
    ],
)
def test_a_bad_setting_is_named_as_the_user_set_it(tmp_path: Path, variable: str, value: str) -> None:
    env = {**os.environ, "NEWSMON_DATA_DIR": str(tmp_path), variable: value}
    result = run_cli("alerts", "list", env=env)
    assert result.returncode == 2
    assert variable in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unwritable_data_dir_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("alerts", "list", env={**os.environ, "NEWSMON_DATA_DIR": "/proc/newsmon"})
    assert result.returncode == 2
    assert "NEWSMON_DATA_DIR" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.es
def test_crawled_markup_and_escape_sequences_never_reach_the_terminal(
    env: dict[str, str], es: Elasticsearch
) -> None:
    title = "Nợ lương [/] [link=https://x.vn]bấm[/link] \x1b[31mđỏ\x1b[0m"
    article = normalize_article(
        Article(
            url="https://cd.example.vn/no-luong-1001.html",
            site="cd",
            title=title,
            text="Công nhân bị nợ lương ba tháng. \x1b]8;;https://x.vn\x07",
            published="2021-12-08T08:00:00+07:00",
        ),
        "cd.example.vn",
    )
    article.content_hash = content_hash(article.text)
    write_batch(es, env["NEWSMON_INDEX_PREFIX"], [article])
    es.indices.refresh(index=alias_name(env["NEWSMON_INDEX_PREFIX"]))
    result = run_cli("search", "nợ lương", env=env)
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert "[/] [link=https://x.vn]bấm[/link]" in result.stdout  # shown as typed, not interpreted
    deep = run_cli("search", "lương", "--page", "1001", "--limit", "10", env=env)
    assert deep.returncode == 2
    assert "10.000" in deep.stderr
    assert "Traceback" not in deep.stderr


@pytest.mark.es
def test_an_alert_elasticsearch_refuses_is_not_saved(env: dict[str, str], es: Elasticsearch) -> None:
    from search.schema import setup

    index = setup(es, env["NEWSMON_INDEX_PREFIX"])
    es.indices.close(index=index)  # every search of it is refused now
    try:
        refused = run_cli(
            "alerts", "add", "--name", "Nợ lương", "--query", "nợ lương", "--email", "a@cd.vn", env=env
        )
        assert refused.returncode == 2
        assert "Elasticsearch từ chối truy vấn này" in refused.stderr
        assert json.loads(run_cli("alerts", "list", "--json", env=env).stdout) == []
    finally:
        es.indices.open(index=index)
    added = run_cli(
        "alerts", "add", "--name", "Nợ lương", "--query", "nợ lương", "--email", "a@cd.vn", env=env
    )
    assert added.returncode == 0, added.stderr


def _flat_page(elements: int) -> bytes:
    title = "Công đoàn chăm lo Tết cho người lao động"
    text = "<p>" + "Công đoàn cơ sở chăm lo đời sống đoàn viên trong dịp Tết. " * 6 + "</p>"
    return (
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1>{text}"
        + "<div><b></b></div>" * (elements // 2)
        + "</body></html>"
    ).encode()


def test_a_page_of_too_many_elements_is_refused_before_any_work(tmp_path: Path) -> None:
    import os

    from config.limits import MAX_ELEMENTS
    from pipelines.extraction.page import PageTooComplex, extract_page

    assert extract_page(_flat_page(2_000), "https://a.vn/tin-1234.html") is not None
    with pytest.raises(PageTooComplex, match="elements"):
        extract_page(_flat_page(2 * MAX_ELEMENTS), "https://a.vn/tin-1234.html")
    page = tmp_path / "many.html"
    page.write_bytes(_flat_page(200_000))
    result = run_cli(
        "extract",
        str(page),
        "--url",
        "https://a.vn/tin-1234.html",
        "--json",
        env={**os.environ, "NEWSMON_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.returncode == 1
    assert "PageTooComplex" in json.loads(result.stdout)["error"]
    assert "Traceback" not in result.stderr


def test_a_page_that_takes_too_long_gives_up_within_its_budget() -> None:
    import time

    from pipelines.extraction.page import PageTooComplex, work_budget

    def endless() -> None:
        with work_budget(0.2):
            while True:  # work that would never end
                sum(range(1000))

    start = time.process_time()
    with pytest.raises(PageTooComplex, match="CPU"):
        endless()
    assert time.process_time() - start < 2


@pytest.mark.es
def test_oversized_fields_never_make_elasticsearch_refuse_an_article(
    es: Elasticsearch, env: dict[str, str]
) -> None:

    huge = Article(
        url="https://cd.example.vn/bai-qua-co-1234.html",
        site="cd",
        title="Tiêu đề " * 500,
        text="Nội dung bài viết công đoàn. " * 30_000,
        author="Tác giả " * 6_000,
        tags=["từ khóa dài " * 40] * 120,
        published="2024-05-03T08:00:00+07:00",
    )
    article = normalize_article(huge, "cd.example.vn")
    article.content_hash = content_hash(article.text)
    assert len(article.author or "") <= MAX_FIELD_CHARS["author"]
    assert len(article.tags) == MAX_TAGS
    written = write_batch(es, env["NEWSMON_INDEX_PREFIX"], [article])
    assert written.new == 1
    es.indices.refresh(index=alias_name(env["NEWSMON_INDEX_PREFIX"]))
    assert es.count(index=alias_name(env["NEWSMON_INDEX_PREFIX"]))["count"] == 1
