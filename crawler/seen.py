"""What earlier crawls fetched, under `$NEWSMON_DATA_DIR/crawl/seen.sqlite`.

An article URL (canonical form) that was fetched before is not fetched again unless a
feed or sitemap now gives it a later date than the one recorded. Marks are committed when
a crawl ends normally, after the index stage has written (or spooled) its last batch, so
a crawl that dies half-way re-fetches what it had not secured.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from search.article import to_iso

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    url TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    source_date TEXT,
    fetched_at TEXT NOT NULL
)
"""


def _later(new: str | None, old: str | None) -> bool:
    """True when the source date `new` is later than the recorded `old` one."""
    new_iso, old_iso = to_iso(new), to_iso(old)
    if not new_iso:
        return False
    if not old_iso:
        return True
    return datetime.fromisoformat(new_iso) > datetime.fromisoformat(old_iso)


class SeenStore:
    """Canonical article URLs already fetched, with the feed/sitemap date they had then."""

    def __init__(self, path: Path | str) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.pending: list[tuple[str, str, str | None, str]] = []
        self.db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(_SCHEMA)
        self.db.commit()

    def needs_fetch(self, url: str, source_date: str | None = None) -> bool:
        """True when `url` was never fetched, or a feed or sitemap now dates it later."""
        row = self.db.execute("SELECT source_date FROM seen WHERE url = ?", (url,)).fetchone()
        return row is None or _later(source_date, row[0])

    def mark(self, url: str, site: str, source_date: str | None = None) -> None:
        """Remember `url` (kept in memory until `commit`, so spiders sharing the file
        never hold a write lock during the crawl)."""
        self.pending.append((url, site, source_date, datetime.now(UTC).isoformat(timespec="seconds")))

    def commit(self) -> None:
        """Write the marks kept since the last commit."""
        with self.db:
            self.db.executemany(
                "INSERT INTO seen (url, site, source_date, fetched_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(url) DO UPDATE SET source_date = excluded.source_date, "
                "fetched_at = excluded.fetched_at", self.pending)
        self.pending.clear()

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def count(self, site: str | None = None) -> int:
        """How many URLs are remembered (for one site, or all)."""
        if site is None:
            return int(self.db.execute("SELECT count(*) FROM seen").fetchone()[0])
        return int(self.db.execute("SELECT count(*) FROM seen WHERE site = ?", (site,)).fetchone()[0])
