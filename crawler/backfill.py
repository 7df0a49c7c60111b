"""A site's history, fetched once: where each backfill stands, kept on disk so a killed or
rebooted backfill goes on where it stopped.

One row per site in `$NEWSMON_DATA_DIR/crawl/backfill.sqlite` (in the shared database's
`backfill` table with NEWSMON_STATE_URL: any worker resumes it, the sites page of any web
process shows it): the date it reaches back to,
when it started (articles published after that moment are news, mailed as a crawl's are;
those before are history, never mailed), its counts and its state. The articles it fetched
are in the crawl's seen store, committed batch by batch once the index stage holds them, so a
resumed backfill does not fetch them again.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

from config.settings import Settings
from crawler.state import crawl_dir
from search.shared import SharedConnection
from search.stores import use_wal

RUNNING, INTERRUPTED, FINISHED = "running", "interrupted", "finished"

_SCHEMA = """CREATE TABLE IF NOT EXISTS backfill (
    site TEXT PRIMARY KEY, since TEXT NOT NULL, started_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    state TEXT NOT NULL, queued INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0,
    indexed INTEGER NOT NULL DEFAULT 0, rate REAL, finished_at TEXT)"""


@dataclass
class Backfill:
    """One site's backfill: how far back, since when, how far along."""

    site: str
    since: str  # ISO date the backfill reaches back to
    started_at: str  # ISO moment it first started (kept when it resumes)
    updated_at: str
    state: str  # running, interrupted (killed, or stopped before the end), finished
    queued: int = 0  # article pages found so far that it fetches
    done: int = 0  # of those, fetched and handled
    indexed: int = 0  # articles the index stage took
    rate: float | None = None  # articles per second lately (for the time left)
    finished_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)

    @property
    def seconds_left(self) -> float | None:
        """What is left at the recent rate; None while unknown."""
        if self.state != RUNNING or not self.rate or self.queued <= self.done:
            return None
        return (self.queued - self.done) / self.rate


def _path(config: Settings) -> Path:
    return crawl_dir(config) / "backfill.sqlite"


class BackfillStore:
    """The backfill table; each call is its own short transaction (several processes)."""

    def __init__(self, config: Settings) -> None:
        """The table in the data directory's file, or in the shared database when configured."""
        if config.shared_state:
            # SharedConnection answers the sqlite3.Connection calls made here (rows by name too).
            self.db = cast(sqlite3.Connection, SharedConnection(config.shared_state))
        else:
            path = _path(config)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=30, check_same_thread=False)
            self.db.row_factory = sqlite3.Row
            use_wal(self.db)
        self.db.execute(_SCHEMA)
        self.db.commit()

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def get(self, site: str) -> Backfill | None:
        """The site's backfill, if it ever had one."""
        row = self.db.execute("SELECT * FROM backfill WHERE site = ?", (site,)).fetchone()
        return Backfill(**dict(row)) if row is not None else None

    def all(self) -> dict[str, Backfill]:
        """Every site's backfill, by site."""
        rows = self.db.execute("SELECT * FROM backfill").fetchall()
        return {row["site"]: Backfill(**dict(row)) for row in rows}

    def begin(self, site: str, since: date, now: datetime | None = None) -> Backfill:
        """Start (or resume) the site's backfill to `since`. One not finished to the same date
        resumes and keeps its start; otherwise a new one starts now with its counts at zero."""
        moment = (now or datetime.now(UTC)).isoformat(timespec="seconds")
        found = self.get(site)
        with self.db:
            if found is not None and found.state != FINISHED and found.since == since.isoformat():
                self.db.execute(
                    "UPDATE backfill SET state = ?, updated_at = ? WHERE site = ?", (RUNNING, moment, site)
                )
            else:
                self.db.execute(
                    "INSERT INTO backfill (site, since, started_at, updated_at, state) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT(site) DO UPDATE SET since = excluded.since, "
                    "started_at = excluded.started_at, updated_at = excluded.updated_at, "
                    "state = excluded.state, queued = 0, done = 0, indexed = 0, rate = NULL, "
                    "finished_at = NULL",
                    (site, since.isoformat(), moment, moment, RUNNING),
                )
        begun = self.get(site)
        assert begun is not None
        return begun

    def progress(self, site: str, *, queued: int, done: int, indexed: int, rate: float | None) -> None:
        """Record how far it is (the counts are this run's on top of what earlier runs did)."""
        with self.db:
            self.db.execute(
                "UPDATE backfill SET queued = ?, done = ?, indexed = ?, rate = ?, updated_at = ? "
                "WHERE site = ?",
                (queued, done, indexed, rate, datetime.now(UTC).isoformat(timespec="seconds"), site),
            )

    def end(self, site: str, *, finished: bool) -> None:
        """It reached its date (finished) or stopped before (interrupted: run it again)."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self.db:
            self.db.execute(
                "UPDATE backfill SET state = ?, updated_at = ?, finished_at = ?, rate = NULL WHERE site = ?",
                (FINISHED if finished else INTERRUPTED, now, now if finished else None, site),
            )


def current(config: Settings) -> dict[str, Backfill]:
    """Every site's backfill as last recorded, by site (none when no backfill ever ran); a
    row still marked running may belong to a process that is gone: `crawler.status` tells
    by the site's lock."""
    if not config.shared_state and not _path(config).exists():
        return {}
    store = BackfillStore(config)
    try:
        return store.all()
    finally:
        store.close()
