"""Extraction processes die with the crawl that started them.

Imported only by the extraction fork server (it is in the pool's preload list) and called
in every worker it forks: each asks Linux for SIGKILL when its parent dies
(`PR_SET_PDEATHSIG`), so a crawl killed with SIGKILL leaves no fork server or worker behind
(each held about 100 MB). Elsewhere than Linux it does nothing.

A parent can die before its child asks: each process therefore checks that its parent is
still the one that started it (the crawl names itself in PARENT_VARIABLE before starting
the fork server; a worker's parent is the fork server, SERVER_PID) and exits if not. Comparing
with whatever parent it found first was not enough: a crawl killed while its fork server was
still importing left the fork server, reparented to init, alive, and it held the crawl's
stderr open.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

from pipelines.extraction import PARENT_VARIABLE

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None) -> None:
    """Be killed when the parent process ends, and exit at once when the parent is no longer
    `parent` (the pid that started this process; by default the one it has now)."""
    if not sys.platform.startswith("linux"):
        return
    expected = parent if parent is not None else os.getppid()
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != expected:  # the parent died before the request took effect
        os._exit(1)


# On import: the fork server is the only importer, started by the crawl named in the variable.
_named = os.environ.get(PARENT_VARIABLE, "")
die_with_parent(int(_named) if _named.isdigit() else None)
SERVER_PID = os.getpid()  # what every worker forked from this process has as its parent
