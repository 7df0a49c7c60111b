"""What repeats across a site's pages is the site's, not the article's.

A crawl sees many pages of one site. For each site, the profile counts on how many of its
article pages each body line occurs (`$NEWSMON_DATA_DIR/crawl/profiles.sqlite`, or the shared
database's `profile_sites` and `profile_lines` with NEWSMON_STATE_URL, so a site crawled by
another machine's worker next time starts from what this one learnt; bounded); a
line found on at least `MIN_PAGES` pages and on a `SHARE` of all the site's pages is the
template's (a standing notice, a hotline, a copyright or "send us your news" line inside the
content block) and is left out of every later body of that site. Such a line would otherwise
fire an alert on every article and pull unrelated stories towards each other. The first
pages of a new site keep the line until it has been seen often enough; from then on, and in
every later crawl, it is gone.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import cast

LINE_MIN = 30  # characters: shorter lines (a byline, "Ảnh: ...") are left to other rules
MIN_PAGES = 5
SHARE = 0.2
MAX_LINES = 20_000  # lines remembered per site; the least seen go first


def line_key(folded_line: str) -> str | None:
    """The key of a body line, from its folded form (accents, case and spacing blind)."""
    text = " ".join(folded_line.split())
    if len(text) < LINE_MIN:
        return None
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def strip_lines(text: str, folded: str, boilerplate: frozenset[str]) -> tuple[str, str]:
    """`text` (and its folded form, line for line) without the site's boilerplate lines."""
    lines, folded_lines = text.split("\n"), folded.split("\n")
    if not boilerplate or len(lines) != len(folded_lines):
        return text, folded
    keep = [i for i, line in enumerate(folded_lines) if line_key(line) not in boilerplate]
    return "\n".join(lines[i] for i in keep), "\n".join(folded_lines[i] for i in keep)


def shared_lines(folded_texts: list[str]) -> frozenset[str]:
    """The keys of lines that several pages of one site, extracted together, all hold (on
    `MIN_PAGES` of them and a `SHARE` of them): the template's, learnt from a site's first
    pages before its profile has seen enough of them."""
    counts: dict[str, int] = {}
    for text in folded_texts:
        for key in {k for k in map(line_key, text.split("\n")) if k}:
            counts[key] = counts.get(key, 0) + 1
    floor = max(MIN_PAGES, SHARE * len(folded_texts))
    return frozenset(key for key, n in counts.items() if n >= floor)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS sites (site TEXT PRIMARY KEY, pages INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS lines (site TEXT NOT NULL, key TEXT NOT NULL, pages INTEGER NOT NULL,
                                  boilerplate INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (site, key));
"""


_SHARED_TABLES = {"sites": "profile_sites", "lines": "profile_lines"}


class SiteProfile:
    """One site's line counts, read at the start of its crawl and saved at its end (a site
    is crawled by one worker at a time: its lock)."""

    def __init__(self, path: Path, site: str, state_url: str | None = None) -> None:
        """The profile of `site` in the file at `path`, or in the database at `state_url`."""
        self.path, self.site, self.state_url = path, site, state_url
        if state_url is None:
            path.parent.mkdir(parents=True, exist_ok=True)
        db = self._connect()
        try:
            row = db.execute("SELECT pages FROM sites WHERE site = ?", (site,)).fetchone()
            self.pages = int(row[0]) if row else 0
            rows = db.execute("SELECT key, pages, boilerplate FROM lines WHERE site = ?", (site,)).fetchall()
        finally:
            db.close()
        self.counts = {key: int(n) for key, n, _ in rows}
        self.known = frozenset(key for key, _, flag in rows if flag)

    def _connect(self) -> sqlite3.Connection:
        # Imported here: the extractor imports this module for `strip_lines`, and psycopg's
        # import is a cost every extraction process would pay.
        from search.shared import SharedConnection

        # SharedConnection answers the sqlite3.Connection calls made here.
        db = (
            cast(sqlite3.Connection, SharedConnection(self.state_url, _SHARED_TABLES))
            if self.state_url
            else sqlite3.connect(self.path, timeout=30)
        )
        db.executescript(_SCHEMA)
        return db

    def add_page(self, folded_text: str) -> bool:
        """Count an article page's lines; True when a line became boilerplate just now."""
        self.pages += 1
        grew = False
        for key in {k for k in map(line_key, folded_text.split("\n")) if k}:
            self.counts[key] = self.counts.get(key, 0) + 1
            if key not in self.known and self.counts[key] >= max(MIN_PAGES, SHARE * self.pages):
                self.known = self.known | {key}
                grew = True
        if len(self.counts) > 2 * MAX_LINES:
            kept = sorted(self.counts.items(), key=lambda kv: (kv[0] in self.known, kv[1]), reverse=True)
            self.counts = dict(kept[:MAX_LINES])
        return grew

    def adopt(self, keys: frozenset[str]) -> None:
        """Take lines found shared by a batch of the site's pages as the template's."""
        self.known = self.known | keys
        for key in keys:
            self.counts[key] = max(self.counts.get(key, 0), MIN_PAGES)

    def save(self) -> None:
        """Write the counts (one transaction; a crash loses only this crawl's counting)."""
        db = self._connect()
        try:
            with db:
                db.execute(
                    "INSERT INTO sites VALUES (?, ?) ON CONFLICT(site) DO UPDATE SET pages = excluded.pages",
                    (self.site, self.pages),
                )
                db.execute("DELETE FROM lines WHERE site = ?", (self.site,))
                db.executemany(
                    "INSERT INTO lines VALUES (?, ?, ?, ?)",
                    [(self.site, key, n, int(key in self.known)) for key, n in self.counts.items()],
                )
        finally:
            db.close()
