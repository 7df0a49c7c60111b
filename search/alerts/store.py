"""The alert store: rules, ledger and mail queue in one database, so a decision and the mail
carrying it commit together: `$NEWSMON_DATA_DIR/alerts.sqlite`, or the PostgreSQL database
NEWSMON_STATE_URL names when several machines share the alerts (search/shared.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, Field

from config.settings import Settings
from search.alerts.deliver import MAILS_SCHEMA, MailQueue, migrate_mails
from search.alerts.ledger import LEDGER_SCHEMA, Ledger
from search.alerts.rules import RULES_SCHEMA, Rule, RuleTable, migrate_rules
from search.locks import holding, named_lock
from search.shared import SharedConnection
from search.stores import check, store_of


class AlertShown(BaseModel):
    """An alert as people see it, the one shape of the API (its response model), the CLI's
    `--json` and the alerts pages: its rule, its last mail and story counts, and the
    recipients the mail server refused for good."""

    name: str
    query: str
    emails: list[str] = Field(description="người nhận; chỉ khi đã đăng nhập (mã truy cập), nếu không: []")
    recipients: int = Field(description="số người nhận")
    sites: list[str]
    mode: str
    paused: bool
    created_at: str | None
    last_sent: str | None = None
    last_stories: int = 0
    stories: int = 0
    refused: list[dict[str, str]] = Field(default=[], description="người nhận máy chủ thư từ chối hẳn")


def shown_rule(rule: Rule, *, recipients: bool = True, **sent: Any) -> dict[str, Any]:
    """A rule as `AlertShown` (with what `sent` says of its mails: `last_sent`, `stories`...);
    the recipients' addresses only when `recipients` (else their count alone)."""
    return AlertShown(
        name=rule.name,
        query=rule.query,
        emails=list(rule.emails) if recipients else [],
        recipients=len(rule.emails),
        sites=list(rule.sites),
        mode=rule.mode,
        paused=rule.paused,
        created_at=rule.created_at,
        **sent,
    ).model_dump()


@dataclass(frozen=True)
class AlertView:
    """One alert with its last mail, story counts and refused recipients, shown as `AlertShown`."""

    rule: Rule
    last_sent: str | None = None
    last_stories: int = 0
    stories: int = 0
    refused: list[dict[str, str]] = field(default_factory=list)

    def shown(self, *, recipients: bool = True) -> dict[str, Any]:
        """As a mapping; without `recipients`, no address (refusals keep their reason)."""
        refused = (
            self.refused if recipients else [{"recipient": "", "error": r["error"]} for r in self.refused]
        )
        return shown_rule(
            self.rule,
            recipients=recipients,
            last_sent=self.last_sent,
            last_stories=self.last_stories,
            stories=self.stories,
            refused=refused,
        )


class AlertStore(RuleTable, Ledger, MailQueue):
    """Rules, ledger and mail queue in one SQLite file, or in the shared PostgreSQL database."""

    def __init__(self, data_dir: Path, state_url: str | None = None) -> None:
        """The store under `data_dir`, or in the database at `state_url` when given."""
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir, self.state_url = data_dir, state_url
        if state_url:
            # SharedConnection answers the sqlite3.Connection calls the mixins make.
            self.db = cast(sqlite3.Connection, SharedConnection(state_url))
        else:
            check(store_of(data_dir, "alerts.sqlite"))
            self.db = sqlite3.connect(data_dir / "alerts.sqlite", timeout=30)
            self.db.row_factory = sqlite3.Row
        self.db.executescript(RULES_SCHEMA + LEDGER_SCHEMA + MAILS_SCHEMA)
        migrate_rules(self.db)
        migrate_mails(self.db)

    @classmethod
    def of(cls, config: Settings) -> AlertStore:
        """The store these settings name (shared when NEWSMON_STATE_URL is set)."""
        url = config.shared_state
        return cls(config.resolved_data_dir, url)

    def delivering(self) -> AbstractContextManager[None]:
        """Held while this process sends queued mail: another waits, then finds them sent."""
        return holding(named_lock("alerts:deliver", self.data_dir / "alerts.deliver.lock", self.state_url))

    def overview(self) -> list[AlertView]:
        """Every alert, by name, with its mails' summary and refusals (three queries)."""
        sent, refusals = self.sent_summary(), self.refusals()
        return [
            AlertView(rule, **sent.get(rule.name, {}), refused=refusals.get(rule.name, []))
            for rule in self.rules()
        ]

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One SQLite transaction (committed on success, rolled back on error)."""
        with self.db:
            yield self.db
