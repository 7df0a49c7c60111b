"""One alert run: evaluate the due rules against newly indexed articles, decide (ledger +
queued mail, atomically), then deliver what is queued. Run after every crawl by the crawl
runner (instant rules), by the scheduler at the digest time (daily rules) and by
`newsmon alerts run`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, time
from typing import Any

from elasticsearch import Elasticsearch

from config.settings import Settings
from config.vntime import VN_TZ
from search.alerts.deliver import deliver
from search.alerts.evaluate import evaluate
from search.alerts.render import mail_renderer
from search.alerts.rules import Rule
from search.alerts.store import AlertStore

log = logging.getLogger(__name__)


def digest_due(rule: Rule, now: datetime, at: time) -> str | None:
    """The local day whose digest is due now (at or after `at`, not yet sent), else None."""
    local = now.astimezone(VN_TZ)
    day = local.date().isoformat()
    if local.time() >= at and (rule.last_digest or "") < day:
        return day
    return None


def run_alerts(
    es: Elasticsearch,
    store: AlertStore,
    settings: Settings,
    *,
    now: datetime | None = None,
    modes: tuple[str, ...] = ("instant", "daily"),
    site_titles: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Returns {"alerts": {name: {"matches", "mails"[, "error"]}}, "sent", "waiting"}. A rule
    Elasticsearch could not evaluate keeps its watermark (the next run covers it again)."""
    now = now or datetime.now(UTC)
    due, days = [], {}
    for rule in store.rules():
        if rule.mode not in modes or rule.paused:
            continue
        if rule.mode == "daily":
            day = digest_due(rule, now, settings.digest_time)
            if day is None:
                continue
            days[rule.name] = day
        due.append(rule)
    results = evaluate(es, settings.index_prefix, due, now)
    report: dict[str, Any] = {}
    render_part = mail_renderer(es, settings, site_titles=site_titles, days=days)
    for rule in due:
        found = results[rule.name]
        if found.error:
            log.warning("alert %r not evaluated: %s", rule.name, found.error)
            report[rule.name] = {"matches": 0, "mails": 0, "error": found.error}
            continue
        mails = store.decide(
            rule,
            found.matches,
            render_part,
            watermark=found.watermark,
            now=now,
            digest_day=days.get(rule.name),
        )
        report[rule.name] = {"matches": len(found.matches), "mails": mails}
    sent, waiting = deliver(store, settings, now)
    return {"alerts": report, "sent": sent, "waiting": waiting}


def after_crawl(config: Settings, site_titles: Mapping[str, str] | None = None) -> list[str]:
    """The instant alerts for what a crawl indexed; returns what to tell the user. Never
    raises for an unreachable Elasticsearch: the next run covers the same articles."""
    from elasticsearch import ApiError
    from elasticsearch import ConnectionError as ESConnectionError

    from search.es import make_client

    store, es = AlertStore.of(config), make_client(config)
    try:
        report = run_alerts(es, store, config, modes=("instant",), site_titles=site_titles)
    except (ESConnectionError, ApiError) as exc:
        return [f"chưa xét cảnh báo ({type(exc).__name__}); lần chạy sau xét lại đúng những bài này"]
    finally:
        store.close()
        es.close()
    messages = []
    if report["alerts"] or report["waiting"]:
        messages.append(f"cảnh báo: đã gửi {report['sent']} thư, {report['waiting']} thư đang chờ")
    messages += [
        f"chưa xét được cảnh báo {name!r}: {r['error']}; lần chạy sau xét lại đúng những bài này"
        for name, r in report["alerts"].items()
        if r.get("error")
    ]
    return messages
