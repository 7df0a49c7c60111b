"""The `newsmon` command: one module per command group, all registered on one Typer app."""

from __future__ import annotations

import sys

from crawler.cli import alerts, crawl, es, extract, search, serve, sites  # noqa: F401 - they register commands
from crawler.cli.common import app


def main() -> None:
    """Console-script entry point."""
    from search.stores import StoreDamaged
    from search.words import WordsFileError

    try:
        app()
    except WordsFileError as exc:  # read on the first query, so named here for every command
        sys.stderr.write(f"bad words file: {exc}\n")
        raise SystemExit(2) from None
    except StoreDamaged as exc:  # a store checked when a command opens it
        sys.stderr.write(f"damaged store: {exc}\n")
        raise SystemExit(1) from None
