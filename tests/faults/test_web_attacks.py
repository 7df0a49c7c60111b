"""The web app trusts no Host header, no planted CSRF cookie, no session cookie after
sign-out, and no flood of wrong tokens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from config.settings import Settings
from tests.search.web.conftest import BEARER, TOKEN, form_token, make_app, sign_in

pytestmark = pytest.mark.es

ALERT = {"name": "Nhà ở", "query": "nhà ở xã hội", "emails": ["a@example.vn"]}


@pytest.fixture
def local(web_settings: Settings) -> Iterator[TestClient]:
    """A browser on this machine that names the app by its loopback address."""
    with TestClient(make_app(web_settings), base_url="http://127.0.0.1:8000") as client:
        yield client


@pytest.mark.parametrize("path", ["/api/alerts", "/api/export?format=jsonl", "/", "/api/search?q=x"])
def test_a_host_name_the_app_does_not_know_is_refused(local: TestClient, path: str) -> None:
    rebound = local.get(path, headers={"Host": "attacker.example"})
    assert rebound.status_code == 400
    assert "Tên máy không được phép" in rebound.text
    assert rebound.headers["content-security-policy"]
    assert local.get(path, headers={"Host": "[::1]:8000"}).status_code in (200, 503)


def test_configured_host_names_are_answered(web_settings: Settings) -> None:
    named = web_settings.model_copy(
        update={"web_hosts": ["tin.congdoan.example"], "public_url": "https://newsmon.congdoan.example"}
    )
    with TestClient(make_app(named), base_url="http://tin.congdoan.example") as client:
        assert client.get("/api/alerts").status_code == 200
        assert client.get("/api/alerts", headers={"Host": "newsmon.congdoan.example"}).status_code == 200
        assert client.get("/api/alerts", headers={"Host": "congdoan.example"}).status_code == 400


def test_a_planted_csrf_cookie_and_matching_field_are_refused(local: TestClient) -> None:
    sign_in(local)
    local.cookies.set("newsmon_csrf", "attacker-chosen-value")
    form = local.post(
        "/alerts/new",
        data={
            "name": "x",
            "query": "công đoàn",
            "emails": "a@example.vn",
            "action": "save",
            "csrf": "attacker-chosen-value",
        },
    )
    assert form.status_code == 403
    assert local.get("/api/alerts").json() == []
    token = form_token(local, "/alerts/new")  # the page's own token works
    saved = local.post(
        "/alerts/new",
        data={"name": "x", "query": "công đoàn", "emails": "a@example.vn", "action": "save", "csrf": token},
        follow_redirects=False,
    )
    assert saved.status_code == 303


def test_a_session_ends_with_sign_out_and_each_sign_in_is_new(local: TestClient) -> None:
    sign_in(local)
    first = local.cookies["newsmon_session"]
    local.post("/logout", data={"csrf": form_token(local, "/alerts")})
    sign_in(local)
    assert local.cookies["newsmon_session"] != first
    local.post("/logout", data={"csrf": form_token(local, "/alerts")})
    local.cookies.set("newsmon_session", first)  # replayed after sign-out
    token = form_token(local, "/alerts/new")
    replay = local.post(
        "/alerts/new",
        data={"name": "x", "query": "công đoàn", "emails": "a@example.vn", "action": "save", "csrf": token},
    )
    assert replay.status_code == 401
    assert local.get("/api/alerts").json() == []


def test_wrong_tokens_lock_the_client_out_for_a_while(local: TestClient) -> None:
    for _ in range(5):
        wrong = local.post("/login", data={"token": "sai-ma-truy-cap", "csrf": form_token(local)})
        assert wrong.status_code == 401
    locked = local.post("/login", data={"token": TOKEN, "csrf": form_token(local)})
    assert locked.status_code == 429  # even the right token, until the lock ends
    assert "thử lại sau" in locked.text
    api = local.post("/api/alerts", json=ALERT, headers=BEARER)
    assert api.status_code == 429
    assert int(api.headers["retry-after"]) > 0


def test_a_closed_archive_is_a_vietnamese_503_everywhere(
    web_settings: Settings, es: Elasticsearch, env: dict[str, str]
) -> None:
    from search.schema import alias_name
    from tests.search.web.conftest import index_stories
    from tests.support import run_cli

    index_stories(es, web_settings.index_prefix)
    es.indices.close(index=alias_name(web_settings.index_prefix))
    try:
        with TestClient(make_app(web_settings), base_url="http://127.0.0.1") as client:
            for path in (
                "/",
                "/?q=công đoàn",
                "/api/search?q=x",
                "/api/export?format=csv",
                "/api/export?format=jsonl",
                "/story/nha-o",
            ):
                answer = client.get(path)
                assert answer.status_code == 503, path
                assert "tạm thời không dùng được" in answer.text, path
        result = run_cli("search", "công đoàn", env=env)
        assert result.returncode == 1
        assert "tạm không phục vụ được kho bài" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        es.indices.open(index=alias_name(web_settings.index_prefix))
