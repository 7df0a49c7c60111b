"""How numbers and dates read on the web app's pages: Vietnamese conventions, Vietnam time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from config.vntime import VN_TZ


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


def published(value: str | None) -> str:
    """An article's date as `dd/mm/yyyy HH:MM` in Vietnam time, or `dd/mm/yyyy` alone when the
    site gave no time of day (a date alone is stored as midnight in Vietnam, as the extractor
    reads every date; see pipelines/extraction/dates.py)."""
    shown = moment(value)
    return shown.removesuffix(" 00:00")


STATES = {"ok": "bình thường", "warning": "có cảnh báo", "failed": "lỗi", "never": "chưa thu thập"}

_ERRORS = {
    "download": "lỗi tải trang",
    "challenge": "trang chống robot",
    "extract": "không đọc được bài",
    "journal_damaged": "sổ chờ hỏng",
    "private_address": "địa chỉ nội bộ bị chặn",
    "rejected": "Elasticsearch từ chối",
    "sitemap": "sitemap hỏng",
    "split_page": "trang tiếp của bài lỗi",
}
_HTTP = {"403": "bị chặn", "404": "không tồn tại", "410": "đã gỡ", "429": "bị giới hạn tốc độ"}


def error_label(kind: str) -> str:
    """A crawl's error kind (a key of its summary's `errors`) in words: `http_404` ->
    `HTTP 404 (không tồn tại)`."""
    if kind.startswith("http_"):
        status = kind.removeprefix("http_")
        meaning = _HTTP.get(status) or ("lỗi máy chủ" if status.startswith("5") else "")
        return f"HTTP {status}" + (f" ({meaning})" if meaning else "")
    return _ERRORS.get(kind, kind)


def errors_text(errors: dict[str, int] | None) -> str:
    """A crawl's errors as `HTTP 404 (không tồn tại): 7; lỗi tải trang: 1` ('' for none)."""
    return "; ".join(f"{error_label(kind)}: {number(n)}" for kind, n in (errors or {}).items() if n)


_FINISH = {
    "shutdown": "bị ngắt giữa chừng",
    "closespider_pagecount": "đủ hạn mức trang",
    "closespider_timeout": "hết thời gian cho phép",
    "cancelled": "bị hủy",
}


def run_note(run: Mapping[str, object]) -> str:
    """What a crawl's summary says beyond its counts: why it stopped early, how it ended,
    its warning (Vietnamese, as the crawl wrote them)."""
    notes = [str(run[key]) for key in ("cut_off", "warning") if run.get(key)]
    if run.get("backfill"):
        notes.insert(0, f"nạp bài cũ từ {day(str(run['backfill']))}")
    finish = run.get("finish_reason")
    if isinstance(finish, str) and finish not in ("finished", "closespider_pagecount"):
        notes.append(_FINISH.get(finish, finish))
    return "; ".join(notes)


_WEEKDAYS = {
    "0": "Chủ nhật",
    "1": "thứ Hai",
    "2": "thứ Ba",
    "3": "thứ Tư",
    "4": "thứ Năm",
    "5": "thứ Sáu",
    "6": "thứ Bảy",
    "7": "Chủ nhật",
    "sun": "Chủ nhật",
    "mon": "thứ Hai",
    "tue": "thứ Ba",
    "wed": "thứ Tư",
    "thu": "thứ Năm",
    "fri": "thứ Sáu",
    "sat": "thứ Bảy",
}


def schedule_words(cron: str) -> str:
    """A site's crawl schedule (five cron fields, Vietnam time) in words: `0 6 * * *` ->
    `hằng ngày lúc 06:00`; a form not read here is shown as `lịch cron <expr>`."""
    fields = cron.split()
    raw = f"lịch cron {cron}"
    if len(fields) != 5 or fields[2:4] != ["*", "*"]:
        return raw
    minute, hour, _, _, weekday = fields
    if minute.startswith("*/") and hour == "*" and minute[2:].isdigit():
        when = f"mỗi {int(minute[2:])} phút"
    elif minute.isdigit() and hour.startswith("*/") and hour[2:].isdigit():
        when = f"mỗi {int(hour[2:])} giờ" + (f", phút {int(minute)}" if int(minute) else "")
    elif minute.isdigit() and all(h.isdigit() for h in hour.split(",")):
        when = "lúc " + ", ".join(f"{int(h):02d}:{int(minute):02d}" for h in hour.split(","))
    else:
        return raw
    if weekday == "*":
        return ("hằng ngày " if when.startswith("lúc") else "") + when
    days = [_WEEKDAYS.get(d.lower()) for d in weekday.replace("-", ",").split(",")]
    if any(d is None for d in days) or weekday.count("-") > 1:
        return raw
    joined = " đến ".join if "-" in weekday else ", ".join
    return f"{joined([d for d in days if d])} {when}"


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


def backfill_text(backfill: dict[str, Any] | None) -> str:
    """Where a site's backfill stands, in a line (`''` for none)."""
    if not backfill:
        return ""
    since, done, queued = day(backfill.get("since")), backfill.get("done", 0), backfill.get("queued", 0)
    if backfill.get("state") == "finished":
        return f"đã nạp bài cũ từ {since} ({number(backfill.get('indexed', 0))} bài)"
    share = f" ({done / queued:.0%})" if queued else ""
    where = f"{number(done)}/{number(queued)} bài{share}"
    if backfill.get("state") == "running":
        left = backfill.get("seconds_left")
        eta = f", còn khoảng {max(1, round(left / 60))} phút" if isinstance(left, int | float) else ""
        return f"đang nạp bài cũ từ {since}: {where}{eta}"
    return f"nạp bài cũ từ {since} bị ngắt ở {where}: chạy lại để tiếp tục"
