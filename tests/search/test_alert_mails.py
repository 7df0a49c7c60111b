"""Mails people can act on: stories newest first with their date and original, links to the
story and alert pages, a signed one-click unsubscribe, dated digests; `alerts test` tells
what matched from what a run would send now."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from config.settings import Settings
from pipelines.fingerprint import content_hash
from pipelines.index import write_batch
from pipelines.normalize import normalize_article
from search.alerts import unsubscribe
from search.alerts.job import run_alerts
from search.alerts.render import subject
from search.alerts.rules import Rule
from search.alerts.store import AlertStore
from search.article import Article
from search.schema import alias_name
from tests.search.web.conftest import make_app, write_sites
from tests.support import run_cli

PUBLIC = "https://newsmon.example.org"
TITLES = {"cd": "Báo Công đoàn mẫu", "tinh": "LĐLĐ tỉnh mẫu"}
# (url, site, title, published, text): three stories about wages, the last republished.
LEAD = "Công đoàn cơ sở đề nghị doanh nghiệp trả đủ tiền lương cho công nhân, "
ARTICLES = [
    (
        "https://cd.example.vn/luong-thang-1-1001.html",
        "cd",
        "Trả lương tháng 1 đúng hạn",
        "2025-02-10T08:00:00+07:00",
        LEAD + "hơn 1.200 người đã nhận lương tháng 1 trước kỳ nghỉ.",
    ),
    (
        "https://cd.example.vn/thuong-tet-1002.html",
        "cd",
        "Thưởng Tết và tiền lương",
        "2025-01-20T08:00:00+07:00",
        LEAD + "mức thưởng Tết bình quân bằng một tháng lương, cao hơn năm trước.",
    ),
    (
        "https://tinh.example.vn/tin-tong-hop/no-luong-5534.html",
        "tinh",
        "[Tin tổng hợp] Nợ lương kéo dài",
        "2025-03-02T09:00:00+07:00",
        LEAD + "khoản tiền lương còn nợ của ba tháng được trả dần trong quý hai theo biên bản đối thoại.",
    ),
    (
        "https://cd.example.vn/no-luong-keo-dai-1003.html",
        "cd",
        "Doanh nghiệp nợ lương kéo dài",
        "2025-03-01T15:00:00+07:00",
        LEAD + "khoản tiền lương còn nợ của ba tháng được trả dần trong quý hai theo biên bản đối thoại.",
    ),
]


def _index(es: Elasticsearch, prefix: str) -> None:
    for url, site, title, published, text in ARTICLES:  # one at a time: the copy is indexed first
        article = normalize_article(
            Article(
                url=url,
                site=site,
                title=title,
                text=text,
                published=published,
                fetched_at="2025-03-03T00:00:00+00:00",
            ),
            url.split("/")[2],
        )
        article.content_hash = content_hash(article.text)
        write_batch(es, prefix, [article])
    es.indices.refresh(index=alias_name(prefix))


@pytest.fixture
def settings(env: dict[str, str], tmp_path: Path) -> Settings:
    registry = write_sites(tmp_path / "sites.yaml")
    env.update(NEWSMON_CONFIG=str(registry), NEWSMON_PUBLIC_URL=PUBLIC)
    return Settings(
        es_url=env["NEWSMON_ES_URL"],
        index_prefix=env["NEWSMON_INDEX_PREFIX"],
        data_dir=Path(env["NEWSMON_DATA_DIR"]),
        registry=registry,
        public_url=PUBLIC,
    )


@pytest.fixture
def mailed(es: Elasticsearch, settings: Settings) -> list[email.message.EmailMessage]:
    """One instant alert with two recipients, run over the stories above (outbox: no SMTP)."""
    store = AlertStore(settings.resolved_data_dir)
    try:
        store.add("Tiền lương", "tiền lương", ["a@cd.example.vn", "b@cd.example.vn"], [], mode="instant")
        _index(es, settings.index_prefix)
        run_alerts(es, store, settings, site_titles=TITLES)
    finally:
        store.close()
    outbox = sorted((settings.resolved_data_dir / "outbox").glob("*.eml"))
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in outbox]


def _plain(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.mark.es
def test_mail_lists_originals_newest_first_with_links(mailed: list[email.message.EmailMessage]) -> None:
    message = next(m for m in mailed if m["To"] == "a@cd.example.vn")
    text = _plain(message)
    titles = [line.split(". ", 1)[1] for line in text.splitlines() if line[:1].isdigit() and ". " in line[:4]]
    assert titles == [
        "Doanh nghiệp nợ lương kéo dài",
        "Trả lương tháng 1 đúng hạn",
        "Thưởng Tết và tiền lương",
    ]
    assert "01/03/2025 15:00" in text
    assert "Báo Công đoàn mẫu" in text
    assert "Đăng lại trên: LĐLĐ tỉnh mẫu (https://tinh.example.vn/tin-tong-hop/no-luong-5534.html)" in text
    assert f"Xem trong newsmon: {PUBLIC}/story/" in text
    assert f"Sửa cảnh báo: {PUBLIC}/alerts/Ti%E1%BB%81n%20l%C6%B0%C6%A1ng/edit" in text
    link = message["List-Unsubscribe"].strip("<>")
    assert link.startswith(f"{PUBLIC}/unsubscribe?")
    assert "b%40cd" not in link
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in text  # the same link in the footer


@pytest.mark.es
def test_unsubscribe_link_takes_off_exactly_that_recipient(
    mailed: list[email.message.EmailMessage], settings: Settings
) -> None:
    links = {m["To"]: m["List-Unsubscribe"].strip("<>").removeprefix(PUBLIC) for m in mailed}
    with TestClient(make_app(settings), base_url="http://127.0.0.1") as client:
        forged = links["a@cd.example.vn"].replace("a%40cd", "b%40cd")
        assert client.post(forged).status_code == 403
        assert client.get(links["a@cd.example.vn"]).status_code == 200  # a button, no change yet
        _, _, recipients = _rule(settings)
        assert recipients == ["a@cd.example.vn", "b@cd.example.vn"]
        answer = client.post(links["a@cd.example.vn"], data={"List-Unsubscribe": "One-Click"})
        assert answer.status_code == 200
        assert "Đã hủy" in answer.text
        assert _rule(settings) == ("Tiền lương", False, ["b@cd.example.vn"])
        client.post(links["b@cd.example.vn"])  # the last recipient: the alert pauses, nothing lost
        assert _rule(settings) == ("Tiền lương", True, ["b@cd.example.vn"])


def _rule(settings: Settings) -> tuple[str, bool, list[str]]:
    store = AlertStore(settings.resolved_data_dir)
    try:
        rule = store.get("Tiền lương")
    finally:
        store.close()
    return rule.name, rule.paused, rule.emails


@pytest.mark.es
def test_alerts_test_after_a_run_tells_matches_from_what_would_be_sent(
    mailed: list[email.message.EmailMessage], env: dict[str, str]
) -> None:
    assert len(mailed) == 2
    result = run_cli("alerts", "test", "Tiền lương", env=env)
    assert result.returncode == 0, result.stderr
    assert "3 bài khớp" in result.stderr
    assert "0 bài sẽ được gửi" in result.stderr
    assert result.stdout.count("[đã gửi]") == 3


def test_a_digest_subject_says_its_day() -> None:
    rule = Rule(
        name="Bản tin",
        query="công đoàn",
        emails=["a@cd.example.vn"],
        sites=[],
        mode="daily",
        watermark=datetime.now(UTC).isoformat(),
    )
    assert subject(rule, 4, day="2026-12-02") == "[newsmon] Bản tin: bản tin ngày 02/12/2026, 4 bài"


def test_a_forged_signature_is_refused(tmp_path: Path) -> None:
    secret = unsubscribe.key(tmp_path)
    assert unsubscribe.key(tmp_path) == secret  # kept, not drawn again
    sig = unsubscribe.signature(secret, "Tiền lương", "a@cd.example.vn")
    assert unsubscribe.valid(secret, "Tiền lương", "a@cd.example.vn", sig)
    assert not unsubscribe.valid(secret, "Tiền lương", "b@cd.example.vn", sig)
    assert not unsubscribe.valid(unsubscribe.key(tmp_path / "other"), "Tiền lương", "a@cd.example.vn", sig)
