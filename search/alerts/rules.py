"""Alert rules: what a user asked to be told about (name, query, recipients, sites, mode), and
how far each rule has been evaluated (its watermark), in the `rules` table of the alert store."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr

from search.query import parse

MODES = ("instant", "daily")


_NAME = re.compile(r"^[\w][\w .()-]{0,79}$")

RULES_SCHEMA = """
CREATE TABLE IF NOT EXISTS rules (
    name TEXT PRIMARY KEY, query TEXT NOT NULL, emails TEXT NOT NULL, sites TEXT NOT NULL,
    mode TEXT NOT NULL, created_at TEXT NOT NULL, watermark TEXT NOT NULL, last_digest TEXT
);
"""


class AlertError(ValueError):
    """A rule cannot be added or found; the message is meant for the user."""


@dataclass(frozen=True)
class Rule:
    """One alert as stored."""

    name: str
    query: str
    emails: list[str]
    sites: list[str]
    mode: str
    watermark: str
    last_digest: str | None = None
    created_at: str | None = None


class RuleTable:
    """The rules of an `AlertStore` (mixed into it; `db` and `transaction` come from there)."""

    db: sqlite3.Connection

    def add(self, name: str, query: str, emails: list[str], sites: list[str], *, mode: str,
            now: datetime | None = None) -> Rule:
        """Validate and store a rule; it alerts on what is indexed from now on."""
        if not _NAME.match(name):
            raise AlertError(f"alert name {name!r}: use letters, digits, spaces, '-', '.', '(' or ')' "
                             "(at most 80 characters, no line breaks)")
        parse(query)  # QueryError with a clear message when malformed
        if mode not in MODES:
            raise AlertError(f"--mode must be one of {', '.join(MODES)}")
        if not emails:
            raise AlertError("give at least one --email")
        for address in emails:
            if not _valid_address(address):
                raise AlertError(f"not an e-mail address: {address!r}")
        stamp = (now or _now()).isoformat()
        try:
            with self.db as db:  # one transaction
                db.execute("INSERT INTO rules VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                           (name, query, json.dumps(emails), json.dumps(sites), mode, stamp, stamp))
        except sqlite3.IntegrityError:
            raise AlertError(f"an alert named {name!r} exists already") from None
        return self.get(name)

    def get(self, name: str) -> Rule:
        """The rule named `name`; AlertError when there is none."""
        row = self.db.execute("SELECT * FROM rules WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise AlertError(f"no alert named {name!r}")
        return _rule(row)

    def rules(self) -> list[Rule]:
        """Every rule, by name."""
        return [_rule(row) for row in self.db.execute("SELECT * FROM rules ORDER BY name")]

    def remove(self, name: str) -> None:
        """Remove a rule (its ledger rows stay, so nothing is sent twice if it comes back)."""
        self.get(name)
        with self.db as db:  # one transaction
            db.execute("DELETE FROM rules WHERE name = ?", (name,))


def _rule(row: sqlite3.Row) -> Rule:
    return Rule(row["name"], row["query"], json.loads(row["emails"]), json.loads(row["sites"]), row["mode"],
                row["watermark"], row["last_digest"], row["created_at"])


def _valid_address(address: str) -> bool:
    addr = parseaddr(address)[1]
    return addr == address.strip() and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", addr) is not None


def _now() -> datetime:
    return datetime.now(UTC)
