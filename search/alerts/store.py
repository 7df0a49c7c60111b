"""The alert store: rules, ledger and mail queue in one SQLite file
(`$NEWSMON_DATA_DIR/alerts.sqlite`), so a decision and the mail carrying it commit together."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from search.alerts.deliver import MAILS_SCHEMA, MailQueue, migrate_mails
from search.alerts.ledger import LEDGER_SCHEMA, Ledger
from search.alerts.rules import RULES_SCHEMA, Rule, RuleTable, migrate_rules
from search.stores import check, store_of


def shown_rule(rule: Rule, *, recipients: bool = True) -> dict[str, Any]:
    """A rule as the API, the CLI's --json and the alerts page show it; the recipients'
    addresses only when `recipients` (else their count alone)."""
    return {
        "name": rule.name,
        "query": rule.query,
        "emails": list(rule.emails) if recipients else [],
        "recipients": len(rule.emails),
        "sites": rule.sites,
        "mode": rule.mode,
        "paused": rule.paused,
        "created_at": rule.created_at,
    }


@dataclass(frozen=True)
class AlertView:
    """One alert as people see it: its rule, its last mail and story counts, and the
    recipients the mail server refused for good (the one shape of the API, CLI and pages)."""

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
        return {
            **shown_rule(self.rule, recipients=recipients),
            "last_sent": self.last_sent,
            "last_stories": self.last_stories,
            "stories": self.stories,
            "refused": refused,
        }


class AlertStore(RuleTable, Ledger, MailQueue):
    """Rules, ledger and mail queue in one SQLite file."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        check(store_of(data_dir, "alerts.sqlite"))
        self.db = sqlite3.connect(data_dir / "alerts.sqlite", timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.executescript(RULES_SCHEMA + LEDGER_SCHEMA + MAILS_SCHEMA)
        migrate_rules(self.db)
        migrate_mails(self.db)

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
