"""The alert store: rules, ledger and mail queue in one SQLite file
(`$NEWSMON_DATA_DIR/alerts.sqlite`), so a decision and the mail carrying it commit together."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from search.alerts.deliver import MAILS_SCHEMA, MailQueue, migrate_mails
from search.alerts.ledger import LEDGER_SCHEMA, Ledger
from search.alerts.rules import RULES_SCHEMA, RuleTable, migrate_rules
from search.stores import check, store_of


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

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One SQLite transaction (committed on success, rolled back on error)."""
        with self.db:
            yield self.db
