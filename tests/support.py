"""Helpers the tests share (fixtures live in conftest.py): the CLI as a user runs it, a
registry for a generated site, and a small search corpus indexed through the crawl's path."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import yaml
from elasticsearch import Elasticsearch

from crawler.registry import load_registry
from crawler.samples.server import SampleSite
from pipelines.extraction.siterules import ExtractRules
from pipelines.fingerprint import content_hash
from pipelines.index import write_batch
from pipelines.journal import Journal
from pipelines.normalize import normalize_article
from search.article import Article
from search.schema import alias_name

NEWSMON = str(Path(sys.executable).with_name("newsmon"))
ROOT = Path(__file__).resolve().parent.parent
FIXTURE_PAGES = ROOT / "tests" / "fixtures" / "pages"
FIXTURE_REGISTRY = ROOT / "tests" / "fixtures" / "sites.yaml"
SAMPLE_SITES = ROOT / "crawler" / "samples" / "sites"


def fixture_rules(page: Path) -> ExtractRules | None:
    """The `extract:` rules the fixture registry gives the template a stored page belongs to."""
    site = next((s for s in load_registry(FIXTURE_REGISTRY) if s.name == page.parent.name), None)
    return site.extract if site is not None else None


def run_cli(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run the installed `newsmon` command as a user would."""
    return subprocess.run(
        [NEWSMON, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def site_registry(env: dict[str, str], site: SampleSite, **sources: list[str]) -> None:
    """A registry with the generated site only, its sources (`sitemaps=["/sitemap.xml"]`...)."""
    path = Path(env["NEWSMON_DATA_DIR"]).parent / "sites.yaml"
    entry = {
        "name": "gen",
        "url": site.url,
        **{k: [site.url + v.lstrip("/") for v in vs] for k, vs in sources.items()},
    }
    path.write_text(yaml.safe_dump({"sites": [entry]}), encoding="utf-8")
    env["NEWSMON_CONFIG"] = str(path)


def free_port() -> int:
    """A loopback port nothing listens on right now (for a server a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def host_of(site: SampleSite) -> str:
    return site.url.split("/")[2]


CORPUS = {
    "no-luong": (
        "Công nhân bị nợ lương ba tháng",
        "Hơn 300 công nhân Công ty may bị nợ lương, công đoàn đề nghị doanh nghiệp trả lương trước Tết.",
    ),
    "dinh-cong": (
        "Đình công tại khu công nghiệp",
        "Công nhân ngừng việc tập thể vì doanh nghiệp chậm trả lương; công đoàn tham gia đối thoại.",
    ),
    "nghi-quyet": (
        "Triển khai Nghị quyết 02 về đổi mới công đoàn",
        "Hội nghị quán triệt Nghị quyết 02-NQ/TW, định hướng đổi mới tổ chức công đoàn.",
    ),
    "hoa-giai": (
        "Hoà giải tranh chấp lao động ở Thuỷ Nguyên",
        "Hòa giải viên lao động huyện Thủy Nguyên đã hoà giải thành 12 vụ tranh chấp.",
    ),
    "tet": (
        "Thưởng Tết năm nay",
        "Nhiều doanh nghiệp công bố mức thưởng Tết; công đoàn theo dõi việc chi trả.",
    ),
    "script": (
        "Cảnh báo <script> giả mạo",
        "Trang giả mạo chèn mã <script>alert(1)</script> vào tin nhắn gửi công nhân; công đoàn khuyến cáo.",
    ),
}

GRAMMAR = [
    ("công nhân lương", {"no-luong", "dinh-cong"}),  # every word required
    ('"nợ lương"', {"no-luong"}),  # exact phrase
    ("no luong", {"no-luong"}),  # no diacritics: any diacritics
    ("định", {"nghi-quyet"}),  # diacritics: only those
    ("đình", {"dinh-cong"}),
    ("dinh", {"dinh-cong", "nghi-quyet"}),
    ("hòa giải", {"hoa-giai"}),  # old/new tone placement equal
    ("thuỷ nguyên", {"hoa-giai"}),
    ("HOÀ GIẢI", {"hoa-giai"}),  # case never matters
    ('tet OR "nghi quyet"', {"tet", "nghi-quyet", "no-luong"}),  # "trước Tết" counts
    ("công đoàn -lương", {"nghi-quyet", "tet", "script"}),
    ('công đoàn -"nợ lương"', {"dinh-cong", "nghi-quyet", "tet", "script"}),
    ("(đình công OR nợ) lương", {"dinh-cong", "no-luong"}),
    ("công đoàn -(tet OR script)", {"dinh-cong", "nghi-quyet"}),
    ("tết or", set()),  # lower-case "or" is a word
]


def index_corpus(es: Elasticsearch, prefix: str) -> None:
    """CORPUS through the crawl's normalize and bulk-write path, searchable on return."""
    docs = []
    for slug, (title, text) in CORPUS.items():
        article = normalize_article(
            Article(
                url=f"https://cd.example.vn/{slug}-1001.html",
                site="cd",
                title=title,
                text=text,
                published="2021-12-08T08:00:00+07:00",
                fetched_at="2021-12-08T09:00:00+00:00",
            ),
            "cd.example.vn",
        )
        article.content_hash = content_hash(article.text)
        docs.append(article)
    write_batch(es, prefix, docs)
    es.indices.refresh(index=alias_name(prefix))


def indexed_count(es: Elasticsearch, env: dict[str, str]) -> int:
    """Articles in the test's index, once it has been refreshed."""
    alias = alias_name(env["NEWSMON_INDEX_PREFIX"])
    es.indices.refresh(index=alias)
    return int(es.count(index=alias)["count"])


def journal_waiting(env: dict[str, str]) -> int:
    """Articles waiting in the test's journal for Elasticsearch."""
    journal = Journal(Path(env["NEWSMON_DATA_DIR"]) / "spool", env.get("NEWSMON_STATE_URL"))
    try:
        return journal.count()
    finally:
        journal.close()
