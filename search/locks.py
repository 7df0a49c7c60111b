"""Named locks that die with their holder: a file lock under the data directory on one
machine, a PostgreSQL advisory lock when NEWSMON_STATE_URL names a shared database (every
machine then sees the same lock). A crawl holds its site's lock; alert delivery holds one
so two processes never send the same queued mail."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Protocol

from search.shared import AdvisoryLock


class NamedLock(Protocol):
    """What a crawl, the status page and delivery ask of a lock."""

    def acquire(self, *, wait: bool = False) -> bool:
        """Take it (waiting with `wait`); False when another holder has it."""
        ...

    def release(self) -> None:
        """Let it go."""
        ...

    def held_elsewhere(self) -> bool:
        """Whether some holder has it right now."""
        ...


class FileLock:
    """An exclusive `flock` on a file; it goes with the handle (closed, or the process gone)."""

    def __init__(self, path: Path) -> None:
        """Not taken yet."""
        self.path = path
        self.handle: IO[str] | None = None

    def acquire(self, *, wait: bool = False) -> bool:
        """Take it; without `wait`, False at once when another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self.handle = handle
        return True

    def release(self) -> None:
        """Let it go."""
        if self.handle is not None:
            self.handle.close()
            self.handle = None

    def held_elsewhere(self) -> bool:
        """Whether a process holds it right now (probed without waiting)."""
        if self.handle is not None:
            return True
        if not self.path.exists():
            return False
        probe = FileLock(self.path)
        if probe.acquire():
            probe.release()
            return False
        return True


def named_lock(name: str, path: Path, state_url: str | None) -> NamedLock:
    """The lock called `name` (`site:NAME`, `alerts:deliver`): an advisory lock in the shared
    database at `state_url`, else a file lock at `path` (one machine)."""
    return AdvisoryLock(state_url, name) if state_url else FileLock(path)


@contextmanager
def holding(lock: NamedLock) -> Iterator[None]:
    """Wait for `lock`, hold it for the block."""
    lock.acquire(wait=True)
    try:
        yield
    finally:
        lock.release()
