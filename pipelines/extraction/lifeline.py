"""Extraction processes die with the crawl that started them.

Imported only by the extraction fork server (it is in the pool's preload list) and called
in every worker it forks: each asks Linux for SIGKILL when its parent dies
(`PR_SET_PDEATHSIG`), so a crawl killed with SIGKILL leaves no fork server or worker behind
(each held about 100 MB). Elsewhere than Linux it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Be killed when the parent process ends (at once if it has already)."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


die_with_parent()  # on import: the fork server is the only importer
