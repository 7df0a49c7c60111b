"""What every command shares: the Typer app, the consoles, the process's settings, exits,
tables that fit the terminal, and one context for "Elasticsearch unreachable". Results go to
stdout, messages to stderr; both in Vietnamese, for the people who read them (logs stay English).

Exit status: 0 success; 1 the work failed (the message says what was kept); 2 bad usage or
configuration.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

import typer
from pydantic import ValidationError
from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from config.settings import Settings, describe, get_settings
from crawler.registry import RegistryError, Site, load_registry, select_sites

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="newsmon: thu thập, tìm kiếm và cảnh báo tin công đoàn."
)

err = Console(stderr=True)
out = Console(soft_wrap=True)


def settings() -> Settings:
    """The process's settings; a bad NEWSMON_* variable is a usage error (exit 2) naming it."""
    try:
        config = get_settings()
    except ValidationError as exc:
        raise fail(f"thiết lập sai:\n{describe(exc)}", 2) from None
    try:
        config.resolved_data_dir.mkdir(parents=True, exist_ok=True)
        # A file of this process's own: two commands starting at once on one data directory
        # shared one probe name, and the second to unlink it failed (ENOENT).
        with tempfile.TemporaryFile(dir=config.resolved_data_dir):
            pass
    except OSError as exc:
        raise fail(f"NEWSMON_DATA_DIR={config.data_dir}: không ghi được vào đó ({exc.strerror})", 2) from None
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
        return load_registry(config.registry)
    except RegistryError as exc:
        raise fail(str(exc), 2) from None


def chosen_sites(config: Settings, names: list[str] | None) -> list[Site]:
    """The named sites, or every enabled one; a name the registry does not know is a usage
    error (exit 2) listing the names it knows."""
    try:
        return select_sites(registry_sites(config), names or [], config.registry)
    except RegistryError as exc:
        raise fail(str(exc), 2) from None


def show_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Rows for people, never a cell cut: piped, tab-separated lines under a header line (for
    `cut`, `sort` or a spreadsheet); on a terminal, a table when it fits the width, else one
    block per row (its first cell, then its other cells as `header: value` pairs)."""
    cells = [[clean(str(cell)) for cell in row] for row in rows]
    if not sys.stdout.isatty():
        for fields in (list(headers), *cells):
            sys.stdout.write("\t".join(re.sub(r"\s", " ", cell) for cell in fields) + "\n")
        return
    table = Table(*headers, title=title)
    for row in cells:
        table.add_row(*(Text(cell) for cell in row))  # Text: crawled words are never Rich markup
    # The width the table wants with no cell cut or wrapped (measured as if the terminal were
    # unbounded: Rich clamps a measurement to the width it is given).
    if Measurement.get(out, out.options.update_width(10_000), table).maximum <= out.width:
        out.print(table)
        return
    out.print(Text(title, style="bold"))
    for row in cells:
        pairs = [f"{header}: {cell}" for header, cell in zip(headers[1:], row[1:], strict=True) if cell]
        out.print(Text(row[0], style="bold"))
        line = ""
        for pair in pairs:  # as many whole pairs on a line as fit; a pair is never split
            if line and cell_len(f"{line} · {pair}") > out.width:
                out.print(Text(line))
                line = ""
            line = f"{line} · {pair}" if line else f"  {pair}"
        out.print(Text(line))


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
        where = f"không kết nối được Elasticsearch ở {config.effective_es_url}"
        hint = "; hãy chạy `newsmon es start`" if config.managed_es else "; hãy kiểm tra NEWSMON_ES_URL"
        raise fail(where + (f"; {kept}" if kept else "") + hint) from None
    except ApiError as exc:
        if not unavailable(exc):
            raise
        where = f"Elasticsearch ở {config.effective_es_url} tạm không phục vụ được kho bài ({exc.message})"
        raise fail(where + (f"; {kept}" if kept else "") + "; hãy thử lại sau ít phút") from None
    finally:
        es.close()


def parse_day(value: str | None, option: str) -> date | None:
    """`08/12/2021` (day first) or `2021-12-08`, else a usage error naming the option."""
    from search.query import QueryError
    from search.search import parse_day as parse

    try:
        return parse(value)
    except QueryError as exc:
        raise fail(f"{option}: {exc}", 2) from None
