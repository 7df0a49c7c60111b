"""The ledger: one row per (alert, recipient, story) ever decided, written in the same
transaction as the queued mail that carries those stories, so a story reaches a person
once per alert: not again from a republished copy, after a restart or a retried send."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from search.alerts.evaluate import Match
from search.alerts.rules import Rule

MAIL_STORIES = 100  # stories per mail; more (a new site's first crawl) go out in numbered parts

LEDGER_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger (
    alert TEXT NOT NULL, recipient TEXT NOT NULL, cluster TEXT NOT NULL, article_id TEXT NOT NULL,
    mail_id TEXT NOT NULL, decided_at TEXT NOT NULL, PRIMARY KEY (alert, recipient, cluster)
);
"""

# (rule, recipient, the part's matches, mail id, (part number, parts)) -> the message bytes
Renderer = Callable[[Rule, str, list[Match], str, tuple[int, int]], bytes]


class Ledger:
    """Decisions of an `AlertStore` (mixed into it; `db` and `transaction` come from there)."""

    db: sqlite3.Connection

    def decide(
        self,
        rule: Rule,
        matches: list[Match],
        render: Renderer,
        *,
        watermark: str,
        now: datetime,
        digest_day: str | None = None,
    ) -> int:
        """For each recipient, the stories not yet sent: ledger rows and the mail carrying
        them, in one transaction (so a crash leaves either both or neither). Returns how
        many mails were queued. The rule's watermark moves in the same transaction."""
        queued = 0
        stamp = now.isoformat()
        with self.db as db:  # one transaction
            # Taken before the ledger is read: two processes running alerts at once (two
            # crawls ending together) decide one after the other, never the same story twice.
            db.execute("BEGIN IMMEDIATE")
            for recipient in rule.emails:
                sent = _ledgered(db, rule.name, recipient, [m.cluster for m in matches])
                fresh = [m for m in matches if m.cluster not in sent]
                parts = [fresh[i : i + MAIL_STORIES] for i in range(0, len(fresh), MAIL_STORIES)]
                for number, part in enumerate(parts, start=1):
                    mail_id = f"{rule.name}|{recipient}|{stamp}" + (f"|{number}" if len(parts) > 1 else "")
                    message = render(rule, recipient, part, mail_id, (number, len(parts)))
                    db.executemany(
                        "INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?)",
                        [(rule.name, recipient, m.cluster, m.article_id, mail_id, stamp) for m in part],
                    )
                    db.execute(
                        "INSERT INTO mails (mail_id, alert, recipient, message, created_at, next_try) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (mail_id, rule.name, recipient, message, stamp, stamp),
                    )
                    queued += 1
            db.execute(
                "UPDATE rules SET watermark = ?, last_digest = COALESCE(?, last_digest) WHERE name = ?",
                (watermark, digest_day, rule.name),
            )
        return queued

    def pending(self, rule: Rule, clusters: list[str]) -> set[str]:
        """Which of `clusters` at least one of the rule's recipients has not been sent yet
        (what a run now would send)."""
        wanted = set(clusters)
        return {
            c
            for recipient in rule.emails
            for c in wanted - _ledgered(self.db, rule.name, recipient, clusters)
        }

    def sent_summary(self) -> dict[str, dict[str, Any]]:
        """Per alert: when it last queued a mail (`last_sent`, ISO), how many stories that
        run carried (`last_stories`) and how many stories it has sent in all (`stories`)."""
        summary: dict[str, dict[str, Any]] = {}
        # One query: each alert's last decision time, that decision's stories, all stories.
        rows = self.db.execute(
            "SELECT l.alert, t.last, COUNT(DISTINCT CASE WHEN l.decided_at = t.last THEN l.cluster END), "
            "COUNT(DISTINCT l.cluster) FROM ledger l JOIN (SELECT alert, MAX(decided_at) AS last FROM ledger "
            "GROUP BY alert) t ON t.alert = l.alert GROUP BY l.alert, t.last"
        ).fetchall()
        for alert, last, last_count, total in rows:
            summary[alert] = {"last_sent": last, "last_stories": last_count, "stories": total}
        return summary


def follow_merges(db: sqlite3.Connection, merges: list[tuple[str, str]]) -> None:
    """Two stories became one (`old` cluster relabelled `new`): whoever got the old story
    has got the new one, so its later copies are not mailed again."""
    with db:
        for old, new in merges:
            db.execute(
                "INSERT OR IGNORE INTO ledger SELECT alert, recipient, ?, article_id, mail_id, "
                "decided_at FROM ledger WHERE cluster = ?",
                (new, old),
            )


def _ledgered(db: sqlite3.Connection, alert: str, recipient: str, clusters: list[str]) -> set[str]:
    """Which of `clusters` this recipient already got from this alert (a query per 500,
    not one per story)."""
    sent: set[str] = set()
    for start in range(0, len(clusters), 500):
        chunk = clusters[start : start + 500]
        marks = ", ".join("?" * len(chunk))  # placeholders only: the values are bound
        query = f"SELECT cluster FROM ledger WHERE alert = ? AND recipient = ? AND cluster IN ({marks})"  # noqa: S608
        sent.update(row[0] for row in db.execute(query, (alert, recipient, *chunk)))
    return sent
