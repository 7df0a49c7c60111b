"""Keyword alerts by e-mail against a real SMTP server (aiosmtpd on loopback): instant mail
after a crawl, exactly once per story, syndicated copies once, SMTP outages, daily digests,
rule validation, header injection and HTML escaping."""

from __future__ import annotations

import email
import email.policy
import json
import os
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from config.settings import Settings
from config.vntime import VN_TZ
from crawler.samples.server import SampleSite
from crawler.samples.sitegen import generate_site, write_article, write_indexes
from search.alerts import evaluate as alert_evaluation
from search.alerts import ledger
from search.alerts.evaluate import Match, evaluate
from search.alerts.job import run_alerts
from search.alerts.render import mail_renderer, render
from search.alerts.rules import AlertError, Rule
from search.alerts.store import AlertStore
from search.schema import alias_name
from tests.support import GRAMMAR, host_of, index_corpus, run_cli, site_registry


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


def _smtp(port: int) -> tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, inbox


@pytest.fixture
def smtp(unused_port: int, env: dict[str, str]) -> Iterator[Inbox]:
    controller, inbox = _smtp(unused_port)
    env.update(NEWSMON_SMTP_HOST="127.0.0.1", NEWSMON_SMTP_PORT=str(unused_port))
    yield inbox
    controller.stop()


def _cli(env: dict[str, str], *args: str, code: int = 0) -> str:
    result = run_cli(*args, env=env)
    assert result.returncode == code, result.stderr
    return result.stdout + result.stderr


def _body(message: email.message.EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    return part.get_content()


@pytest.mark.es
def test_instant_alert_after_crawl_each_story_once(
    registry: Path, env: dict[str, str], es: object, smtp: Inbox
) -> None:
    _cli(
        env,
        "alerts",
        "add",
        "--name",
        "Nợ lương",
        "--query",
        "nợ lương",
        "--email",
        "a@cd.example.vn",
        "--email",
        "b@cd.example.vn",
    )
    _cli(
        env,
        "alerts",
        "add",
        "--name",
        "Đại hội XII",
        "--query",
        '"nghị quyết đại hội xii"',
        "--email",
        "a@cd.example.vn",
    )
    _cli(env, "crawl")
    by_key = {(m["Subject"], m["To"]): m for m in smtp.messages}
    assert len(smtp.messages) == 3
    wage = by_key[("[newsmon] Nợ lương: 2 bài mới", "a@cd.example.vn")]
    assert ("[newsmon] Nợ lương: 2 bài mới", "b@cd.example.vn") in by_key
    assert wage.get_content_type() == "multipart/alternative"
    text, page = _body(wage, "plain"), _body(wage, "html")
    assert "Công đoàn Dệt may đối thoại với doanh nghiệp về tình trạng nợ lương công nhân" in text
    assert "<mark>nợ lương</mark>" in page  # the word marked whole
    stamp = next(line for line in text.splitlines() if "congdoan-mau" in line)
    assert datetime.strptime(stamp.split(" - ")[1].strip(), "%d/%m/%Y %H:%M")
    # The story two sample sites published is one entry, the other site named.
    story = by_key[("[newsmon] Đại hội XII: 1 bài mới", "a@cd.example.vn")]
    assert "Đăng lại trên" in _body(story, "plain")

    _cli(env, "crawl")  # nothing new: nothing sent
    assert len(smtp.messages) == 3
    _cli(env, "alerts", "run")
    assert len(smtp.messages) == 3


def _settings(env: dict[str, str]) -> Settings:
    """In-process settings for this test's index, data directory and SMTP server (if any)."""
    return Settings(
        es_url=env["NEWSMON_ES_URL"],
        index_prefix=env["NEWSMON_INDEX_PREFIX"],
        data_dir=Path(env["NEWSMON_DATA_DIR"]),
        smtp_host=env.get("NEWSMON_SMTP_HOST"),
        smtp_port=env.get("NEWSMON_SMTP_PORT"),
    )


def _slugs(es, env: dict[str, str]) -> dict[str, str]:
    """Document id -> the corpus slug in its URL."""
    hits = es.search(index=alias_name(env["NEWSMON_INDEX_PREFIX"]), size=100, source=["url"])["hits"]["hits"]
    return {h["_id"]: h["_source"]["url"].split("/")[-1].rsplit("-", 1)[0] for h in hits}


@pytest.mark.es
def test_every_grammar_form_alerts_on_what_search_finds(
    env: dict[str, str], es, smtp: Inbox, engine: str | None
) -> None:
    settings = _settings(env)
    store = AlertStore(settings.resolved_data_dir, engine)
    for number, (query, _) in enumerate(GRAMMAR):
        store.add(f"rule {number}", query, ["a@cd.example.vn"], [], mode="instant")
    index_corpus(es, settings.index_prefix)  # indexed after the rules exist

    found = evaluate(es, settings.index_prefix, store.rules(), datetime.now(UTC))
    slugs = _slugs(es, env)
    for number, (query, expected) in enumerate(GRAMMAR):
        assert {slugs[m.article_id] for m in found[f"rule {number}"].matches} == expected, query

    report = run_alerts(es, store, settings)
    assert report["sent"] == sum(1 for _, expected in GRAMMAR if expected)
    subjects = {m["Subject"] for m in smtp.messages}
    for number, (_, expected) in enumerate(GRAMMAR):
        if expected:
            assert f"[newsmon] rule {number}: {len(expected)} bài mới" in subjects
    assert run_alerts(es, store, settings)["sent"] == 0
    store.close()


@pytest.mark.es
def test_a_long_list_is_paged_and_split_into_numbered_mails(
    env: dict[str, str], es, smtp: Inbox, monkeypatch: pytest.MonkeyPatch, engine: str | None
) -> None:
    monkeypatch.setattr(alert_evaluation, "PAGE_SIZE", 2)  # five matches: three pages
    monkeypatch.setattr(ledger, "MAIL_STORIES", 2)  # and three mails
    settings = _settings(env)
    store = AlertStore(settings.resolved_data_dir, engine)
    store.add("Công đoàn", "công đoàn", ["a@cd.example.vn"], [], mode="instant")
    index_corpus(es, settings.index_prefix)
    report = run_alerts(es, store, settings)
    assert report["sent"] == 3, report
    assert sorted(m["Subject"] for m in smtp.messages) == [
        "[newsmon] Công đoàn: 1 bài mới (phần 3/3)",
        "[newsmon] Công đoàn: 2 bài mới (phần 1/3)",
        "[newsmon] Công đoàn: 2 bài mới (phần 2/3)",
    ]
    titles = [
        line for m in smtp.messages for line in _body(m, "plain").splitlines() if line[:3] in {"1. ", "2. "}
    ]
    assert len(titles) == len(set(titles)) == 5
    assert run_alerts(es, store, settings)["sent"] == 0
    store.close()


@pytest.mark.es
def test_a_rule_elasticsearch_refuses_is_reported_and_retried_the_others_go_out(
    env: dict[str, str], es, smtp: Inbox
) -> None:
    settings = _settings(env)
    store = AlertStore(settings.resolved_data_dir)
    store.add("Lương", "lương", ["a@cd.example.vn"], [], mode="instant")
    stamp = datetime.now(UTC).isoformat()
    with store.db:  # saved by an earlier version, before queries had limits: Elasticsearch refuses it
        store.db.execute(
            "INSERT INTO rules (name, query, emails, sites, mode, created_at, watermark) "
            "VALUES (?, ?, ?, ?, 'instant', ?, ?)",
            (
                "Danh sách dài",
                " OR ".join(f"từ{i}" for i in range(5000)),
                '["a@cd.example.vn"]',
                "[]",
                stamp,
                stamp,
            ),
        )
    huge = store.get("Danh sách dài")
    index_corpus(es, settings.index_prefix)
    report = run_alerts(es, store, settings)
    assert "truy vấn quá dài" in report["alerts"]["Danh sách dài"]["error"]
    assert [m["Subject"] for m in smtp.messages] == ["[newsmon] Lương: 2 bài mới"]
    assert store.get("Danh sách dài").watermark == huge.watermark  # nothing skipped for next time
    store.close()
    output = _cli(env, "alerts", "run", code=1)
    assert "chưa xét được cảnh báo 'Danh sách dài'" in output
    assert "1 cảnh báo chưa xét được" in output


@pytest.mark.es
def test_a_decided_mail_survives_a_crash_before_sending(env: dict[str, str], es, smtp: Inbox) -> None:
    settings = _settings(env)
    store = AlertStore(settings.resolved_data_dir)
    store.add("Lương", "lương", ["a@cd.example.vn"], [], mode="instant")
    index_corpus(es, settings.index_prefix)
    now = datetime.now(UTC)
    found = evaluate(es, settings.index_prefix, store.rules(), now)["Lương"]
    store.decide(
        store.get("Lương"), found.matches, mail_renderer(es, settings), watermark=found.watermark, now=now
    )
    store.db.close()  # the process dies here: decided and queued, not delivered
    assert smtp.messages == []

    _cli(env, "alerts", "run")  # a new process delivers the queued mail
    _cli(env, "alerts", "run")
    assert [m["Subject"] for m in smtp.messages] == ["[newsmon] Lương: 2 bài mới"]


@pytest.mark.es
def test_second_crawl_mails_only_new_articles_not_updated_ones(
    site: SampleSite, env: dict[str, str], es, smtp: Inbox
) -> None:
    articles = generate_site(site.root, 10, host_of(site))
    site_registry(env, site, sitemaps=["/sitemap.xml"])
    _cli(env, "alerts", "add", "--name", "LĐLĐ", "--query", '"LĐLĐ tỉnh"', "--email", "a@cd.example.vn")
    _cli(env, "crawl")
    assert [m["Subject"] for m in smtp.messages] == ["[newsmon] LĐLĐ: 10 bài mới"]

    rng = random.Random(3)
    newer = [
        write_article(site.root, index, datetime(2021, 12, 9, 8 + index - 10), articles[:3], rng=rng)
        for index in (10, 11)
    ]
    changed = articles[4]
    write_article(site.root, 4, changed.published, articles[:3], rng=rng, edition=1)
    write_indexes(
        site.root, articles + newer, host_of(site), lastmod={changed.path: datetime(2021, 12, 10, 9, 30)}
    )
    summary = json.loads(run_cli("crawl", "--json", env=env).stdout)["gen"]
    assert (summary["new"], summary["updated"]) == (2, 1)
    assert len(smtp.messages) == 2
    second = smtp.messages[1]
    assert second["Subject"] == "[newsmon] LĐLĐ: 2 bài mới"
    text = _body(second, "plain")
    assert all(a.title in text for a in newer)
    assert changed.title not in text


@pytest.mark.es
def test_smtp_down_keeps_the_mail_and_sends_it_once_later(
    registry: Path, env: dict[str, str], es, unused_port: int
) -> None:
    env.update(NEWSMON_SMTP_HOST="127.0.0.1", NEWSMON_SMTP_PORT=str(unused_port))
    _cli(env, "alerts", "add", "--name", "Tết", "--query", "tet", "--email", "a@cd.example.vn")
    _cli(env, "crawl", "--site", "congdoan-mau")
    output = _cli(env, "alerts", "run", code=1)
    assert "1 thư chưa gửi được" in output
    controller, inbox = _smtp(unused_port)
    try:
        later = (datetime.now(UTC) + timedelta(hours=7)).isoformat()
        _cli(env, "alerts", "run", "--now", later)
        _cli(env, "alerts", "run", "--now", later)
        assert len(inbox.messages) == 1
        assert "Tết" in inbox.messages[0]["Subject"]
    finally:
        controller.stop()


@pytest.mark.es
def test_daily_digest_once_a_day_at_seven(registry: Path, env: dict[str, str], es, smtp: Inbox) -> None:
    _cli(
        env,
        "alerts",
        "add",
        "--name",
        "Công đoàn mỗi ngày",
        "--query",
        "công đoàn",
        "--email",
        "a@cd.example.vn",
        "--mode",
        "daily",
    )
    _cli(env, "crawl")
    assert smtp.messages == []  # a daily alert does not mail after a crawl
    preview = json.loads(_cli(env, "alerts", "test", "Công đoàn mỗi ngày", "--json").splitlines()[0])
    assert len(preview) >= 5
    assert all(row["title"] and row["url"].startswith("http://127.0.0.1:") for row in preview)
    assert smtp.messages == []  # `alerts test` sends nothing
    tomorrow = datetime.now(VN_TZ).date() + timedelta(days=1)

    def at(hour: int, minute: int, day: date = tomorrow) -> str:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VN_TZ).isoformat()

    _cli(env, "alerts", "run", "--now", at(6, 30))
    assert smtp.messages == []
    _cli(env, "alerts", "run", "--now", at(7, 5))
    assert len(smtp.messages) == 1
    digest = smtp.messages[0]
    assert digest["Subject"].startswith("[newsmon] Công đoàn mỗi ngày: bản tin ngày")
    assert _body(digest, "plain").count("\n1. ") == 1
    _cli(env, "alerts", "run", "--now", at(9, 0))
    next_day = tomorrow + timedelta(days=1)
    _cli(env, "alerts", "run", "--now", at(7, 5, next_day))  # nothing new: no mail
    assert len(smtp.messages) == 1


@pytest.mark.slow
def test_rules_are_validated_listed_and_removed(tmp_path: Path) -> None:
    registry = tmp_path / "sites.yaml"
    registry.write_text("sites:\n  - name: nld\n    url: https://nld.com.vn/\n", encoding="utf-8")
    env = {**os.environ, "NEWSMON_CONFIG": str(registry), "NEWSMON_DATA_DIR": str(tmp_path / "data")}
    _cli(
        env,
        "alerts",
        "add",
        "--name",
        "Lương",
        "--query",
        "lương -Tết",
        "--email",
        "a@cd.example.vn",
        "--site",
        "nld",
    )
    assert "đã có cảnh báo" in _cli(
        env, "alerts", "add", "--name", "Lương", "--query", "x", "--email", "a@cd.example.vn", code=2
    )
    assert "chưa được đóng" in _cli(
        env, "alerts", "add", "--name", "B", "--query", "(lương", "--email", "a@cd.example.vn", code=2
    )
    assert "e-mail" in _cli(env, "alerts", "add", "--name", "C", "--query", "x", "--email", "nobody", code=2)
    assert "không có trang nào tên" in _cli(
        env,
        "alerts",
        "add",
        "--name",
        "D",
        "--query",
        "x",
        "--email",
        "a@cd.example.vn",
        "--site",
        "laodong",
        code=2,
    )
    assert "--mode" in _cli(
        env,
        "alerts",
        "add",
        "--name",
        "E",
        "--query",
        "x",
        "--email",
        "a@cd.example.vn",
        "--mode",
        "hourly",
        code=2,
    )
    rows = json.loads(_cli(env, "alerts", "list", "--json").splitlines()[0])
    # The shape GET /api/alerts gives a signed-in reader (search.alerts.store.AlertView).
    assert datetime.fromisoformat(rows[0].pop("created_at")) <= datetime.now(UTC)
    assert rows == [
        {
            "name": "Lương",
            "query": "lương -Tết",
            "emails": ["a@cd.example.vn"],
            "recipients": 1,
            "sites": ["nld"],
            "mode": "instant",
            "paused": False,
            "last_sent": None,
            "last_stories": 0,
            "stories": 0,
            "refused": [],
        }
    ]
    _cli(env, "alerts", "remove", "Lương")
    assert "không có cảnh báo nào" in _cli(env, "alerts", "remove", "Lương", code=2)


def test_alert_names_cannot_inject_headers(tmp_path: Path, engine: str | None) -> None:
    store = AlertStore(tmp_path, engine)
    with pytest.raises(AlertError):
        store.add("Tin\r\nBcc: spy@example.org", "lương", ["a@cd.example.vn"], [], mode="instant")
    store.add("Tin", "lương", ["a@cd.example.vn"], [], mode="instant")
    with pytest.raises(AlertError, match="đã có cảnh báo tên 'Tin'"):  # a duplicate key, either engine
        store.add("Tin", "thưởng", ["b@cd.example.vn"], [], mode="daily")
    store.close()


def test_crawled_text_is_escaped_and_never_reaches_a_header() -> None:
    rule = Rule("Lương", "lương", ["a@cd.example.vn"], [], "instant", "2021-12-08T00:00:00+00:00")
    match = Match(
        "id1",
        "c1",
        [("luong", False)],
        "https://cd.example.vn/a-1001.html",
        "cd",
        "Tiêu đề\r\nBcc: spy@example.org <script>alert(1)</script>",
        "2021-12-08T01:40:00+00:00",
        "trả lương <img src=x onerror=alert(1)>",
    )
    raw = render(rule, "a@cd.example.vn", [match], "Lương|a@cd.example.vn|x", "newsmon@localhost")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Bcc"] is None
    assert set(message.keys()) <= {
        "Subject",
        "From",
        "To",
        "Date",
        "Message-ID",
        "X-Newsmon-Mail",
        "MIME-Version",
        "Content-Type",
    }
    page = _body(message, "html")
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "<img" not in page
    assert "<mark>lương</mark>" in page
    assert "08/12/2021 08:40" in _body(message, "plain")


def test_a_store_from_before_pausing_opens_with_its_rules_active(tmp_path: Path) -> None:
    import sqlite3

    db = sqlite3.connect(tmp_path / "alerts.sqlite")
    with db:  # the rules table as the version before pausing made it
        db.execute(
            "CREATE TABLE rules (name TEXT PRIMARY KEY, query TEXT NOT NULL, emails TEXT NOT NULL, "
            "sites TEXT NOT NULL, mode TEXT NOT NULL, created_at TEXT NOT NULL, "
            "watermark TEXT NOT NULL, last_digest TEXT)"
        )
        db.execute(
            "INSERT INTO rules VALUES ('Lương', 'lương', '[\"a@cd.example.vn\"]', '[]', 'instant', "
            "'2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00', NULL)"
        )
    db.close()
    store = AlertStore(tmp_path)
    try:
        (rule,) = store.rules()
        assert rule.name == "Lương"
        assert rule.paused is False
        assert store.set_paused("Lương", True).paused is True
    finally:
        store.close()
