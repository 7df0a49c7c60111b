"""newsmon's SQLite stores checked before use: a damaged or truncated file is named, with
what to do, instead of being read as empty (a damaged seen store made every crawl fetch
nothing and exit 0; an emptied alert store read as "no alerts")."""

from __future__ import annotations

import errno
import shutil
import sqlite3
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
    if store.path.stat().st_size == 0:  # SQLite never leaves a store it created empty
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


def check_all(data_dir: Path) -> None:
    """Check every store of the data directory (StoreDamaged names the first damaged one)."""
    for store in stores(data_dir):
        check(store)


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
