"""The crawl's state on disk, in one place: where each site's lock and the run log live, the
lock a crawl holds while it runs, and reading and appending the run log (runs.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypedDict, cast

from config.settings import Settings
from search.locks import NamedLock, named_lock
from search.shared import SCHEMA_KEY


class RunSummary(TypedDict, total=False):
    """One site's crawl as the runner writes it to runs.jsonl and the CLI, `newsmon status`,
    the sites page and the watch read it: a typo in a key fails `make lint`, not a crawl."""

    site: str
    started: str
    finished: str
    # Counts (crawler.run.SUMMARY_KEYS names the statistic each comes from).
    requests: int
    pages: int
    not_modified: int
    seen_skipped: int
    robots_blocked: int
    new: int
    updated: int
    unchanged: int
    duplicates: int
    non_articles: int
    spooled: int
    revisits: int
    revisits_unchanged: int
    dead_links: int
    moved: int
    challenges: int
    split_articles: int
    before_date: int
    errors: dict[str, int]
    finish_reason: str | None
    duration_s: float
    cut_off: str
    moved_to: str
    warning: str
    # Extraction health: the share of article pages read whole, over `article_pages` pages,
    # and the site's usual share when this one fell well below it.
    health: float
    article_pages: int
    health_usual: float
    # Why the site was not crawled (a crawl of it ran already), and a backfill's day.
    skipped: str
    backfill: str


# runs.jsonl grows forever; its end is what every reader wants.
TAIL_BYTES = 4 * 1024 * 1024


def crawl_dir(config: Settings) -> Path:
    """The crawl's folder under the data directory."""
    return config.resolved_data_dir / "crawl"


def runs_log(config: Settings) -> Path:
    """The log of per-site summaries (one JSON line per site and crawl)."""
    return crawl_dir(config) / "runs.jsonl"


def lock_path(config: Settings, name: str) -> Path:
    """The lock a crawl of site `name` holds while it runs."""
    return crawl_dir(config) / "locks" / f"{name}.lock"


def site_lock(config: Settings, name: str) -> NamedLock:
    """The lock a crawl of site `name` holds while it runs: shared by every machine when
    NEWSMON_STATE_URL is set, else a file lock at `lock_path`."""
    return named_lock(_lock_name(name), lock_path(config, name), config.shared_state)


def _lock_name(site: str) -> str:
    return f"site:{site}"


def sites_running(config: Settings, names: list[str]) -> set[str]:
    """Which of the sites `names` a crawl holds the lock of right now (shared: one query)."""
    if config.shared_state:
        from search.shared import held_locks

        held = held_locks(config.shared_state, [_lock_name(name) for name in names])
        return {name for name in names if _lock_name(name) in held}
    return {name for name in names if site_lock(config, name).held_elsewhere()}


def read_runs(path: Path) -> list[RunSummary]:
    """The runs at the end of the log (its last TAIL_BYTES), oldest first; a line cut by a
    crash or without a site is skipped."""
    if not path.exists():
        return []
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(max(0, size - TAIL_BYTES))
        tail = handle.read().decode("utf-8", "replace")
    runs: list[RunSummary] = []
    for line in tail.splitlines():
        try:
            run = json.loads(line)
        except ValueError:
            continue
        if isinstance(run, dict) and isinstance(run.get("site"), str):
            runs.append(cast(RunSummary, run))
    return runs


def append_runs(path: Path, runs: list[RunSummary]) -> None:
    """Add runs to the log, one line each."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as log:
        log.writelines(json.dumps(run, ensure_ascii=False) + "\n" for run in runs)


# The shared run log: what runs.jsonl holds, one row per run, so the sites page of any web
# process shows every worker's crawls.
_RUNS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS crawl_runs (id BIGSERIAL PRIMARY KEY, site TEXT NOT NULL, run TEXT NOT NULL)"
)
SHARED_RUNS_READ = 20_000  # the newest rows read, as TAIL_BYTES bounds the file's
_RUNS_READY: set[str] = set()  # databases this process has made the table in


def _runs_table(conn: Any, url: str) -> None:
    """Make the shared run log's table, once per process and database."""
    if url not in _RUNS_READY:
        with conn.transaction():  # two workers' first runs at once: one create at a time
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_KEY,))
            conn.execute(_RUNS_SCHEMA)
        _RUNS_READY.add(url)


def record_runs(config: Settings, runs: list[RunSummary]) -> None:
    """Add runs to the run log: runs.jsonl, or the shared database's when NEWSMON_STATE_URL is set."""
    url = config.shared_state
    if url is None:
        append_runs(runs_log(config), runs)
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        _runs_table(conn, url)
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO crawl_runs (site, run) VALUES (%s, %s)",
                [(run.get("site", ""), json.dumps(run, ensure_ascii=False)) for run in runs],
            )


def recorded_runs(config: Settings) -> list[RunSummary]:
    """The run log's newest runs, oldest first (wherever `record_runs` keeps them)."""
    url = config.shared_state
    if url is None:
        return read_runs(runs_log(config))
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        _runs_table(conn, url)
        rows = conn.execute(
            "SELECT run FROM crawl_runs ORDER BY id DESC LIMIT %s", (SHARED_RUNS_READ,)
        ).fetchall()
    runs = [json.loads(row[0]) for row in reversed(rows)]
    return [
        cast(RunSummary, run) for run in runs if isinstance(run, dict) and isinstance(run.get("site"), str)
    ]
