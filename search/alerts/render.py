"""Alert mails rendered: Jinja2 templates (`templates/`), plain text + HTML, Vietnamese, UTF-8.

Crawled text only ever reaches the HTML part escaped (autoescape; the snippet's `<mark>`
tags are rebuilt around escaped text), and never reaches a header: the subject is made of
the alert's name (validated, no line breaks) and a count.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from elasticsearch import Elasticsearch
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from config.settings import Settings
from config.vntime import VN_TZ
from search.alerts import unsubscribe
from search.alerts.evaluate import Details, Match, enrich
from search.alerts.rules import Rule

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
    return Markup("").join(
        Markup("<mark>{}</mark>").format(t) if marked else Markup("{}").format(t)
        for t, marked in _parts(snippet_html)
    )


def _plain(snippet_html: str) -> str:
    return "".join(f"[{t}]" if marked else t for t, marked in _parts(snippet_html))


_env = Environment(
    loader=FileSystemLoader(_TEMPLATES),
    autoescape=select_autoescape(["html.j2"]),
    trim_blocks=False,
    keep_trailing_newline=True,
)
_env.filters.update(vn_date=_vn_date, safe_snippet=_safe_snippet, plain=_plain)


def subject(rule: Rule, count: int, part: tuple[int, int] = (1, 1), day: str | None = None) -> str:
    """`[newsmon] <alert>: 3 bài mới`, `[newsmon] <alert>: bản tin ngày 02/12/2026, 3 bài` -
    the alert name cannot carry a line break."""
    name = " ".join(rule.name.split())
    if rule.mode == "instant":
        text = f"[newsmon] {name}: {count} bài mới"
    else:
        when = date.fromisoformat(day) if day else datetime.now(VN_TZ).date()
        text = f"[newsmon] {name}: bản tin ngày {when:%d/%m/%Y}, {count} bài"
    return text + (f" (phần {part[0]}/{part[1]})" if part[1] > 1 else "")


@dataclass(frozen=True)
class MailLinks:
    """What a mail links to besides the articles: the web app's pages, when it has a public
    address, and the recipient's unsubscribe link."""

    public_url: str | None = None
    unsubscribe: str | None = None

    def story(self, match: Match) -> str | None:
        """The story page of a match."""
        if not self.public_url:
            return None
        return f"{self.public_url}/story/{quote(match.story_id or match.article_id)}"

    def alert(self, name: str) -> str | None:
        """The alert's settings page."""
        return f"{self.public_url}/alerts/{quote(name)}/edit" if self.public_url else None


def newest_first(matches: list[Match]) -> list[Match]:
    """Stories by publication time, newest first; undated ones last."""

    def moment(match: Match) -> float:
        try:
            return -datetime.fromisoformat(match.published or "").timestamp()
        except ValueError:
            return float("inf")

    return sorted(matches, key=moment)


def render(
    rule: Rule,
    recipient: str,
    matches: list[Match],
    mail_id: str,
    sender: str,
    *,
    part: tuple[int, int] = (1, 1),
    day: str | None = None,
    links: MailLinks | None = None,
    site_titles: Mapping[str, str] | None = None,
) -> bytes:
    """The whole message (RFC 5322 bytes), ready to queue."""
    links = links or MailLinks()
    titles = site_titles or {}
    context: dict[str, Any] = {
        "alert": rule.name,
        "query": rule.query,
        "recipient": recipient,
        "matches": newest_first(matches),
        "heading": f"{len(matches)} bài mới cho cảnh báo “{rule.name}”",
        "links": links,
        "site": lambda name: titles.get(name) or name,
    }
    message = EmailMessage()
    message["Subject"] = subject(rule, len(matches), part, day)
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="newsmon.local")
    message["X-Newsmon-Mail"] = re.sub(r"[^\w@.|:+-]", "_", mail_id)
    if links.unsubscribe:  # RFC 2369 + RFC 8058: mail clients offer a one-click button
        message["List-Unsubscribe"] = f"<{links.unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(_env.get_template("alert.txt.j2").render(context), charset="utf-8")
    message.add_alternative(
        _env.get_template("alert.html.j2").render(context), subtype="html", charset="utf-8"
    )
    return message.as_bytes(policy=SMTP_POLICY)


def mail_renderer(
    es: Elasticsearch,
    settings: Settings,
    *,
    site_titles: Mapping[str, str] | None = None,
    days: Mapping[str, str] | None = None,
) -> Callable[..., bytes]:
    """`render` in the shape `AlertStore.decide` calls it, fetching what the mail shows for
    the stories it carries; details are fetched once per run and shared by every rule.
    `days`: the day each daily rule's digest is for."""
    details = Details()
    secret = unsubscribe.key(settings.resolved_data_dir) if settings.public_url else b""

    def render_part(
        rule: Rule, recipient: str, fresh: list[Match], mail_id: str, part: tuple[int, int]
    ) -> bytes:
        public = settings.public_url
        links = MailLinks(public, unsubscribe.link(public, secret, rule.name, recipient) if public else None)
        return render(
            rule,
            recipient,
            enrich(es, settings.index_prefix, fresh, details),
            mail_id,
            settings.mail_from,
            part=part,
            day=(days or {}).get(rule.name),
            links=links,
            site_titles=site_titles,
        )

    return render_part
