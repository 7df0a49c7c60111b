"""What earlier crawls fetched, under `$NEWSMON_DATA_DIR/crawl/seen.sqlite`, or in the shared
database when NEWSMON_STATE_URL is set (then a worker knows what every other one fetched).

An article URL (canonical form) that was fetched before is not fetched again unless a
feed or sitemap now gives it a later date than the one recorded, or it was published
within its site's revisit window: then it is asked for again with `If-None-Match` /
`If-Modified-Since` (a 304 costs nothing more; a changed page is re-extracted and, if its
text changed, re-indexed). A URL that answered 404 or 410 is not asked for again for a
week. Marks are committed when a crawl ends normally, after the index stage has written (or
journalled) its last batch, so a crawl that dies half-way re-fetches what it had not secured.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from search.article import to_iso
from search.shared import SharedConnection
from search.stores import add_columns, use_wal

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    url TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    source_date TEXT,
    fetched_at TEXT NOT NULL
)
"""
# Columns added after the first version; an older file gains them on open.
_LATER_COLUMNS = {"published": "TEXT", "etag": "TEXT", "last_modified": "TEXT", "dead_until": "TEXT"}
DEAD_FOR = timedelta(days=7)
FETCH, SKIP = "fetch", "skip"
_COLUMNS = "source_date, dead_until, published, etag, last_modified"
_READ_AT_ONCE = 500  # URLs per query of `read_ahead`


@dataclass(frozen=True)
class Validators:
    """What a conditional request for a known article sends."""

    etag: str | None
    last_modified: str | None


def _later(new: str | None, old: str | None) -> bool:
    """True when the source date `new` is later than the recorded `old` one."""
    new_iso, old_iso = to_iso(new), to_iso(old)
    if not new_iso:
        return False
    if not old_iso:
        return True
    return datetime.fromisoformat(new_iso) > datetime.fromisoformat(old_iso)


def _now() -> datetime:
    return datetime.now(UTC)


class SeenStore:
    """Canonical article URLs already fetched, with the feed/sitemap date they had then."""

    def __init__(self, path: Path | str, state_url: str | None = None) -> None:
        """The store at `path`, or in the database at `state_url` when given."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.pending: list[tuple[str | None, ...]] = []
        # Rows `read_ahead` fetched for `plan`, by URL (None: not in the store).
        self.ahead: dict[str, tuple[Any, ...] | None] = {}
        if state_url:
            # SharedConnection answers the sqlite3.Connection calls made here.
            self.db = cast(sqlite3.Connection, SharedConnection(state_url))
        else:
            self.db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        use_wal(self.db)
        self.db.execute(_SCHEMA)
        self.db.commit()
        add_columns(self.db, "seen", _LATER_COLUMNS)

    def read_ahead(self, urls: Iterable[str]) -> None:
        """Read the rows of the URLs a feed, sitemap or listing names, a few hundred per query,
        for `plan` to use: one lookup per URL on the crawl's reactor thread was a round trip
        each to a shared database."""
        wanted = [url for url in dict.fromkeys(urls) if url not in self.ahead]
        for start in range(0, len(wanted), _READ_AT_ONCE):
            chunk = wanted[start : start + _READ_AT_ONCE]
            self.ahead.update(dict.fromkeys(chunk))
            marks = ",".join("?" * len(chunk))
            query = f"SELECT url, {_COLUMNS} FROM seen WHERE url IN ({marks})"  # noqa: S608 - marks only
            for row in self.db.execute(query, chunk):
                self.ahead[row[0]] = tuple(row[1:])

    def plan(self, url: str, source_date: str | None = None, revisit_days: int = 0) -> str | Validators:
        """One lookup (none when `read_ahead` read it): FETCH (never fetched, re-dated since by
        a feed or sitemap, or a dead link whose week is over), the validators to ask again
        with (published within the last `revisit_days` days), or SKIP."""
        if url in self.ahead:
            row = self.ahead.pop(url)
        else:
            row = self.db.execute(f"SELECT {_COLUMNS} FROM seen WHERE url = ?", (url,)).fetchone()  # noqa: S608
        if row is None:
            return FETCH
        known, dead_until, published, etag, last_modified = row
        if dead_until:
            return SKIP if dead_until > _now().isoformat() else FETCH
        if _later(source_date, known):
            return FETCH
        if (
            revisit_days > 0
            and published
            and datetime.fromisoformat(published) >= _now() - timedelta(days=revisit_days)
        ):
            return Validators(etag, last_modified)
        return SKIP

    def needs_fetch(self, url: str, source_date: str | None = None) -> bool:
        """True when `url` was never fetched, or a feed or sitemap now dates it later."""
        return self.plan(url, source_date) == FETCH

    def mark(
        self,
        url: str,
        site: str,
        source_date: str | None = None,
        *,
        published: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        """Remember `url` (kept in memory until `commit`, so spiders sharing the file
        never hold a write lock during the crawl)."""
        self.pending.append(
            (
                url,
                site,
                source_date,
                _now().isoformat(timespec="seconds"),
                published,
                etag,
                last_modified,
                None,
            )
        )

    def mark_dead(self, url: str, site: str) -> None:
        """`url` answered 404 or 410: not asked for again for a week."""
        now = _now()
        self.pending.append(
            (
                url,
                site,
                None,
                now.isoformat(timespec="seconds"),
                None,
                None,
                None,
                (now + DEAD_FOR).isoformat(timespec="seconds"),
            )
        )

    def commit(self) -> None:
        """Write the marks kept since the last commit."""
        with self.db:
            # A revalidation (304) or a page without validators keeps what is known already.
            self.db.executemany(
                "INSERT INTO seen (url, site, source_date, fetched_at, published, etag, last_modified, "
                "dead_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(url) DO UPDATE SET "
                "source_date = COALESCE(excluded.source_date, seen.source_date), "
                "fetched_at = excluded.fetched_at, "
                "published = COALESCE(excluded.published, seen.published), "
                "etag = COALESCE(excluded.etag, seen.etag), "
                "last_modified = COALESCE(excluded.last_modified, seen.last_modified), "
                "dead_until = excluded.dead_until",
                self.pending,
            )
        self.pending.clear()

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def count(self, site: str | None = None) -> int:
        """How many URLs are remembered (for one site, or all)."""
        if site is None:
            return int(self.db.execute("SELECT count(*) FROM seen").fetchone()[0])
        return int(self.db.execute("SELECT count(*) FROM seen WHERE site = ?", (site,)).fetchone()[0])
