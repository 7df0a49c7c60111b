"""The `newsmon` command: one module per command group, all registered on one Typer app.

People read what it says in Vietnamese: the command's own help and messages are written so,
Typer's headings are set here, and the parser's usage errors are said again in Vietnamese by
`main` (Typer carries its own copy of Click, which has no translations)."""

from __future__ import annotations

import errno
import os
import re
import sys
from typing import Any

import typer

from crawler.cli import alerts, backfill, crawl, es, extract, search, serve, sites  # noqa: F401 - they register commands
from crawler.cli.common import app

ABORTED = "Đã dừng."


def _vietnamese_help(argv: list[str]) -> None:
    """Typer's help headings in Vietnamese, set only when help may be shown (asked for, or a
    command group given no command): importing Typer's Rich formatting for that costs a
    tenth of a second, which a command that does its work never needs."""
    if len(argv) > 1 and not {"--help", "-h"} & set(argv):
        return
    from typer import rich_utils

    rich_utils.ARGUMENTS_PANEL_TITLE = "Tham số"
    rich_utils.OPTIONS_PANEL_TITLE = "Tùy chọn"
    rich_utils.COMMANDS_PANEL_TITLE = "Lệnh"
    rich_utils.ERRORS_PANEL_TITLE = "Lỗi"
    rich_utils.REQUIRED_LONG_STRING = "[bắt buộc]"
    rich_utils.DEFAULT_STRING = "[mặc định: {}]"
    rich_utils.ABORTED_TEXT = ABORTED


def usage_message(exc: Exception) -> str:  # noqa: PLR0911 - one answer per kind of error
    """A usage error of the command line in Vietnamese, from the parser's exception (its class
    and attributes; its English text only when no case below matches)."""
    kind = type(exc).__name__
    param = getattr(exc, "param", None)
    hint = getattr(exc, "param_hint", None) or (
        "/".join(getattr(param, "opts", []) or []) or getattr(param, "name", "") if param is not None else ""
    )
    if isinstance(hint, list | tuple):
        hint = "/".join(hint)
    if kind == "NoSuchOption":
        option = getattr(exc, "option_name", "")
        close = sorted(getattr(exc, "possibilities", None) or [])
        said = f"không có tùy chọn {option}" + (f" (có phải: {', '.join(close)}?)" if close else "")
        return said + '; một truy vấn bắt đầu bằng dấu - thì đặt sau --, ví dụ: newsmon search -- "-x y"'
    if kind == "MissingParameter":
        argument = getattr(param, "param_type_name", "") == "argument"
        name = str(getattr(param, "name", hint)).upper()
        return f"thiếu tham số {name}" if argument else f"thiếu tùy chọn {hint}"
    if kind == "BadParameter":
        said = str(getattr(exc, "message", exc))
        if "integer" in said:
            said = "phải là một số nguyên"
        elif "greater than" in said or "less than" in said or "range" in said:
            said = f"ngoài khoảng cho phép ({said})"
        return f"giá trị không hợp lệ cho {hint}: {said}"
    if kind == "BadOptionUsage":
        return f"dùng sai tùy chọn {getattr(exc, 'option_name', '')}: {getattr(exc, 'message', exc)}"
    if kind == "UsageError" and str(exc).startswith("No such command"):
        return f"không có lệnh {str(exc).split(' ', 3)[-1].rstrip('.')}"
    if kind == "UsageError" and str(exc).startswith("Got unexpected extra argument"):
        extra = re.search(r"\(([^()]*)\)\s*$", str(exc))
        said = extra.group(1) if extra else str(exc)
        return f"thừa tham số {said} (một truy vấn nhiều từ: đặt trong dấu nháy)"
    return str(getattr(exc, "message", exc))


def main() -> None:
    """Console-script entry point: exit 0 done, 1 the work failed, 2 bad usage or configuration."""
    from search.stores import FREE_SPACE, DiskFull, StoreDamaged, is_disk_full
    from search.words import WordsFileError

    code: Any = 0
    _vietnamese_help(sys.argv[1:])
    try:
        code = app(standalone_mode=False)
    except WordsFileError as exc:  # read on the first query, so named here for every command
        sys.stderr.write(f"tệp từ ngữ sai: {exc}\n")
        code = 2
    except StoreDamaged as exc:  # a store checked when a command opens it
        sys.stderr.write(f"tệp dữ liệu hỏng: {exc}\n")
        code = 1
    except DiskFull as exc:
        sys.stderr.write(f"{exc}\n")
        code = 1
    except typer.Abort:
        sys.stderr.write(f"{ABORTED}\n")
        code = 1
    except typer.TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # the help was printed: nothing else to say
            code = 2
        else:
            ctx = getattr(exc, "ctx", None)
            path = getattr(ctx, "command_path", "newsmon")
            sys.stderr.write(f"lỗi: {usage_message(exc)}\nxem: {path} --help\n")
            code = getattr(exc, "exit_code", 2)
    except OSError as exc:  # a closed pipe (BrokenPipeError is one) ends quietly
        if is_disk_full(exc):
            sys.stderr.write(f"ổ đĩa đầy: không ghi được {exc.filename or 'thư mục dữ liệu'}; {FREE_SPACE}\n")
            code = 1
        elif exc.errno != errno.EPIPE:
            raise
    _quiet_closed_pipe()
    raise SystemExit(code if isinstance(code, int) else 0)


def _quiet_closed_pipe() -> None:
    """A reader that stopped early (`newsmon export | head -1`) ends the command quietly: what
    is still buffered for the closed pipe is dropped instead of failing at exit."""
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
