"""State several machines share, on PostgreSQL (NEWSMON_STATE_URL), in the shape newsmon's
SQLite stores already use.

`SharedConnection` answers the part of `sqlite3.Connection`'s API the stores call
(`execute` with `?` parameters, `executemany`, `executescript`, `with db:` as one
transaction, rows readable by position and by column name, `sqlite3.IntegrityError` on a
duplicate key), so the alert store runs unchanged on either engine. The few SQLite words
the stores use are translated (`_SQL`); SQLite's `BEGIN IMMEDIATE`, which serialises two
processes deciding alerts, becomes a transaction-scoped advisory lock.

`AdvisoryLock` is a lock that dies with its holder: PostgreSQL releases a session's
advisory locks when its connection ends, however the process ended.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg
    from psycopg.rows import RowMaker
    from psycopg.transaction import Transaction


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a name (`site:NAME`, `scheduler`, ...)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


_DECIDE_KEY = lock_key("alerts:decide")
# Schema changes wait for each other: PostgreSQL's CREATE ... IF NOT EXISTS is not safe against
# a concurrent one (two crawls opening a new shared database at once: one failed to start).
SCHEMA_KEY = lock_key("schema")
_DDL = re.compile(r"^\s*(CREATE|ALTER)\b", re.I)

_SQL: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^\s*BEGIN IMMEDIATE\s*$", re.I), f"SELECT pg_advisory_xact_lock({_DECIDE_KEY})"),
    (
        re.compile(r"^\s*PRAGMA table_info\((\w+)\)\s*$", re.I),
        r"SELECT ordinal_position, column_name FROM information_schema.columns "
        r"WHERE table_schema = current_schema() AND table_name = '\1' ORDER BY ordinal_position",
    ),
    (re.compile(r"^\s*PRAGMA journal_mode=WAL\s*$", re.I), "SELECT 1"),  # SQLite's own business
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b"), "BIGSERIAL PRIMARY KEY"),
    # A store adds a column it finds missing; another process may have added it meanwhile.
    (re.compile(r"\bADD COLUMN\b(?! IF NOT EXISTS)", re.I), "ADD COLUMN IF NOT EXISTS"),
]


def translate(sql: str, tables: dict[str, str] | None = None) -> str:
    """One SQLite statement as PostgreSQL reads it (parameters become `%s`; a table named in
    `tables` by its name in the store's file gets its name in the shared database)."""
    for pattern, replacement in _SQL:
        sql = pattern.sub(replacement, sql)
    if tables:
        sql = re.sub(r"\b(" + "|".join(map(re.escape, tables)) + r")\b", lambda m: tables[m[1]], sql)
    if re.match(r"\s*INSERT OR IGNORE INTO\b", sql, re.I):
        sql = (
            re.sub(r"INSERT OR IGNORE INTO", "INSERT INTO", sql, count=1, flags=re.I)
            + " ON CONFLICT DO NOTHING"
        )
    # The stores' statements hold no literal `?` or `%`: every `?` is a parameter.
    return sql.replace("%", "%%").replace("?", "%s")


class Row(tuple[Any, ...]):
    """A result row readable like `sqlite3.Row`: by position and by column name."""

    names: tuple[str, ...]

    def __new__(cls, names: tuple[str, ...], values: Sequence[Any]) -> Row:
        """A row of `values` under `names`."""
        row = super().__new__(cls, values)
        row.names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        """By position (int, slice) or by column name (str)."""
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names.index(key))
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """The column names, as `sqlite3.Row.keys()`."""
        return list(self.names)


def _rows(cursor: psycopg.Cursor[Any]) -> RowMaker[Row]:
    names = tuple(column.name for column in cursor.description or ())
    return lambda values: Row(names, values)


class SharedConnection:
    """A PostgreSQL connection with the subset of `sqlite3.Connection` the stores use."""

    def __init__(self, url: str, tables: dict[str, str] | None = None) -> None:
        """Connect (autocommit: `with db:` opens each transaction). `tables` renames a store's
        tables whose names in its own file (`entries`, `lines`) would say nothing beside other
        stores' tables in one database."""
        import psycopg  # here, not above: every command imports this module, few connect

        self.raw: psycopg.Connection[Row] = psycopg.connect(url, autocommit=True, row_factory=_rows)
        self._open: list[AbstractContextManager[Transaction]] = []
        self.tables = tables

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Row]:
        """Run one statement; its cursor (fetchone, fetchall, iteration)."""
        from psycopg.errors import IntegrityError

        statement = translate(sql, self.tables)
        try:
            if _DDL.match(statement):
                with self.raw.transaction():  # the lock is held until this transaction ends
                    self.raw.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_KEY,))
                    return self.raw.execute(statement, tuple(params))
            return self.raw.execute(statement, tuple(params))
        except IntegrityError as exc:
            raise sqlite3.IntegrityError(str(exc)) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per row."""
        from psycopg.errors import IntegrityError

        try:
            with self.raw.cursor() as cursor:
                cursor.executemany(translate(sql, self.tables), [tuple(r) for r in rows])
        except IntegrityError as exc:
            raise sqlite3.IntegrityError(str(exc)) from exc

    def executescript(self, script: str) -> None:
        """Run `;`-separated statements (schemas: no `;` inside a statement)."""
        for statement in script.split(";"):
            if statement.strip():
                self.execute(statement)

    def __enter__(self) -> SharedConnection:
        """Begin a transaction (nested: a savepoint)."""
        transaction = self.raw.transaction()
        transaction.__enter__()
        self._open.append(transaction)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, trace: TracebackType | None
    ) -> None:
        """Commit, or roll back on an exception (which then goes on)."""
        self._open.pop().__exit__(kind, exc, trace)

    def commit(self) -> None:
        """Nothing to do: outside `with db:` every statement commits by itself."""

    def close(self) -> None:
        """Close the connection (its advisory locks go with it)."""
        self.raw.close()


class AdvisoryLock:
    """A named lock held by one connection until released or until its holder dies."""

    def __init__(self, url: str, name: str) -> None:
        """Not taken yet: `acquire` takes it."""
        self.url, self.name, self.key = url, name, lock_key(name)
        self.conn: psycopg.Connection[Any] | None = None

    def acquire(self, *, wait: bool = False) -> bool:
        """Take the lock (waiting for it with `wait`); False when another holder has it."""
        if self.conn is None:
            import psycopg

            self.conn = psycopg.connect(self.url, autocommit=True)
        if wait:
            self.conn.execute("SELECT pg_advisory_lock(%s)", (self.key,))
            return True
        row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        if row and row[0]:
            return True
        self.conn.close()
        self.conn = None
        return False

    def release(self) -> None:
        """Let it go (closing the connection releases it)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def held_elsewhere(self) -> bool:
        """Whether some connection holds it now (this object's own included)."""
        return bool(held_locks(self.url, [self.name]))


def held_locks(url: str, names: list[str]) -> set[str]:
    """Which of the named advisory locks some connection holds now: one query, however many
    (the sites page asks for every site's at each view)."""
    # A bigint key is held as its high and low 32 bits (objsubid 1).
    halves = {
        ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF): name for name in names for key in [lock_key(name)]
    }
    if not halves:
        return set()
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT classid::text::bigint, objid::text::bigint FROM pg_locks "
            "WHERE locktype = 'advisory' AND granted AND objsubid = 1"
        ).fetchall()
    held = {(int(high), int(low)) for high, low in rows}
    return {name for pair, name in halves.items() if pair in held}
