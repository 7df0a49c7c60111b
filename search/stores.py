"""newsmon's SQLite stores checked before use: a damaged or truncated file is named, with
what to do, instead of being read as empty (a damaged seen store made every crawl fetch
nothing and exit 0; an emptied alert store read as "no alerts")."""

from __future__ import annotations

import errno
import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


class StoreDamaged(Exception):
    """A store file that SQLite cannot read whole; the message names it and says what to do."""


@dataclass(frozen=True)
class Store:
    """One store file of the data directory and what to do when it is damaged."""

    path: Path
    advice: str


def stores(data_dir: Path) -> list[Store]:
    """The stores a crawl and the alerts read, with the advice a damaged one gets."""
    return [
        Store(
            data_dir / "crawl" / "seen.sqlite",
            "hãy chuyển tệp sang chỗ khác: lần thu thập sau tải lại mọi bài một lần và không lưu bài nào "
            "hai lần",
        ),
        Store(
            data_dir / "spool" / "journal.sqlite",
            "tệp giữ các bài đang chờ Elasticsearch: hãy giữ một bản để cứu dữ liệu (sqlite3 TỆP "
            "'.recover'), rồi chuyển tệp sang chỗ khác",
        ),
        Store(
            data_dir / "crawl" / "profiles.sqlite",
            "hãy chuyển tệp sang chỗ khác: khuôn mẫu của mỗi trang được học lại ở lần thu thập sau",
        ),
        Store(
            data_dir / "alerts.sqlite",
            "tệp giữ các cảnh báo và những gì đã gửi: hãy khôi phục từ bản sao lưu, hoặc giữ một bản "
            "(sqlite3 TỆP '.recover') rồi chuyển tệp sang chỗ khác để bắt đầu lại không có cảnh báo",
        ),
    ]


def store_of(data_dir: Path, name: str) -> Store:
    """The store whose file is called `name` (e.g. `alerts.sqlite`)."""
    return next(s for s in stores(data_dir) if s.path.name == name)


def check(store: Store) -> None:
    """StoreDamaged when the file exists but is empty (truncated) or fails SQLite's check."""
    if not store.path.exists():
        return
    problem = None
    if _stays_empty(store.path):  # SQLite never leaves a store it created empty
        problem = "tệp rỗng (bị cắt cụt)"
    else:
        try:
            db = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True, timeout=30)
            try:
                result = db.execute("PRAGMA quick_check").fetchone()
            finally:
                db.close()
            if result is None or result[0] != "ok":
                problem = f"SQLite thấy tệp hỏng ({result[0] if result else 'không trả lời'})"
        except sqlite3.DatabaseError as exc:
            problem = f"SQLite không đọc được tệp ({exc})"
    if problem:
        raise StoreDamaged(f"{store.path}: {problem}; {store.advice}")


# A store another process is creating is empty from its open to its first page, a few
# milliseconds (two crawls started together: one read the other's new store as truncated).
_CREATING_SECONDS = 2.0


def _stays_empty(path: Path) -> bool:
    """True when `path` is empty and still is after the time a store takes to be created."""
    deadline = time.monotonic() + _CREATING_SECONDS
    while path.stat().st_size == 0:
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.05)
    return False


def check_all(data_dir: Path) -> None:
    """Check every store of the data directory (StoreDamaged names the first damaged one)."""
    for store in stores(data_dir):
        check(store)


def use_wal(db: sqlite3.Connection, patience: float = 30.0) -> None:
    """Put a store in write-ahead-log mode (readers never wait for the writer). On a new file,
    processes asking at once can be refused at once ("database is locked", without SQLite's
    busy wait: two crawls started together, one failed); a refused one asks again until the
    file is in that mode or `patience` seconds have gone."""
    deadline = time.monotonic() + patience
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def add_columns(db: sqlite3.Connection, table: str, columns: dict[str, str]) -> None:
    """Add each of `columns` (name -> SQL type) that `table` lacks: a store an earlier version
    made. Two processes opening it at once may both find a column missing; the one that adds
    it second finds it there and goes on (two crawls started together: one failed)."""
    for column, kind in columns.items():
        if column in _columns(db, table):
            continue
        try:
            with db:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        except sqlite3.OperationalError:
            if column not in _columns(db, table):
                raise


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def set_aside(path: Path) -> Path:
    """Rename a damaged file out of the way (kept for recovery); returns its new name."""
    target = path.with_name(f"{path.name}.damaged-{datetime.now(UTC):%Y%m%dT%H%M%S}")
    path.rename(target)
    return target


# Below this much free space under the data directory a crawl or the service does not start:
# SQLite cannot create a store on a full disk, and a store it could not finish is empty.
MIN_FREE_BYTES = 50 * 1024 * 1024
FREE_SPACE = "hãy giải phóng chỗ trống rồi chạy lại (không mất gì: bài chưa lưu được sẽ được lấy lại lần sau)"


class DiskFull(Exception):
    """The data directory's disk has too little space left; the message names it (Vietnamese)."""


def is_disk_full(error: BaseException) -> bool:
    """Whether `error` is a write refused for want of space (ENOSPC, a quota, SQLite's "full")."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return isinstance(error, sqlite3.OperationalError) and "full" in str(error)


def check_space(data_dir: Path, need: int = MIN_FREE_BYTES) -> None:
    """DiskFull when the disk holding `data_dir` has less than `need` bytes free."""
    holder = next((p for p in [data_dir, *data_dir.parents] if p.exists()), data_dir)  # not made yet
    free = shutil.disk_usage(holder).free
    if free < need:
        raise DiskFull(
            f"ổ đĩa chứa {data_dir} gần đầy: còn {free // (1024 * 1024)} MB, cần ít nhất "
            f"{need // (1024 * 1024)} MB; {FREE_SPACE}"
        )
