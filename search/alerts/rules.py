"""Alert rules: what a user asked to be told about (name, query, recipients, sites, mode), and
how far each rule has been evaluated (its watermark), in the `rules` table of the alert store."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr

from config.limits import MAX_RECIPIENTS
from search.query import parse
from search.stores import add_columns

MODES = ("instant", "daily")
# Each evaluation re-reads what was indexed this long before the watermark (an article can
# become searchable after a later one); the ledger removes the repeats.
OVERLAP = timedelta(minutes=10)


_NAME = re.compile(r"^[\w][\w .()-]{0,79}$")

RULES_SCHEMA = """
CREATE TABLE IF NOT EXISTS rules (
    name TEXT PRIMARY KEY, query TEXT NOT NULL, emails TEXT NOT NULL, sites TEXT NOT NULL,
    mode TEXT NOT NULL, created_at TEXT NOT NULL, watermark TEXT NOT NULL, last_digest TEXT,
    paused INTEGER NOT NULL DEFAULT 0
);
"""


def migrate_rules(db: sqlite3.Connection) -> None:
    """Bring a rules table made by an earlier version up to date (a column added since)."""
    add_columns(db, "rules", {"paused": "INTEGER NOT NULL DEFAULT 0"})


class AlertError(ValueError):
    """A rule cannot be added or found; the message is meant for the user."""


class NoSuchAlert(AlertError):
    """No rule has this name."""


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
    paused: bool = False


class RuleTable:
    """The rules of an `AlertStore` (mixed into it; `db` and `transaction` come from there)."""

    db: sqlite3.Connection

    def add(
        self,
        name: str,
        query: str,
        emails: list[str],
        sites: list[str],
        *,
        mode: str,
        now: datetime | None = None,
    ) -> Rule:
        """Validate and store a rule; it alerts on what is indexed from now on."""
        if not _NAME.match(name):
            raise AlertError(
                f"tên cảnh báo {name!r}: chỉ dùng chữ, số, dấu cách, '-', '.', '(' hoặc ')' "
                "(tối đa 80 ký tự, không xuống dòng)"
            )
        _validate(query, emails, mode)
        stamp = (now or _now()).isoformat()
        try:
            with self.db as db:  # one transaction
                db.execute(
                    "INSERT INTO rules VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 0)",
                    (name, query, json.dumps(emails), json.dumps(sites), mode, stamp, stamp),
                )
        except sqlite3.IntegrityError:
            raise AlertError(f"đã có cảnh báo tên {name!r}") from None
        return self.get(name)

    def get(self, name: str) -> Rule:
        """The rule named `name`; AlertError when there is none."""
        row = self.db.execute("SELECT * FROM rules WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NoSuchAlert(f"không có cảnh báo nào tên {name!r}")
        return _rule(row)

    def rules(self) -> list[Rule]:
        """Every rule, by name."""
        return [_rule(row) for row in self.db.execute("SELECT * FROM rules ORDER BY name")]

    def update(self, name: str, query: str, emails: list[str], sites: list[str], *, mode: str) -> Rule:
        """Change a rule's query, recipients, sites or mode; what it already sent stays sent
        and its watermark is kept (the change applies to what is indexed from now on)."""
        self.get(name)
        _validate(query, emails, mode)
        with self.db as db:  # one transaction
            db.execute(
                "UPDATE rules SET query = ?, emails = ?, sites = ?, mode = ? WHERE name = ?",
                (query, json.dumps(emails), json.dumps(sites), mode, name),
            )
        return self.get(name)

    def set_paused(self, name: str, paused: bool, now: datetime | None = None) -> Rule:
        """Pause or resume a rule. A resumed rule starts from now: what was indexed while it
        was paused is not mailed afterwards (pausing means "not for a while", as in the
        alert services users know)."""
        self.get(name)
        with self.db as db:  # one transaction
            if paused:
                db.execute("UPDATE rules SET paused = 1 WHERE name = ?", (name,))
            else:
                # Ahead by the overlap, so the next evaluation starts exactly now.
                start = (now or _now()) + OVERLAP
                db.execute(
                    "UPDATE rules SET paused = 0, watermark = ? WHERE name = ? AND paused = 1",
                    (start.isoformat(), name),
                )
        return self.get(name)

    def remove(self, name: str) -> None:
        """Remove a rule (its ledger rows stay, so nothing is sent twice if it comes back)."""
        self.get(name)
        with self.db as db:  # one transaction
            db.execute("DELETE FROM rules WHERE name = ?", (name,))


def _rule(row: sqlite3.Row) -> Rule:
    return Rule(
        row["name"],
        row["query"],
        json.loads(row["emails"]),
        json.loads(row["sites"]),
        row["mode"],
        row["watermark"],
        row["last_digest"],
        row["created_at"],
        bool(row["paused"]),
    )


def _validate(query: str, emails: list[str], mode: str) -> None:
    parse(query)  # QueryError with a clear message when malformed
    if mode not in MODES:
        raise AlertError(f"chế độ (--mode) phải là một trong: {', '.join(MODES)}")
    if not emails:
        raise AlertError("cần ít nhất một địa chỉ nhận (--email)")
    if len(emails) > MAX_RECIPIENTS:
        raise AlertError(f"tối đa {MAX_RECIPIENTS} người nhận cho một cảnh báo")
    for address in emails:
        if not _valid_address(address):
            raise AlertError(f"không phải địa chỉ e-mail: {address!r}")


def _valid_address(address: str) -> bool:
    addr = parseaddr(address)[1]
    return addr == address.strip() and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", addr) is not None


def _now() -> datetime:
    return datetime.now(UTC)
