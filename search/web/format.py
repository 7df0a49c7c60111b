"""How numbers and dates read on the web app's pages: Vietnamese conventions, Vietnam time."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlsplit

from config.settings import VN_TZ


def number(value: int | float | None) -> str:
    """`1234567` -> `1.234.567` (Vietnamese thousands separator)."""
    if not isinstance(value, int | float):
        return ""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"{int(value):,}".replace(",", ".")


def moment(value: str | None) -> str:
    """An ISO date-time as `dd/mm/yyyy HH:MM` in Asia/Ho_Chi_Minh ('' when absent or unreadable)."""
    if not value or not isinstance(value, str):
        return ""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return ""
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=VN_TZ)
    return parsed.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")


def day(value: date | str | None) -> str:
    """A date as `dd/mm/yyyy`."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return ""
    return value.strftime("%d/%m/%Y")


def percent(value: float | None) -> str:
    """`0.93` -> `93%`."""
    return f"{round(value * 100)}%" if isinstance(value, int | float) else ""


def web_url(value: str | None) -> str:
    """A crawled address fit for a link: http(s) only (a `javascript:` or `data:` address
    would run in the user's browser), else `#`."""
    if not value:
        return "#"
    scheme = urlsplit(value.strip()).scheme.lower()
    return value if scheme in ("http", "https") else "#"
