"""A recipient the mail server refuses for good (5xx) is given up after the first refusal
and reported; a temporary refusal (4xx) is retried as before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from elasticsearch import Elasticsearch

from config.settings import Settings
from search.alerts.job import run_alerts
from search.alerts.store import AlertStore
from tests.support import index_corpus, run_cli

pytestmark = pytest.mark.es


class Picky:
    """An SMTP server that has no mailbox `gone@`, is busy for `busy@`, takes the rest."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.delivered: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        self.asked.append(address)
        if address.startswith("gone@"):
            return "550 5.1.1 No such user here"
        if address.startswith("busy@"):
            return "450 4.2.1 Mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.delivered.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def picky(unused_port: int, env: dict[str, str]) -> Iterator[Picky]:
    handler = Picky()
    controller = Controller(handler, hostname="127.0.0.1", port=unused_port)
    controller.start()
    env.update(NEWSMON_SMTP_HOST="127.0.0.1", NEWSMON_SMTP_PORT=str(unused_port))
    yield handler
    controller.stop()


def test_a_recipient_refused_for_good_is_given_up_and_reported(
    picky: Picky, env: dict[str, str], es: Elasticsearch
) -> None:
    settings = Settings(
        es_url=env["NEWSMON_ES_URL"],
        index_prefix=env["NEWSMON_INDEX_PREFIX"],
        data_dir=Path(env["NEWSMON_DATA_DIR"]),
        smtp_host="127.0.0.1",
        smtp_port=int(env["NEWSMON_SMTP_PORT"]),
    )
    store = AlertStore(settings.resolved_data_dir)
    try:
        recipients = ["ok@cd.example.vn", "gone@cd.example.vn", "busy@cd.example.vn"]
        store.add("Nợ lương", "nợ lương", recipients, [], mode="instant")
        index_corpus(es, settings.index_prefix)
        first = run_alerts(es, store, settings)
        assert first["sent"] == 1
        assert first["waiting"] == 1  # only the busy mailbox's mail is kept for a retry
        later = datetime.now(UTC) + timedelta(hours=7)
        second = run_alerts(es, store, settings, now=later)
        assert second["waiting"] == 1
        assert picky.asked.count("gone@cd.example.vn") == 1  # never asked again
        assert picky.asked.count("busy@cd.example.vn") == 2
        assert picky.delivered == ["ok@cd.example.vn"]
        assert [r["recipient"] for r in store.refusals()["Nợ lương"]] == ["gone@cd.example.vn"]
        assert "550" in store.refusals()["Nợ lương"][0]["error"]
    finally:
        store.close()
    listed = run_cli("alerts", "list", env=env)
    assert listed.returncode == 0
    assert "từ chối hẳn gone@cd.example.vn" in listed.stderr
