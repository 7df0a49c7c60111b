"""The journal: articles Elasticsearch has not acknowledged yet, kept until it has.

One SQLite file (`$NEWSMON_DATA_DIR/spool/journal.sqlite`, WAL, one row per article). A batch
that cannot be written (Elasticsearch unreachable, refusing writes, rejecting items with a
retryable status) is appended in one transaction; the next crawl replays the rows and
deletes each only after Elasticsearch acknowledged its article. A SIGKILL at any moment
leaves every article either in the journal or in the index (replaying one twice writes
nothing twice: same id, same content). A row that cannot be read back is moved to the
`damaged` table and reported; the others are replayed. Items Elasticsearch rejects for good
(a mapping error) go to `rejected.jsonl` beside it, with the URL and the reason, for a person
to look at.

A second record guards the first: every appended article is also written (and synced) to
`journal.mirror.jsonl` before the journal's transaction, and the mirror is emptied when the
journal is. A journal file SQLite can no longer read is set aside and rebuilt from its mirror
(`recover`), so a damaged journal loses nothing a healthy one would have delivered (an article
already acknowledged may come back and is written again as unchanged: same id, same text).

With NEWSMON_STATE_URL the journal lives in the shared database (`journal_entries`,
`journal_damaged`) instead: a worker that dies for good leaves its waiting articles to the
next crawl of any machine, which matters because the seen store, shared too, already counts
them as fetched. PostgreSQL is the second record there (no mirror file), and a machine that
had a local journal hands its waiting rows to the shared one the first time it opens it.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from search.article import Article
from search.shared import SharedConnection
from search.stores import Store, StoreDamaged, check, set_aside, use_wal

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (id INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT NOT NULL,
                                    reason TEXT NOT NULL, added TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS damaged (id INTEGER PRIMARY KEY, doc TEXT NOT NULL, error TEXT NOT NULL,
                                    found TEXT NOT NULL);
"""
_SHARED_TABLES = {"entries": "journal_entries", "damaged": "journal_damaged"}
# Spool files of earlier versions (a JSON-lines file renamed while it was replayed), and the
# journal's own second record when the journal has been rebuilt from it.
MIRROR = "journal.mirror.jsonl"
_RECOVERED = "journal.recovered.jsonl"
_LEGACY = ("articles.jsonl", "articles.taking", _RECOVERED)


def recover(directory: Path) -> int | None:
    """A journal SQLite cannot read is set aside and rebuilt from its mirror: the number of
    articles taken back, or None when the journal is sound (or there is no mirror to rebuild
    it from: then the crawl's store check names it)."""
    path = directory / "journal.sqlite"
    try:
        check(Store(path, ""))
    except StoreDamaged as exc:
        mirror = directory / MIRROR
        if not mirror.exists():
            return None
        kept = set_aside(path)
        for extra in ("journal.sqlite-wal", "journal.sqlite-shm"):
            (directory / extra).unlink(missing_ok=True)
        mirror.rename(directory / _RECOVERED)  # adopted like an earlier version's spool
        journal = Journal(directory)
        try:
            count = journal.count()
        finally:
            journal.close()
        log.error(
            "%s; rebuilt from its second record (%d articles waiting); the damaged file is kept as %s",
            exc,
            count,
            kept,
        )
        return count
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Journal:
    """Articles waiting for Elasticsearch; safe to share between the spiders of one process."""

    def __init__(self, directory: Path, state_url: str | None = None) -> None:
        """The journal under `directory`, or in the database at `state_url` when given
        (`directory` still holds `rejected.jsonl`, for a person on this machine)."""
        directory.mkdir(parents=True, exist_ok=True)
        self.directory, self.shared = directory, state_url is not None
        self.rejected_path = directory / "rejected.jsonl"
        self.damaged_found = 0
        # One connection, used from the pool's threads one call at a time.
        self._lock = threading.RLock()
        if state_url:
            # SharedConnection answers the sqlite3.Connection calls made here.
            self.db = cast(sqlite3.Connection, SharedConnection(state_url, _SHARED_TABLES))
            self.db.executescript(_SCHEMA)
            self._adopt_local()
            return
        self.db = sqlite3.connect(
            directory / "journal.sqlite", timeout=30, check_same_thread=False, isolation_level=None
        )
        use_wal(self.db)
        self.db.executescript(_SCHEMA)
        self._adopt_legacy()

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def append(self, docs: list[Article], reason: str) -> None:
        """Keep `docs` until Elasticsearch acknowledges them (one transaction, after their
        second record in the mirror)."""
        rows = [(json.dumps(doc.to_dict(), ensure_ascii=False), reason[:300], _now()) for doc in docs]
        if not self.shared:
            with (self.directory / MIRROR).open("a", encoding="utf-8") as mirror:
                mirror.writelines(doc + "\n" for doc, _, _ in rows)
                mirror.flush()
                os.fsync(mirror.fileno())
        with self._transaction():
            self.db.executemany("INSERT INTO entries (doc, reason, added) VALUES (?, ?, ?)", rows)

    def count(self) -> int:
        """Articles waiting."""
        with self._lock:
            return int(self.db.execute("SELECT count(*) FROM entries").fetchone()[0])

    def damaged(self) -> int:
        """Rows that could not be read back (kept in the `damaged` table)."""
        with self._lock:
            return int(self.db.execute("SELECT count(*) FROM damaged").fetchone()[0])

    def batches(self, size: int) -> Iterator[list[tuple[int, Article]]]:
        """The waiting articles, oldest first, `size` at a time; a row that cannot be read is
        moved to `damaged` (and counted in `damaged_found`) instead."""
        last = 0
        while True:
            with self._lock:
                rows = self.db.execute(
                    "SELECT id, doc FROM entries WHERE id > ? ORDER BY id LIMIT ?", (last, size)
                ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            good: list[tuple[int, Article]] = []
            for row_id, doc in rows:
                try:
                    good.append((row_id, Article.from_dict(json.loads(doc))))
                except (ValueError, TypeError) as exc:
                    self._quarantine(row_id, doc, f"{type(exc).__name__}: {exc}")
            if good:
                yield good

    def remove(self, ids: list[int]) -> None:
        """Forget the rows whose articles Elasticsearch acknowledged (and the mirror, once
        nothing waits any more)."""
        with self._transaction():
            self.db.executemany("DELETE FROM entries WHERE id = ?", [(i,) for i in ids])
        if not self.shared and self.count() == 0:
            (self.directory / MIRROR).unlink(missing_ok=True)

    def reject(self, doc: Article, reason: str) -> None:
        """An article Elasticsearch will never take as it is: kept where a person can see it."""
        record = {"url": doc.url, "reason": reason[:1000], "at": _now(), "article": doc.to_dict()}
        with self.rejected_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")

    def _quarantine(self, row_id: int, doc: str, error: str) -> None:
        with self._transaction():
            self.db.execute(
                "INSERT INTO damaged VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE "
                "SET doc = excluded.doc, error = excluded.error, found = excluded.found",
                (row_id, doc, error, _now()),
            )
            self.db.execute("DELETE FROM entries WHERE id = ?", (row_id,))
        self.damaged_found += 1
        log.error(
            "journal row %d cannot be read (%s); moved to the 'damaged' table of %s",
            row_id,
            error,
            "the shared database" if self.shared else self.directory / "journal.sqlite",
        )

    def _adopt_local(self) -> None:
        """Hand the rows a local journal of this machine still holds to the shared one (each
        batch committed there before it is deleted here: a crash replays it twice at worst,
        which writes nothing twice)."""
        if not (self.directory / "journal.sqlite").exists():
            return
        local = Journal(self.directory)
        try:
            for rows in local.batches(500):
                self.append([doc for _, doc in rows], "local journal")
                local.remove([row for row, _ in rows])
            self.damaged_found += local.damaged_found
        finally:
            local.close()

    def _adopt_legacy(self) -> None:
        """Take over a JSON-lines spool an earlier version left (a damaged line is kept aside)."""
        for name in _LEGACY:
            path = self.directory / name
            if not path.exists():
                continue
            good, bad = [], []
            for line in path.read_bytes().splitlines():
                try:
                    good.append(Article.from_dict(json.loads(line)))
                except (ValueError, TypeError) as exc:
                    bad.append((line.decode("utf-8", "replace"), f"{type(exc).__name__}: {exc}"))
            with self._transaction():
                self.db.executemany(
                    "INSERT INTO entries (doc, reason, added) VALUES (?, ?, ?)",
                    [(json.dumps(d.to_dict(), ensure_ascii=False), "earlier spool", _now()) for d in good],
                )
                self.db.executemany(
                    "INSERT INTO damaged (doc, error, found) VALUES (?, ?, ?)",
                    [(doc, error, _now()) for doc, error in bad if doc.strip()],
                )
            self.damaged_found += sum(1 for doc, _ in bad if doc.strip())
            path.unlink()  # after the commit: a crash before it leaves the file to adopt again

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an error (in the shared database, its
        own transaction: no lock across processes is needed to add or remove rows)."""
        with self._lock:
            if self.shared:
                with self.db:
                    yield self.db
                return
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
