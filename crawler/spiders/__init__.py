"""The spiders: the one generic news spider and the small ones of `sites check`, `sites
discover` and `extract`."""

from __future__ import annotations

from twisted.python.failure import Failure


def reason(failure: Failure) -> str:
    """Why a request failed, in one line: the error's message, else its type's name."""
    kind = failure.type.__name__ if failure.type is not None else "error"
    return str(failure.getErrorMessage() or kind)
