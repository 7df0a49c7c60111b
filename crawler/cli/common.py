"""What every command shares: the Typer app, the consoles, the process's settings, exits,
and one context for "Elasticsearch unreachable". Results go to stdout, messages to stderr.

Exit status: 0 success; 1 the work failed (the message says what was kept); 2 bad usage or
configuration.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from config.settings import Settings, describe, get_settings
from crawler.registry import RegistryError, Site, load_registry

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="newsmon: crawl, search and alert on Vietnamese trade-union news.")

err = Console(stderr=True)
out = Console(soft_wrap=True)


def settings() -> Settings:
    """The process's settings; a bad NEWSMON_* variable is a usage error (exit 2) naming it."""
    try:
        config = get_settings()
    except ValidationError as exc:
        raise fail(f"bad setting:\n{describe(exc)}", 2) from None
    try:
        config.resolved_data_dir.mkdir(parents=True, exist_ok=True)
        probe = config.resolved_data_dir / ".newsmon-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise fail(f"NEWSMON_DATA_DIR={config.data_dir}: cannot write there ({exc.strerror})", 2) from None
    return config


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `message` on stderr and return the exit to raise."""
    sys.stderr.write(message.rstrip("\n") + "\n")
    return typer.Exit(code)


# Control characters (ESC starts terminal escape sequences) in crawled text never reach the
# terminal; tabs and line breaks stay.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str | None) -> str:
    """Crawled text safe for a terminal: control characters removed (print it with
    `markup=False` or as a `rich.text.Text`, so `[...]` is never read as markup)."""
    return _CONTROL.sub("", text or "")


def print_json(obj: Any) -> None:
    """One JSON document on one line of stdout."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def registry_sites(config: Settings) -> list[Site]:
    """The registry's sites; an invalid registry is a configuration error (exit 2)."""
    try:
        return load_registry(config.config)
    except RegistryError as exc:
        raise fail(str(exc), 2) from None


@contextmanager
def elasticsearch(config: Settings, kept: str = "") -> Iterator[Elasticsearch]:
    """A client, closed afterwards; an unreachable or unavailable cluster (restarting, the
    index closed) ends the command with exit 1 and one line saying where it was looked for
    (and `kept`: what was not lost)."""
    from elasticsearch import ApiError
    from elasticsearch import ConnectionError as ESConnectionError

    from search.es import make_client, unavailable

    es = make_client(config)
    try:
        yield es
    except ESConnectionError:
        where = f"cannot reach Elasticsearch at {config.effective_es_url}"
        raise fail(where + (f"; {kept}" if kept else "")) from None
    except ApiError as exc:
        if not unavailable(exc):
            raise
        where = f"Elasticsearch at {config.effective_es_url} cannot serve the archive now ({exc.message})"
        raise fail(where + (f"; {kept}" if kept else "") + "; try again in a moment") from None
    finally:
        es.close()


def parse_day(value: str | None, option: str) -> date | None:
    """`2021-12-08` or `08/12/2021` (day first), else a usage error naming the option."""
    from search.query import QueryError
    from search.search import parse_day as parse

    try:
        return parse(value)
    except QueryError as exc:
        raise fail(f"{option}: {exc}", 2) from None
