"""The web app over HTTP (pages and JSON API) against real Elasticsearch: what a user reads
and changes, and what is refused."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient
from lxml import html as lxml_html

from config.settings import Settings
from search.alerts.job import run_alerts
from search.alerts.store import AlertShown, AlertStore
from search.web.service import CSV_HEADERS
from tests.search.web.conftest import BEARER, HOSTILE_TITLE, form_token, make_app, put_doc, sign_in
from tests.support import run_cli

pytestmark = pytest.mark.es


def test_search_without_diacritics_finds_the_story_once_with_its_copy(client: TestClient) -> None:
    answer = client.get("/api/search", params={"q": "nha o xa hoi", "facets": "true"})
    assert answer.status_code == 200
    result = answer.json()
    assert result["total"] == 1
    (hit,) = result["hits"]
    assert hit["title"] == "Công nhân được mua nhà ở xã hội"
    sites = {hit["site"], *(copy["site"] for copy in hit["duplicates"])}
    assert sites == {"cd", "ld"}
    assert "<mark>nhà ở xã hội</mark>" in hit["snippet"]
    # The story once, on the day of its first article; each site that carried it once.
    assert result["facets"] == {"day": {"2026-11-20": 1}, "site": {"cd": 1, "ld": 1}}


def test_search_page_shows_dates_copies_chart_and_top_sites(client: TestClient) -> None:
    page = client.get("/", params={"q": "cong doan OR nha o", "since": "20/11/2026", "until": "26/11/2026"})
    assert page.status_code == 200
    doc = lxml_html.fromstring(page.text)
    titles = [a.text_content() for a in doc.cssselect(".hit h2 a")]
    assert "Doanh nghiệp nợ lương, công đoàn vào cuộc" in titles
    assert "22/11/2026 10:00" in page.text  # day first, Vietnam time
    assert "Đăng lại trên" in page.text
    assert len(doc.cssselect("svg.chart rect")) == 7  # one bar per day of the range, empty days too
    top = [li.cssselect("a")[0].text_content() for li in doc.cssselect("ol.top li")]
    assert set(top) == {"cd", "ld"}


def test_filters_by_site_and_day_first_dates(client: TestClient) -> None:
    only_ld = client.get("/api/search", params={"q": "cong doan", "site": "ld"}).json()
    assert {h["site"] for h in only_ld["hits"]} == {"ld"}
    late = client.get("/api/search", params={"q": "cong doan", "since": "23/11/2026"}).json()
    assert {h["title"] for h in late["hits"]} == {"Thưởng Tết năm nay", HOSTILE_TITLE}
    bad = client.get("/api/search", params={"q": "cong doan", "since": "2026-13-45"})
    assert bad.status_code == 400
    assert "ngày không hợp lệ" in bad.json()["detail"]


def test_malformed_query_gets_a_vietnamese_message_never_elasticsearchs(client: TestClient) -> None:
    page = client.get("/", params={"q": '(công đoàn "nợ'})
    assert page.status_code == 400
    doc = lxml_html.fromstring(page.text)
    message = doc.cssselect("#query-error")[0].text_content()
    assert "ngoặc kép" in message
    assert doc.cssselect("#q")[0].get("value") == '(công đoàn "nợ'  # the box keeps what was typed
    api = client.get("/api/search", params={"q": "công OR"})
    assert api.status_code == 400
    assert "OR cần có" in api.json()["detail"]
    for text in (page.text, api.text):
        assert "Elasticsearch" not in text
        assert "exception" not in text


def test_story_page_shows_indexed_text_and_every_copy(client: TestClient) -> None:
    hit = client.get("/api/search", params={"q": "nhà ở xã hội"}).json()["hits"][0]
    story = client.get(f"/api/stories/{hit['id']}").json()
    assert "200 đoàn viên" in story["text"]
    copies = story["copies"]
    assert [c["site"] for c in copies] == ["cd", "ld"]  # earliest published first
    assert [c["original"] for c in copies] == [True, False]
    page = client.get(f"/story/{hit['id']}")
    assert page.status_code == 200
    doc = lxml_html.fromstring(page.text)
    rows = [
        [td.text_content().strip() for td in tr.cssselect("td")]
        for tr in doc.cssselect("table.copies tbody tr")
    ]
    assert [r[0] for r in rows] == ["cd", "ld"]
    assert rows[0][1] == "20/11/2026 08:00"
    assert rows[0][3] == "bản đầu tiên"
    assert client.get("/story/does-not-exist").status_code == 404
    assert client.get("/api/stories/does-not-exist").status_code == 404


EN = {header: column for column, header in CSV_HEADERS.items()}


def test_export_streams_every_matching_copy_as_csv_and_json_lines(
    client: TestClient, es: Elasticsearch, archive: Settings
) -> None:
    put_doc(
        es,
        archive.index_prefix,
        "formula",
        url="https://cd.example.vn/f.html",
        site="cd",
        title='=HYPERLINK("http://x") công đoàn',
        text="công đoàn",
        published="2026-11-01T00:00:00+07:00",
        cluster="formula",
    )
    answer = client.get("/api/export", params={"q": "cong doan", "format": "csv"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    assert answer.text.startswith("\ufeff")  # spreadsheets read UTF-8
    table = csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff")))
    rows = [{EN[k]: v for k, v in r.items()} for r in table]
    # Every copy of every story the search finds.
    found = client.get("/api/search", params={"q": "cong doan", "limit": 100}).json()["hits"]
    assert len(rows) == sum(1 + len(hit["duplicates"]) for hit in found) >= 4
    assert {r["id"] for r in rows} >= {hit["id"] for hit in found}
    days = [datetime.strptime(r["published"][:10], "%d/%m/%Y") for r in rows]  # as people read dates
    assert days == sorted(days, reverse=True)
    formula = next(r for r in rows if r["id"] == "formula")
    assert formula["published"] == "01/11/2026"  # no time the site did not give
    assert formula["title"].startswith("'=")  # not run as a formula
    lines = client.get("/api/export", params={"q": "nha o xa hoi", "format": "jsonl"}).text.splitlines()
    docs = [json.loads(line) for line in lines]
    assert len(docs) == 2
    assert {d["site"] for d in docs} == {"cd", "ld"}
    assert all("200 đoàn viên" in d["text"] for d in docs)
    assert client.get("/api/export", params={"q": "(", "format": "csv"}).status_code == 400


def test_writes_need_the_token(client: TestClient, archive: Settings) -> None:
    alert = {"name": "Nhà ở", "query": "nhà ở xã hội", "emails": ["a@example.vn"]}
    refused = client.post("/api/alerts", json=alert)
    assert refused.status_code == 401
    assert (
        client.post(
            "/api/alerts", json=alert, headers={"Authorization": "Bearer wrong-token-123"}
        ).status_code
        == 401
    )
    assert client.post("/api/sites/cd/crawl").status_code == 401
    assert client.get("/api/alerts").json() == []
    # A form without the CSRF token is refused even when signed in.
    sign_in(client)
    form = client.post(
        "/alerts/new",
        data={"name": "x", "query": "x", "emails": "a@example.vn", "action": "save", "csrf": "forged"},
    )
    assert form.status_code == 403
    assert client.get("/api/alerts").json() == []
    # Without NEWSMON_WEB_TOKEN the app only reads, and says how to enable writes.
    reader = archive.model_copy(update={"web_token": None})
    with TestClient(make_app(reader)) as plain:
        answer = plain.post("/api/alerts", json=alert, headers=BEARER)
        assert answer.status_code == 403
        assert "NEWSMON_WEB_TOKEN" in answer.json()["detail"]
        assert "NEWSMON_WEB_TOKEN" in plain.get("/alerts").text


def test_alerts_api_add_edit_pause_resume_remove(client: TestClient, env: dict[str, str]) -> None:
    alert = {"name": "Nhà ở", "query": "nhà ở xã hội", "emails": ["a@example.vn"], "sites": ["cd"]}
    added = client.post("/api/alerts", json=alert, headers=BEARER)
    assert added.status_code == 201, added.text
    assert added.json()["mode"] == "instant"
    assert not added.json()["paused"]
    again = client.post("/api/alerts", json=alert, headers=BEARER)
    assert again.status_code == 400
    assert "đã có" in again.json()["detail"]
    bad_mail = client.post("/api/alerts", json={**alert, "name": "x", "emails": ["not-mail"]}, headers=BEARER)
    assert bad_mail.status_code == 400
    assert "e-mail" in bad_mail.json()["detail"]
    bad_site = client.post("/api/alerts", json={**alert, "name": "x", "sites": ["nowhere"]}, headers=BEARER)
    assert bad_site.status_code == 400
    assert "nowhere" in bad_site.json()["detail"]
    changed = client.put(
        "/api/alerts/Nhà ở",
        json={"query": "nhà ở", "emails": ["b@example.vn"], "mode": "daily"},
        headers=BEARER,
    )
    assert changed.status_code == 200
    listed = client.get("/api/alerts", headers=BEARER).json()
    assert listed[0]["emails"] == ["b@example.vn"]
    # One alert model: the API's answer is the CLI's --json, field for field.
    assert set(listed[0]) == set(AlertShown.model_fields)
    assert json.loads(run_cli("alerts", "list", "--json", env=env).stdout) == listed
    anonymous = client.get("/api/alerts").json()[0]  # recipients' addresses only for a signed-in reader
    assert (anonymous["emails"], anonymous["recipients"]) == ([], 1)
    assert client.post("/api/alerts/Nhà ở/pause", headers=BEARER).json()["paused"] is True
    assert client.post("/api/alerts/Nhà ở/resume", headers=BEARER).json()["paused"] is False
    assert client.delete("/api/alerts/Nhà ở", headers=BEARER).status_code == 204
    assert client.get("/api/alerts").json() == []
    assert client.delete("/api/alerts/Nhà ở", headers=BEARER).status_code == 404


def test_preview_counts_last_week_and_archive(
    client: TestClient, es: Elasticsearch, archive: Settings
) -> None:
    now = datetime.now(UTC).isoformat()
    put_doc(
        es,
        archive.index_prefix,
        "fresh",
        url="https://cd.example.vn/moi.html",
        site="cd",
        title="Nhà ở xã hội cho công nhân: tin mới",
        text="Tin mới về nhà ở xã hội.",
        published=now,
        cluster="fresh",
    )
    preview = client.post("/api/alerts/preview", json={"query": "nhà ở xã hội"}).json()
    assert preview["week"] == 1
    assert preview["total"] == 2
    assert [h["id"] for h in preview["hits"]] == ["fresh"]
    assert client.post("/api/alerts/preview", json={"query": "-nhà"}).status_code == 400


def _arrives(es: Elasticsearch, archive: Settings, slug: str, title: str) -> None:
    """A new article indexed now (as a crawl would)."""
    url, now = f"https://ld.example.vn/{slug}.html", datetime.now(UTC).isoformat()
    put_doc(
        es,
        archive.index_prefix,
        slug,
        url=url,
        canonical_url=url,
        site="ld",
        title=title,
        text=title + ".",
        published=now,
        indexed_at=now,
    )


def test_alert_form_previews_saves_and_shows_last_mail(
    client: TestClient, es: Elasticsearch, archive: Settings
) -> None:
    csrf = sign_in(client)
    fields = {
        "name": "Lương",
        "query": "nợ lương",
        "emails": "a@example.vn\nb@example.vn",
        "csrf": csrf,
        "mode": "instant",
    }
    preview = client.post("/alerts/new", data={**fields, "action": "preview"})
    assert preview.status_code == 200
    shown = " ".join(lxml_html.fromstring(preview.text).cssselect(".preview p")[0].text_content().split())
    assert shown.startswith("Trong 7 ngày qua: 0 tin; trong cả kho: 1 tin.")
    assert client.get("/api/alerts").json() == []  # a preview saves nothing
    saved = client.post("/alerts/new", data={**fields, "action": "save"}, follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"] == "/alerts?done=added"
    (alert,) = client.get("/api/alerts").json()
    assert alert["emails"] == ["a@example.vn", "b@example.vn"]
    assert alert["last_sent"] is None
    # New articles arrive; the alert run mails them; the page says when and how many.
    _arrives(es, archive, "no-luong-2", "Lại nợ lương công nhân")
    store = AlertStore(archive.resolved_data_dir)
    try:
        report = run_alerts(es, store, archive)
    finally:
        store.close()
    assert report["alerts"]["Lương"]["matches"] == 1
    page = client.get("/alerts")
    doc = lxml_html.fromstring(page.text)
    facts = dict(
        zip(
            [dt.text_content() for dt in doc.cssselect(".card dt")],
            [dd.text_content() for dd in doc.cssselect(".card dd")],
            strict=True,
        )
    )
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d \(1 tin\)", facts["Lần gửi cuối"])
    # Pausing from the page stops the next run from mailing.
    assert client.post("/alerts/Lương/pause", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert "tạm dừng" in client.get("/alerts").text
    _arrives(es, archive, "no-luong-3", "Nợ lương kéo dài")
    store = AlertStore(archive.resolved_data_dir)
    try:
        assert "Lương" not in run_alerts(es, store, archive)["alerts"]
        store.set_paused("Lương", False)
        # Resumed: what was indexed while paused is not mailed afterwards.
        assert run_alerts(es, store, archive)["alerts"]["Lương"]["matches"] == 0
    finally:
        store.close()


def test_sites_page_reports_runs_states_and_next_crawl(client: TestClient, archive: Settings) -> None:
    log = archive.resolved_data_dir / "crawl" / "runs.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    runs = [
        {
            "site": "cd",
            "started": "2026-11-29T23:00:00+00:00",
            "finish_reason": "finished",
            "requests": 40,
            "pages": 40,
            "new": 12,
            "updated": 1,
            "unchanged": 27,
            "errors": {},
            "health": 0.95,
        },
        {
            "site": "ld",
            "started": "2026-11-29T23:00:00+00:00",
            "finish_reason": "finished",
            "requests": 9,
            "pages": 0,
            "new": 0,
            "updated": 0,
            "unchanged": 0,
            "errors": {"download": 9},
        },
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in runs) + '{"site": "cd", "cut', encoding="utf-8")
    sites = {s["name"]: s for s in client.get("/api/sites").json()}
    assert sites["cd"]["state"] == "ok"
    assert sites["cd"]["runs"][0]["new"] == 12
    assert sites["ld"]["state"] == "failed"
    assert sites["cd"]["next_run"] is not None
    assert not sites["cd"]["running"]
    page = client.get("/sites")
    doc = lxml_html.fromstring(page.text)
    failed = doc.cssselect("section.state-failed h2")
    assert len(failed) == 1
    assert failed[0].text_content().startswith("ld")
    assert "30/11/2026 06:00" in page.text  # 23:00 UTC shown in +07:00
    assert "lỗi tải trang: 9" in page.text  # error kinds in words
    assert "hằng ngày lúc 06:00" in page.text  # the schedule in words, not cron
    assert client.post("/api/sites/nowhere/crawl", headers=BEARER).status_code == 404
    # A backfill needs the token, a site the registry knows and a day people write.
    assert client.post("/api/sites/cd/backfill?since=01/01/2021").status_code == 401
    assert client.post("/api/sites/nowhere/backfill?since=01/01/2021", headers=BEARER).status_code == 404
    refused = client.post("/api/sites/cd/backfill?since=2021/13/45", headers=BEARER)
    assert refused.status_code == 400
    assert "dd/mm/yyyy" in refused.text


def _inert(page: str) -> None:
    doc = lxml_html.fromstring(page)
    assert not doc.cssselect("script"), "a crawled <script> became an element"
    for element in doc.iter():
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), f"event handler {name} on <{element.tag}>"
            assert not value.strip().lower().startswith("javascript:"), f"{name}={value}"


def test_crawled_markup_renders_inert_on_every_page(client: TestClient) -> None:
    csrf = sign_in(client)
    pages = [
        client.get("/", params={"q": "công đoàn"}),
        client.get("/story/hostile"),
        client.post(
            "/alerts/new",
            data={
                "name": "x",
                "query": "công đoàn",
                "emails": "a@example.vn",
                "action": "preview",
                "csrf": csrf,
            },
        ),
    ]
    client.post(
        "/api/alerts",
        json={"name": "Tin <b>", "query": "<script>alert(1)</script> công đoàn", "emails": ["a@example.vn"]},
        headers=BEARER,
    )
    pages += [client.get("/alerts"), client.get("/", params={"q": "<img src=x onerror=alert(1)>"})]
    for page in pages:
        assert page.status_code < 500
        _inert(page.text)
    story = client.get("/story/hostile").text
    assert "&lt;script&gt;" in story
    assert HOSTILE_TITLE not in story
    api = client.get("/api/search", params={"q": "công đoàn"}).json()
    hostile = next(h for h in api["hits"] if h["id"] == "hostile")
    assert "<script" not in hostile["snippet"]
    assert "<img" not in hostile["snippet"]
    assert "&lt;img src=x onerror=alert(3)&gt;" in hostile["snippet"]


def test_every_answer_carries_a_strict_policy(client: TestClient) -> None:
    for path in ("/", "/alerts", "/sites", "/api/search?q=x", "/api/docs", "/nothing-here"):
        headers = client.get(path).headers
        policy = headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert headers["x-content-type-options"] == "nosniff"


def test_sign_in_goes_back_only_to_this_site(client: TestClient) -> None:
    home, sites = "/?done=signed_in", "/sites?done=signed_in"
    for target, expected in (("//evil.example/x", home), ("https://evil.example", home), ("/sites", sites)):
        answer = client.post(
            "/login",
            data={"token": "mot-ma-truy-cap-du-dai", "csrf": form_token(client), "next": target},
            follow_redirects=False,
        )
        assert answer.headers["location"] == expected
    wrong = client.post("/login", data={"token": "sai-ma-truy-cap", "csrf": form_token(client), "next": "/"})
    assert wrong.status_code == 401
    assert "không đúng" in wrong.text


def test_reading_from_another_machine_needs_sign_in(archive: Settings) -> None:
    with TestClient(make_app(archive), client=("203.0.113.9", 40000)) as remote:
        assert remote.get("/", follow_redirects=False).headers["location"] == "/login"
        assert remote.get("/api/search?q=x").status_code == 401
        assert remote.get("/api/search?q=x", headers=BEARER).status_code == 200


def test_unreachable_elasticsearch_is_a_vietnamese_503(web_settings: Settings, unused_port: int) -> None:
    down = web_settings.model_copy(update={"es_url": f"http://127.0.0.1:{unused_port}"})
    with TestClient(make_app(down)) as client:
        page = client.get("/", params={"q": "công đoàn"})
        assert page.status_code == 503
        assert "Không kết nối được Elasticsearch" in page.text
        assert client.get("/api/search", params={"q": "x"}).status_code == 503


def test_openapi_document_and_local_docs(client: TestClient, tmp_path: Path) -> None:
    schema = client.get("/api/openapi.json").json()
    assert {"/api/search", "/api/alerts", "/api/sites", "/api/stories/{article_id}"} <= set(schema["paths"])
    docs = client.get("/api/docs").text
    assert "/api/search" in docs
    assert "cdn" not in docs.lower()


def test_the_cli_and_the_api_say_the_same(client: TestClient, env: dict[str, str]) -> None:
    added = client.post(
        "/api/alerts", json={"name": "Nhà ở", "query": "nhà ở", "emails": ["a@example.vn"]}, headers=BEARER
    )
    assert added.status_code == 201
    paused = run_cli("alerts", "pause", "Nhà ở", env=env)
    assert paused.returncode == 0, paused.stderr
    (api_alert,) = client.get("/api/alerts", headers=BEARER).json()
    (cli_alert,) = json.loads(run_cli("alerts", "list", "--json", env=env).stdout)
    assert api_alert["paused"] is True
    assert {k: cli_alert[k] for k in api_alert if k in cli_alert} == {
        k: api_alert[k] for k in cli_alert if k in api_alert
    }
    hit = client.get("/api/search", params={"q": "nha o xa hoi"}).json()["hits"][0]
    cli_story = json.loads(run_cli("story", hit["id"], "--json", env=env).stdout)
    assert cli_story == client.get(f"/api/stories/{hit['id']}").json()
    cli_export = run_cli("export", "--query", "cong doan", env=env).stdout.splitlines()
    api_export = client.get("/api/export", params={"q": "cong doan", "format": "jsonl"}).text.splitlines()
    assert [json.loads(line)["id"] for line in cli_export] == [json.loads(line)["id"] for line in api_export]
    status = run_cli("status", "--json", env=env)
    assert status.returncode == 0, status.stderr
    cli_sites = {s["name"]: (s["state"], s["next_run"]) for s in json.loads(status.stdout)}
    api_sites = {s["name"]: (s["state"], s["next_run"]) for s in client.get("/api/sites").json()}
    assert cli_sites == api_sites


def test_pages_past_the_last_the_404_page_and_recipients_before_sign_in(client: TestClient) -> None:
    total = client.get("/api/search", params={"q": "cong doan"}).json()["total"]
    assert 0 < total <= 20
    beyond = client.get("/", params={"q": "cong doan", "page": 99}, follow_redirects=False)
    assert beyond.status_code == 303  # to the last page, not "Trang 99 / 1"
    assert beyond.headers["location"].endswith("page=1")
    assert "Trang 99" not in client.get("/", params={"q": "cong doan", "page": 99}).text
    missing = client.get("/khong-co-trang-nay")
    assert missing.status_code == 404
    assert "Không có trang này" in missing.text
    assert "Not Found" not in missing.text
    added = client.post(
        "/api/alerts", json={"name": "Nhà ở", "query": "nhà ở", "emails": ["kin@example.vn"]}, headers=BEARER
    )
    assert added.status_code == 201
    page = client.get("/alerts").text
    assert "kin@example.vn" not in page
    assert "1 người nhận" in page
    sign_in(client)
    assert "kin@example.vn" in client.get("/alerts").text
    asked = client.get("/alerts/Nhà ở/remove").text
    assert "Xóa hẳn" in asked
    assert "Tạm dừng thay vì xóa" in asked
