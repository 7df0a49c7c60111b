"""`newsmon crawl`: one crawl of the enabled (or named) sites, then their instant alerts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from crawler.cli.common import app, chosen_sites, err, fail, print_json, settings, show_table
from crawler.state import RunSummary
from search.stores import DiskFull, check_space

if TYPE_CHECKING:
    from crawler.run import CrawlResult

_COUNTS = (
    "requests",
    "not_modified",
    "new",
    "updated",
    "unchanged",
    "seen_skipped",
    "duplicates",
    "non_articles",
)


@app.command()
def crawl(
    site: Annotated[list[str] | None, typer.Option("--site", help="chỉ trang này (lặp lại được)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="bảng tóm tắt dạng JSON")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="in nhật ký chi tiết (tiếng Anh)")] = False,
) -> None:
    """Thu thập một lần các trang đang bật (hoặc các trang nêu tên): tìm bài, tải, trích xuất,
    gộp bản trùng, lưu vào kho, gửi cảnh báo."""
    from crawler.run import crawl_and_alert

    config = settings()
    sites = chosen_sites(config, site)
    if not sites:
        raise fail(f"{config.registry}: không có trang nào đang bật để thu thập", 2)
    result = crawl_and_alert(sites, config, {"LOG_LEVEL": "INFO" if verbose else "WARNING"})
    show_result(result, as_json)
    kept = sum(s.get("spooled", 0) for s in result.summaries.values())
    rejected = sum(s["errors"].get("rejected", 0) for s in result.summaries.values() if "errors" in s)
    problems = []
    if kept:
        problems.append(
            f"Elasticsearch chưa nhận {kept} bài: chúng được giữ trong {config.spool_dir} và "
            "lần thu thập sau sẽ đưa vào kho."
        )
    for name, summary in result.summaries.items():
        if "skipped" in summary:
            problems.append(f"{name}: không thu thập: {summary['skipped']}")
        elif summary.get("finish_reason") == "shutdown":
            problems.append(
                f"{name}: lần thu thập bị ngắt; những gì đã lấy được vẫn được giữ, phần còn lại "
                "lần sau sẽ lấy"
            )
    try:
        check_space(config.resolved_data_dir)
    except DiskFull as exc:  # filled up during the crawl: what could not be written is fetched again
        problems.append(str(exc))
    if rejected:
        problems.append(
            f"Elasticsearch từ chối hẳn {rejected} bài (lỗi kiểu dữ liệu): danh sách và lý do ở "
            f"{config.spool_dir / 'rejected.jsonl'}."
        )
    if problems:
        raise fail("\n".join(problems))


_HEADERS = (
    "trang",
    "yêu cầu",
    "không đổi (304)",
    "mới",
    "cập nhật",
    "như cũ",
    "đã biết",
    "bản trùng",
    "không phải bài",
    "lỗi",
    "trích xuất tốt",
    "ghi chú",
)


def show_result(result: CrawlResult, as_json: bool) -> None:
    """A crawl's (or backfill's) summaries as JSON or a table, then what the alerts said."""
    if as_json:
        print_json(result.summaries)
    else:
        _table(result.summaries)
    for line in result.alert_messages:
        err.print(line, markup=False)


def _table(summaries: dict[str, RunSummary]) -> None:
    from search.web.format import errors_text, run_note

    rows = []
    for name, summary in summaries.items():
        if "skipped" in summary:
            rows.append([name, *["-"] * 10, summary["skipped"]])
            continue
        health = f"{summary['health']:.0%}" if summary.get("health") is not None else "-"
        rows.append(
            [
                name,
                *(str(summary.get(k, 0)) for k in _COUNTS),
                errors_text(summary["errors"]) or "0",
                health,
                run_note(summary),
            ]
        )
    show_table("kết quả thu thập", _HEADERS, rows)
