"""The `newsmon` command: one module per command group, all registered on one Typer app."""

from __future__ import annotations

from crawler.cli import alerts, crawl, es, extract, search, serve, sites  # noqa: F401 - they register commands
from crawler.cli.common import app


def main() -> None:
    """Console-script entry point."""
    app()
