"""The one check of site names people type (CLI options, web forms, API bodies)."""

from __future__ import annotations

from collections.abc import Sequence

SHOWN = 30  # names listed in the message; a long registry is cut with its count


def unknown_sites(unknown: Sequence[str], known: Sequence[str]) -> str | None:
    """The Vietnamese message for names the registry does not have (listing those it has), or
    None when `unknown` is empty."""
    if not unknown:
        return None
    named = ", ".join(repr(name[:60]) for name in unknown[:5])
    listed = ", ".join(known[:SHOWN]) + (f", … ({len(known)} trang)" if len(known) > SHOWN else "")
    return f"không có trang nào tên {named}; các trang có: {listed or '(chưa có trang nào)'}"
