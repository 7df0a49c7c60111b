"""A web app over a small archive in real Elasticsearch: stories on two sites (one story
republished), a hostile page, a registry of loopback sites, an alert store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import yaml
from elasticsearch import Elasticsearch
from fastapi import FastAPI
from fastapi.testclient import TestClient

from config.settings import Settings
from crawler.registry import load_registry
from crawler.web import make_web_app
from pipelines.fingerprint import content_hash
from pipelines.index import write_batch
from pipelines.normalize import normalize_article
from search.article import Article
from search.schema import alias_name, with_matching_fields

TOKEN = "mot-ma-truy-cap-du-dai"

# (slug, site, title, text, published): "nha-o" appears on both sites with the same text.
STORIES = [
    (
        "nha-o",
        "cd",
        "Công nhân được mua nhà ở xã hội",
        "Liên đoàn Lao động tỉnh phối hợp với chủ đầu tư giúp công nhân mua nhà ở xã hội với giá ưu đãi; "
        "hơn 200 đoàn viên đã đăng ký trong tuần đầu.",
        "2026-11-20T08:00:00+07:00",
    ),
    (
        "nha-o-copy",
        "ld",
        "Công nhân được mua nhà ở xã hội",
        "Liên đoàn Lao động tỉnh phối hợp với chủ đầu tư giúp công nhân mua nhà ở xã hội với giá ưu đãi; "
        "hơn 200 đoàn viên đã đăng ký trong tuần đầu.",
        "2026-11-21T09:30:00+07:00",
    ),
    (
        "luong",
        "cd",
        "Doanh nghiệp nợ lương, công đoàn vào cuộc",
        "Công đoàn cơ sở đã đối thoại với doanh nghiệp về khoản nợ lương ba tháng của 300 công nhân.",
        "2026-11-22T10:00:00+07:00",
    ),
    (
        "tet",
        "ld",
        "Thưởng Tết năm nay",
        "Nhiều doanh nghiệp công bố mức thưởng Tết; công đoàn theo dõi việc chi trả đúng hạn.",
        "2026-11-25T07:15:00+07:00",
    ),
]
# Crawled text is hostile: these must render inert on every page.
HOSTILE_TITLE = 'Tin <script>alert("t")</script><img src=x onerror=alert(1)>'
HOSTILE_TEXT = (
    'Đoạn có <script>alert("b")</script> và <a href="javascript:alert(2)">liên kết</a> '
    "<img src=x onerror=alert(3)> về công đoàn."
)
HOSTILE_URL = "javascript:alert(4)"


def index_stories(es: Elasticsearch, prefix: str) -> None:
    """STORIES through the crawl's write path (dedup included), then the hostile article
    written straight into the index (its address could not come from a crawl)."""
    docs = []
    for slug, site, title, text, published in STORIES:
        host = f"{site}.example.vn"
        article = normalize_article(
            Article(
                url=f"https://{host}/{slug}-1001.html",
                site=site,
                title=title,
                text=text,
                published=published,
                fetched_at="2026-11-26T00:00:00+00:00",
            ),
            host,
        )
        article.content_hash = content_hash(article.text)
        docs.append(article)
    write_batch(es, prefix, docs)
    put_doc(
        es,
        prefix,
        "hostile",
        url=HOSTILE_URL,
        canonical_url=HOSTILE_URL,
        site="cd",
        title=HOSTILE_TITLE,
        text=HOSTILE_TEXT,
        published="2026-11-24T12:00:00+07:00",
        indexed_at="2026-11-26T00:00:00+00:00",
    )


def put_doc(es: Elasticsearch, prefix: str, doc_id: str, **fields: str) -> None:
    """An article written straight into the index (searchable at once), as hostile or odd as
    a test needs; its matching fields derived as the crawl derives them."""
    es.index(
        index=alias_name(prefix),
        id=doc_id,
        refresh=True,
        document=with_matching_fields({"cluster": doc_id, **fields}),
    )


def write_sites(path: Path, port: int = 9) -> Path:
    """A registry of two sites (on loopback; nothing listens unless a test serves them)."""
    sites = [{"name": name, "url": f"http://127.0.0.1:{port}/{name}/"} for name in ("cd", "ld")]
    path.write_text(yaml.safe_dump({"sites": sites}), encoding="utf-8")
    return path


@pytest.fixture
def web_settings(env: dict[str, str], tmp_path: Path) -> Settings:
    registry = write_sites(tmp_path / "sites.yaml")
    env["NEWSMON_CONFIG"] = str(registry)
    return Settings(
        es_url=env["NEWSMON_ES_URL"],
        index_prefix=env["NEWSMON_INDEX_PREFIX"],
        data_dir=Path(env["NEWSMON_DATA_DIR"]),
        registry=registry,
        web_token=TOKEN,
        web_hosts=["testserver"],
    )  # the name Starlette's test client sends


@pytest.fixture
def archive(es: Elasticsearch, web_settings: Settings) -> Settings:
    index_stories(es, web_settings.index_prefix)
    return web_settings


def make_app(settings: Settings) -> FastAPI:
    return make_web_app(settings, load_registry(settings.registry))


@pytest.fixture
def client(archive: Settings) -> Iterator[TestClient]:
    with TestClient(make_app(archive)) as test_client:
        yield test_client


def form_token(client: httpx2.Client, path: str = "/login") -> str:
    """The CSRF token the page's forms carry (bound to this browser and its session)."""
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


def sign_in(client: httpx2.Client) -> str:
    """Sign in through the form as a user does; returns the CSRF token for later forms."""
    answer = client.post(
        "/login", data={"token": TOKEN, "csrf": form_token(client), "next": "/alerts"}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    return form_token(client, "/alerts")


BEARER = {"Authorization": f"Bearer {TOKEN}"}
