"""Alert mails: rendering (Jinja2, plain text + HTML, Vietnamese, UTF-8) and delivery
(smtplib: none / STARTTLS / SSL, optional login; or `.eml` files in the outbox when no
SMTP host is configured). A mail that cannot be delivered stays queued in the alert store
and is retried by the next run, with back-off.

Crawled text only ever reaches the HTML part escaped (Jinja2 autoescape; the snippet's
`<mark>` tags are rebuilt around escaped text), and never reaches a header: the subject
is made of the alert's name (validated, no line breaks) and a count.
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from config.settings import VN_TZ, Settings
from search.alerts import AlertStore, Match, Rule

log = logging.getLogger(__name__)

_TEMPLATES = Path(__file__).parent / "templates"
_MARK = re.compile(r"</?mark>")


def _vn_date(value: str) -> str:
    """dd/mm/yyyy HH:MM in Vietnam time."""
    try:
        return datetime.fromisoformat(value).astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")
    except ValueError:
        return value


def _parts(snippet_html: str) -> list[tuple[str, bool]]:
    return [(html.unescape(part), bool(i % 2)) for i, part in enumerate(_MARK.split(snippet_html))]


def _safe_snippet(snippet_html: str) -> Markup:
    """The snippet rebuilt from its text: everything escaped, only `<mark>` kept."""
    return Markup("").join(Markup("<mark>{}</mark>").format(t) if marked else Markup("{}").format(t)
                           for t, marked in _parts(snippet_html))


def _plain(snippet_html: str) -> str:
    return "".join(f"[{t}]" if marked else t for t, marked in _parts(snippet_html))


_env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html.j2"]),
                   trim_blocks=False, keep_trailing_newline=True)
_env.filters.update(vn_date=_vn_date, safe_snippet=_safe_snippet, plain=_plain)


def subject(rule: Rule, count: int, part: tuple[int, int] = (1, 1)) -> str:
    """`[newsmon] <alert>: 3 bài mới` - the alert name cannot carry a line break."""
    name = " ".join(rule.name.split())
    kind = "bản tin ngày" if rule.mode == "daily" else "bài mới"
    text = f"[newsmon] {name}: {count} {kind}" if rule.mode == "instant" else \
        f"[newsmon] {name}: {kind}, {count} bài"
    return text + (f" (phần {part[0]}/{part[1]})" if part[1] > 1 else "")


def render(rule: Rule, recipient: str, matches: list[Match], mail_id: str, sender: str, *,
           part: tuple[int, int] = (1, 1)) -> bytes:
    """The whole message (RFC 5322 bytes), ready to queue."""
    context: dict[str, Any] = {
        "alert": rule.name, "query": rule.query, "recipient": recipient, "matches": matches,
        "heading": f"{len(matches)} bài mới cho cảnh báo “{rule.name}”",
    }
    message = EmailMessage()
    message["Subject"] = subject(rule, len(matches), part)
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="newsmon.local")
    message["X-Newsmon-Mail"] = re.sub(r"[^\w@.|:+-]", "_", mail_id)
    message.set_content(_env.get_template("alert.txt.j2").render(context), charset="utf-8")
    message.add_alternative(_env.get_template("alert.html.j2").render(context), subtype="html",
                            charset="utf-8")
    return message.as_bytes(policy=SMTP_POLICY)


def _smtp(settings: Settings) -> smtplib.SMTP:
    host, port = settings.smtp_host or "", settings.smtp_port
    if settings.smtp_security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port or 465, timeout=30,
                                                context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port or 25, timeout=30)
        if settings.smtp_security == "starttls":
            client.starttls(context=ssl.create_default_context())
    if settings.smtp_user:
        client.login(settings.smtp_user, settings.smtp_password or "")
    return client


def deliver(store: AlertStore, settings: Settings, now: datetime) -> tuple[int, int]:
    """Send every due queued mail; returns (sent, still waiting)."""
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
        log.warning("SMTP server %s unreachable (%s): %d mails kept for the next run",
                    settings.smtp_host, exc, len(due))
        return 0, store.pending_count()
    try:
        for row in due:
            try:
                client.sendmail(settings.mail_from, [row["recipient"]], row["message"])
            except (OSError, smtplib.SMTPException) as exc:
                store.mark_failed(row["mail_id"], row["attempts"], f"{type(exc).__name__}: {exc}", now)
                log.warning("mail to %s refused (%s): kept for the next run", row["recipient"], exc)
                continue
            store.mark_sent(row["mail_id"], now)
            sent += 1
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            client.quit()
    return sent, store.pending_count()
