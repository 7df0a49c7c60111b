"""A site that goes quiet is a fault too: from each site's run history (runs.jsonl), whether
its crawls keep failing, whether it has brought no new article for much longer than its
usual gap, or whether its extraction health fell; one admin mail per episode
(NEWSMON_ADMIN_EMAIL), and the sites page and `newsmon status` say so meanwhile.

An episode is named by its site, its kind and the moment it began (the first failed run of
the streak, the last run that brought something new, the first run of the health drop), so
the mail it gets is queued once however many crawls see it; a new episode of the same kind
begins only after the site has recovered."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from config.settings import Settings
from crawler.state import RunSummary
from crawler.status import recent_runs, run_state

log = logging.getLogger(__name__)

HISTORY = 60  # runs per site read for the baseline
FAILED_IN_A_ROW = 3  # failed crawls in a row that make an episode
QUIET_FACTOR = 4  # silent for this many times the site's usual gap between new articles
QUIET_AT_LEAST = timedelta(days=2)
GAPS_NEEDED = 3  # gaps between productive runs before a site's usual gap is trusted


@dataclass(frozen=True)
class Alarm:
    """One episode of one site: its kind, when it began, what to tell people (Vietnamese)."""

    site: str
    kind: str  # failing, quiet, health
    since: str
    message: str

    @property
    def key(self) -> str:
        """The episode's identity (the admin mail is queued once per key)."""
        return f"{self.site}|{self.kind}|{self.since}"


def _when(run: RunSummary) -> datetime | None:
    try:
        stamp = datetime.fromisoformat(str(run.get("started")))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def site_alarms(site: str, runs: list[RunSummary], now: datetime) -> list[Alarm]:
    """The episodes open for `site`, from its runs newest first."""
    from search.web.format import moment

    runs = [r for r in runs if not r.get("skipped") and _when(r) is not None]
    alarms = []
    streak = 0
    for run in runs:
        if run_state(run) != "failed":
            break
        streak += 1
    if streak >= FAILED_IN_A_ROW:
        first = runs[streak - 1]
        alarms.append(
            Alarm(
                site,
                "failing",
                str(first["started"]),
                f"{streak} lần thu thập liên tiếp thất bại, từ {moment(first['started'])}",
            )
        )
    productive = sorted(when for r in runs if r.get("new", 0) > 0 and (when := _when(r)) is not None)
    if len(productive) > GAPS_NEEDED:
        gaps = sorted(b - a for a, b in pairwise(productive))
        usual = gaps[len(gaps) // 2]
        silent = now - productive[-1]
        latest = _when(runs[0])
        if silent > max(QUIET_FACTOR * usual, QUIET_AT_LEAST) and latest and latest > productive[-1]:
            days = silent.total_seconds() / 86400
            alarms.append(
                Alarm(
                    site,
                    "quiet",
                    productive[-1].isoformat(),
                    f"không có bài mới từ {moment(productive[-1].isoformat())} ({days:.0f} ngày; "
                    f"thường cứ {usual.total_seconds() / 86400:.1f} ngày có bài mới): nguồn tin "
                    "có thể đã ngừng cập nhật hoặc đổi địa chỉ",
                )
            )
    dropped = 0
    for run in runs:
        if run.get("health_usual") is None:
            break
        dropped += 1
    if dropped:
        first = runs[dropped - 1]
        alarms.append(
            Alarm(
                site,
                "health",
                str(first["started"]),
                f"chất lượng trích xuất giảm: {runs[0].get('health', 0):.0%}, thường "
                f"{runs[0]['health_usual']:.0%} (trang có đổi giao diện không?)",
            )
        )
    return alarms


def current_alarms(config: Settings, names: list[str], now: datetime | None = None) -> dict[str, list[Alarm]]:
    """Each named site's open episodes, from runs.jsonl."""
    now = now or datetime.now(UTC)
    history = recent_runs(config, limit=HISTORY)
    return {name: site_alarms(name, history.get(name, []), now) for name in names}


def mail_admins(
    config: Settings, alarms: list[Alarm], titles: dict[str, str], now: datetime | None = None
) -> int:
    """Queue one mail per new episode for each admin address and send what is due; returns
    how many were queued now (an episode already mailed queues nothing)."""
    if not config.admin_email or not alarms:
        return 0
    from search.alerts.admin import queue_admin_mail
    from search.alerts.deliver import deliver
    from search.alerts.store import AlertStore

    now = now or datetime.now(UTC)
    store = AlertStore.of(config)
    try:
        queued = 0
        for alarm in alarms:
            title = titles.get(alarm.site, alarm.site)
            subject = {
                "failing": "thu thập thất bại nhiều lần",
                "quiet": "không có bài mới",
                "health": "chất lượng trích xuất giảm",
            }[alarm.kind]
            body = (
                f"Trang {title} ({alarm.site}): {alarm.message}.\n\n"
                "Hãy xem trang “Các trang” của newsmon và chạy `newsmon sites check "
                f"{alarm.site}` để biết trang còn đọc được không.\n"
            )
            queued += queue_admin_mail(
                store, config, key=alarm.key, subject=f"[newsmon] {title}: {subject}", body=body, now=now
            )
        deliver(store, config, now)
    finally:
        store.close()
    if queued:
        log.warning("%d admin mail(s) queued for sites that need attention", queued)
    return queued
