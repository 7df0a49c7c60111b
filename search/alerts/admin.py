"""Mails to the installation's administrators (NEWSMON_ADMIN_EMAIL) about newsmon itself, a
site that needs attention: queued in the alert store's mail queue, so they are retried and
never lost like alert mails, and queued once per episode key."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid

from config.settings import Settings
from search.alerts.store import AlertStore

ADMIN = "(quản trị)"  # the `alert` column of an admin mail: no rule has this name


def queue_admin_mail(
    store: AlertStore, settings: Settings, *, key: str, subject: str, body: str, now: datetime
) -> int:
    """Queue `subject`/`body` (plain text) for each admin address unless this `key` was
    queued before; returns how many mails were queued."""
    queued = 0
    stamp = now.isoformat()
    with store.db as db:  # one transaction
        for recipient in settings.admin_email:
            message = EmailMessage()
            message["From"] = settings.mail_from
            message["To"] = recipient
            message["Subject"] = subject.replace("\n", " ")[:200]
            message["Date"] = formatdate(localtime=False)
            message["Message-ID"] = make_msgid(domain="newsmon.local")
            message.set_content(body)
            cursor = db.execute(
                "INSERT OR IGNORE INTO mails (mail_id, alert, recipient, message, "
                "created_at, next_try) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    f"admin|{key}|{recipient}",
                    ADMIN,
                    recipient,
                    message.as_bytes(policy=SMTP_POLICY),
                    stamp,
                    stamp,
                ),
            )
            queued += cursor.rowcount
    return queued
