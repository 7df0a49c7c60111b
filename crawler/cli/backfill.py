"""`newsmon backfill`: a site's history back to a date, searchable and never mailed."""

from __future__ import annotations

from typing import Annotated

import typer

from crawler.cli.common import app, chosen_sites, err, fail, settings


@app.command()
def backfill(
    site: Annotated[str, typer.Option("--site", help="tên trang trong danh sách trang")],
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="lấy bài từ ngày này (dd/mm/yyyy); bỏ trống để tiếp tục lần nạp đang dở"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="bảng tóm tắt dạng JSON")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="in nhật ký chi tiết (tiếng Anh)")] = False,
) -> None:
    """Nạp bài cũ của một trang đến một ngày (sơ đồ trang, RSS, trang danh sách): bài cũ tìm
    được nhưng không gửi cảnh báo. Bị ngắt thì chạy lại lệnh để tiếp tục từ chỗ dừng."""
    from crawler.backfill import FINISHED, BackfillStore
    from crawler.cli.crawl import show_result
    from crawler.run import run_backfill
    from search.search import parse_day
    from search.web.format import day as day_text
    from search.web.format import number

    config = settings()
    chosen = chosen_sites(config, [site])[0]
    if since is None:
        store = BackfillStore(config)
        try:
            found = store.get(chosen.name)
        finally:
            store.close()
        if found is None or found.state == FINISHED:
            raise fail(f"{chosen.name}: không có lần nạp nào đang dở; hãy cho --since dd/mm/yyyy", 2)
        day = parse_day(found.since)
    else:
        from search.query import QueryError

        try:
            day = parse_day(since)
        except QueryError as exc:
            raise fail(f"--since: {exc}", 2) from exc
    assert day is not None
    result = run_backfill(chosen, day, config, {"LOG_LEVEL": "INFO" if verbose else "WARNING"})
    summary = result.summaries[chosen.name]
    show_result(result, as_json)
    if "skipped" in summary:
        raise fail(f"{chosen.name}: không nạp: {summary['skipped']}")
    store = BackfillStore(config)
    try:
        state = store.get(chosen.name)
    finally:
        store.close()
    assert state is not None
    if state.state != FINISHED:
        raise fail(
            f"{chosen.name}: lần nạp bị ngắt ở {number(state.done)}/{number(state.queued)} bài; "
            f"chạy lại `newsmon backfill --site {chosen.name}` để tiếp tục"
        )
    err.print(
        f"{chosen.name}: đã nạp xong bài từ {day_text(day)} ({number(state.indexed)} bài đã vào kho); "
        "bài cũ tìm được nhưng không gửi cảnh báo",
        markup=False,
    )
