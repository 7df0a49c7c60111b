"""One alert run: evaluate the due rules against newly indexed articles, decide (ledger +
queued mail, atomically), then deliver what is queued. Called after every crawl (instant
rules), by the scheduler at 07:00 (daily digests) and by `newsmon alerts run`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from config.settings import Settings
from search.alerts import AlertStore, Details, Match, Rule, digest_due, enrich, evaluate
from search.mail import deliver, render

log = logging.getLogger(__name__)


def mail_renderer(es: Elasticsearch, settings: Settings) -> Callable[..., bytes]:
    """`render` in the shape `AlertStore.decide` calls it, fetching what the mail shows for
    the stories it carries; details are fetched once per run and shared by every rule."""
    details = Details()

    def render_part(rule: Rule, recipient: str, fresh: list[Match], mail_id: str,
                    part: tuple[int, int]) -> bytes:
        return render(rule, recipient, enrich(es, settings.index_prefix, fresh, details), mail_id,
                      settings.mail_from, part=part)

    return render_part


def run_alerts(es: Elasticsearch, store: AlertStore, settings: Settings, *, now: datetime | None = None,
               modes: tuple[str, ...] = ("instant", "daily")) -> dict[str, Any]:
    """Returns {"alerts": {name: {"matches", "mails"[, "error"]}}, "sent", "waiting"}. A rule
    Elasticsearch could not evaluate keeps its watermark (the next run covers it again)."""
    now = now or datetime.now(UTC)
    due, days = [], {}
    for rule in store.rules():
        if rule.mode not in modes:
            continue
        if rule.mode == "daily":
            day = digest_due(rule, now, settings.digest_time)
            if day is None:
                continue
            days[rule.name] = day
        due.append(rule)
    results = evaluate(es, settings.index_prefix, due, now)
    report: dict[str, Any] = {}
    render_part = mail_renderer(es, settings)
    for rule in due:
        found = results[rule.name]
        if found.error:
            log.warning("alert %r not evaluated: %s", rule.name, found.error)
            report[rule.name] = {"matches": 0, "mails": 0, "error": found.error}
            continue
        mails = store.decide(rule, found.matches, render_part, watermark=found.watermark, now=now,
                             digest_day=days.get(rule.name))
        report[rule.name] = {"matches": len(found.matches), "mails": mails}
    sent, waiting = deliver(store, settings, now)
    return {"alerts": report, "sent": sent, "waiting": waiting}
