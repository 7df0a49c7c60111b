"""Delivery of queued alert mails: smtplib (none / STARTTLS / SSL, optional login), or `.eml`
files in the outbox when no SMTP host is configured. A mail that cannot be delivered stays
queued in the `mails` table and is retried by the next run, with back-off; a mail the server
refuses for good (a 5xx for its recipient or its content) is given up at once and kept,
with the refusal, for `alerts list` and the alerts page."""

from __future__ import annotations

import contextlib
import logging
import re
import smtplib
import sqlite3
import ssl
from datetime import datetime, timedelta

from config.settings import Settings
from search.stores import add_columns

log = logging.getLogger(__name__)

MAILS_SCHEMA = """
CREATE TABLE IF NOT EXISTS mails (
    mail_id TEXT PRIMARY KEY, alert TEXT NOT NULL, recipient TEXT NOT NULL, message BLOB NOT NULL,
    created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_try TEXT NOT NULL,
    sent_at TEXT, last_error TEXT, refused_at TEXT
);
"""


def migrate_mails(db: sqlite3.Connection) -> None:
    """Bring a mails table made by an earlier version up to date (a column added since)."""
    add_columns(db, "mails", {"refused_at": "TEXT"})


class MailQueue:
    """Mails of an `AlertStore` waiting for delivery (mixed into it)."""

    db: sqlite3.Connection

    def delivering(self) -> contextlib.AbstractContextManager[None]:
        """Held while this process sends (the store says how: a file or a shared lock)."""
        raise NotImplementedError

    def due_mails(self, now: datetime) -> list[sqlite3.Row]:
        """Queued mails whose next try is due."""
        return self.db.execute(
            "SELECT * FROM mails WHERE sent_at IS NULL AND refused_at IS NULL "
            "AND next_try <= ? ORDER BY created_at",
            (now.isoformat(),),
        ).fetchall()

    def pending_count(self) -> int:
        """Mails not delivered yet and still to be tried."""
        return int(
            self.db.execute(
                "SELECT count(*) FROM mails WHERE sent_at IS NULL AND refused_at IS NULL"
            ).fetchone()[0]
        )

    def mark_refused(self, mail_id: str, error: str, now: datetime) -> None:
        """Give a mail up: the server refused it for good."""
        with self.db as db:  # one transaction
            db.execute(
                "UPDATE mails SET refused_at = ?, last_error = ? WHERE mail_id = ?",
                (now.isoformat(), error[:500], mail_id),
            )

    def refusals(self) -> dict[str, list[dict[str, str]]]:
        """Per alert, each recipient the server refused for good: its last refusal and when."""
        # The last refusal per recipient chosen here, not by SQLite's bare column beside MAX(),
        # which PostgreSQL refuses (refusals are few).
        rows = self.db.execute(
            "SELECT alert, recipient, last_error, refused_at FROM mails WHERE refused_at IS NOT NULL "
            "ORDER BY alert, recipient, refused_at"
        ).fetchall()
        last = {(alert, recipient): (error, when) for alert, recipient, error, when in rows}
        found: dict[str, list[dict[str, str]]] = {}
        for (alert, recipient), (error, when) in last.items():
            found.setdefault(alert, []).append({"recipient": recipient, "error": error or "", "at": when})
        return found

    def mark_sent(self, mail_id: str, now: datetime) -> None:
        """Record a delivered mail."""
        with self.db as db:  # one transaction
            db.execute(
                "UPDATE mails SET sent_at = ?, last_error = NULL WHERE mail_id = ?",
                (now.isoformat(), mail_id),
            )

    def mark_failed(self, mail_id: str, attempts: int, error: str, now: datetime) -> None:
        """Retry later: 1, 2, 4 ... minutes, at most 6 hours."""
        delay = timedelta(minutes=min(2**attempts, 360))
        with self.db as db:  # one transaction
            db.execute(
                "UPDATE mails SET attempts = ?, last_error = ?, next_try = ? WHERE mail_id = ?",
                (attempts + 1, error[:500], (now + delay).isoformat(), mail_id),
            )


def _smtp(settings: Settings) -> smtplib.SMTP:
    host, port = settings.smtp_host or "", settings.smtp_port
    if settings.smtp_security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            host, port or 465, timeout=30, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(host, port or 25, timeout=30)
        if settings.smtp_security == "starttls":
            client.starttls(context=ssl.create_default_context())
    if settings.smtp_user:
        client.login(
            settings.smtp_user, settings.smtp_password.get_secret_value() if settings.smtp_password else ""
        )
    return client


_PERMANENT = 500


def _permanent(exc: BaseException) -> bool:
    """A refusal that retrying cannot change: a 5xx for the recipient (no such mailbox) or
    for this message (too large, rejected content). A 5xx for the sender is the
    installation's to fix, so those mails wait."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(code >= _PERMANENT for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= _PERMANENT


def _describe(exc: BaseException) -> str:
    """`550 5.1.1 no such user` from an SMTP refusal."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, message = next(iter(exc.recipients.values()))
        return f"{code} {message.decode('utf-8', 'replace') if isinstance(message, bytes) else message}"
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        return f"{exc.smtp_code} {error.decode('utf-8', 'replace') if isinstance(error, bytes) else error}"
    return f"{type(exc).__name__}: {exc}"


def deliver(store: MailQueue, settings: Settings, now: datetime) -> tuple[int, int]:
    """Send every due queued mail; returns (sent, still waiting). One process at a time
    sends (`delivering`): two runs ending together never send one mail twice."""
    with store.delivering():
        return _deliver(store, settings, now)


def _deliver(store: MailQueue, settings: Settings, now: datetime) -> tuple[int, int]:
    due = store.due_mails(now)
    if not due:
        return 0, store.pending_count()
    sent = 0
    if not settings.smtp_host:
        outbox = settings.outbox_dir
        outbox.mkdir(parents=True, exist_ok=True)
        for row in due:
            name = re.sub(r"[^\w.-]", "_", row["mail_id"])[:150] + ".eml"
            (outbox / name).write_bytes(row["message"])
            store.mark_sent(row["mail_id"], now)
            sent += 1
        return sent, store.pending_count()
    try:
        client = _smtp(settings)
    except (OSError, smtplib.SMTPException) as exc:
        for row in due:
            store.mark_failed(row["mail_id"], row["attempts"], f"{type(exc).__name__}: {exc}", now)
        log.warning(
            "SMTP server %s unreachable (%s): %d mails kept for the next run",
            settings.smtp_host,
            exc,
            len(due),
        )
        return 0, store.pending_count()
    try:
        for row in due:
            try:
                client.sendmail(settings.mail_from, [row["recipient"]], row["message"])
            except (OSError, smtplib.SMTPException) as exc:
                if _permanent(exc):
                    store.mark_refused(row["mail_id"], _describe(exc), now)
                    log.warning(
                        "mail to %s refused for good (%s): given up", row["recipient"], _describe(exc)
                    )
                    continue
                store.mark_failed(row["mail_id"], row["attempts"], f"{type(exc).__name__}: {exc}", now)
                log.warning("mail to %s refused (%s): kept for the next run", row["recipient"], exc)
                continue
            store.mark_sent(row["mail_id"], now)
            sent += 1
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            client.quit()
    return sent, store.pending_count()
