"""`newsmon es start|stop|status`: the local managed node or cluster; `es rollover|snapshot|restore`:
the article indices on any cluster."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from crawler.cli.common import app, clean, elasticsearch, fail, out, print_json, settings

es_app = typer.Typer(no_args_is_help=True, help="Nút Elasticsearch cục bộ do newsmon quản lý.")
app.add_typer(es_app, name="es")


@es_app.command("start")
def es_start(
    nodes: Annotated[
        int | None,
        typer.Option("--nodes", min=1, max=9, help="số nút của cụm cục bộ (mặc định NEWSMON_ES_NODES)"),
    ] = None,
) -> None:
    """Cài (lần đầu) và khởi động nút cục bộ (hoặc một cụm nhiều nút); chờ đến khi nó sẵn sàng."""
    from search.node import NodeError, start

    config = settings()
    if not config.managed_es:
        raise fail(
            f"đã đặt NEWSMON_ES_URL ({config.es_url}): newsmon không quản lý cụm đó; bỏ biến này "
            "để dùng nút cục bộ",
            2,
        )
    try:
        out.print(start(config, nodes), markup=False)
    except NodeError as exc:
        raise fail(f"không khởi động được Elasticsearch: {exc}") from None


@es_app.command("stop")
def es_stop() -> None:
    """Dừng nút cục bộ đúng cách."""
    from search.node import stop

    config = settings()
    if not config.managed_es:
        raise fail("đã đặt NEWSMON_ES_URL: newsmon không dừng cụm nó không quản lý", 2)
    out.print(stop(config), markup=False)


@es_app.command("status")
def es_status(as_json: Annotated[bool, typer.Option("--json", help="dạng JSON")] = False) -> None:
    """Phiên bản, tình trạng, số bài và các mô-đun; mã thoát 1 khi không kết nối được."""
    from search.es import installed_modules, make_client, node_version
    from search.schema import alias_name, count

    config = settings()
    es = make_client(config)
    try:
        health = es.cluster.health(timeout="2s")
        info = {
            "url": config.effective_es_url,
            "managed": config.managed_es,
            "version": node_version(es),
            "health": health["status"],
            "cluster": health["cluster_name"],
            "articles": count(es, config.index_prefix),
            "alias": alias_name(config.index_prefix),
            "modules": installed_modules(es),
        }
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        where = "nút cục bộ: hãy chạy `newsmon es start`" if config.managed_es else config.effective_es_url
        said = f"Elasticsearch không chạy hoặc không kết nối được ({where}): {type(exc).__name__}"
        raise fail(said) from None
    finally:
        es.close()
    if as_json:
        print_json(info)
        return
    labels = {
        "url": "địa chỉ",
        "managed": "do newsmon quản lý",
        "version": "phiên bản",
        "health": "tình trạng",
        "cluster": "cụm",
        "articles": "số bài",
        "alias": "bí danh chỉ mục",
        "modules": "mô-đun",
    }
    for key, value in info.items():
        shown = (
            ", ".join(value)
            if isinstance(value, list)
            else ("có" if value is True else "không" if value is False else value)
        )
        out.print(f"{labels[key]}: {shown}", markup=False)


@es_app.command("rollover")
def es_rollover(
    force: Annotated[bool, typer.Option("--force", help="bắt đầu chỉ mục mới ngay, không chờ đủ cỡ")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="dạng JSON")] = False,
) -> None:
    """Bắt đầu chỉ mục bài mới khi chỉ mục đang ghi đã đủ cỡ (NEWSMON_ES_ROLLOVER_SIZE hoặc
    NEWSMON_ES_ROLLOVER_DOCS); `serve` chạy việc này mỗi giờ."""
    from search.schema import Layout, rollover

    config = settings()
    with elasticsearch(config) as es:
        answer = rollover(es, config.index_prefix, Layout.of(config), force=force)
    report = {
        "rolled_over": bool(answer.get("rolled_over")),
        "old_index": answer.get("old_index"),
        "new_index": answer.get("new_index"),
        "conditions": answer.get("conditions", {}),
    }
    if as_json:
        print_json(report)
    elif report["rolled_over"]:
        out.print(
            f"đã chuyển sang chỉ mục mới {report['new_index']} (chỉ mục cũ: {report['old_index']})",
            markup=False,
        )
    else:
        out.print(f"chưa cần: chỉ mục đang ghi {report['old_index']} chưa đủ cỡ", markup=False)


@es_app.command("snapshot")
def es_snapshot(
    name: Annotated[str | None, typer.Argument(help="tên bản sao lưu (mặc định: theo giờ)")] = None,
    list_only: Annotated[bool, typer.Option("--list", help="chỉ liệt kê các bản đã có")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="dạng JSON")] = False,
) -> None:
    """Sao lưu kho bài vào kho `fs` (NEWSMON_ES_SNAPSHOT_DIR hoặc thư mục của nút cục bộ)."""
    from search.backup import BackupError, snapshot, snapshots

    if name is not None and not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,99}", name):
        raise fail(f"tên bản sao lưu không hợp lệ: {clean(name)!r} (chữ thường, số, - _ .)", 2)
    config = settings()
    with elasticsearch(config) as es:
        try:
            result: Any = snapshots(es, config) if list_only else snapshot(es, config, name)
        except BackupError as exc:
            raise fail(str(exc)) from None
    if as_json:
        print_json(result)
    elif list_only:
        for item in result:
            out.print(f"{item['snapshot']}  {item['state']}  {', '.join(item['indices'])}", markup=False)
    else:
        out.print(f"đã sao lưu {result['snapshot']}: {', '.join(result['indices'])}", markup=False)


@es_app.command("restore")
def es_restore(
    name: Annotated[str, typer.Argument(help="tên bản sao lưu, hoặc `latest`")],
    yes: Annotated[bool, typer.Option("--yes", help="thay kho bài hiện tại, không hỏi lại")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="dạng JSON")] = False,
) -> None:
    """Thay kho bài hiện tại bằng một bản sao lưu."""
    from search.backup import BackupError, restore

    if not yes:
        raise fail("khôi phục sẽ thay toàn bộ kho bài hiện tại: thêm --yes nếu đúng ý bạn", 2)
    config = settings()
    with elasticsearch(config) as es:
        try:
            result = restore(es, config, name)
        except BackupError as exc:
            raise fail(str(exc)) from None
    if as_json:
        print_json(result)
    else:
        out.print(f"đã khôi phục {result['snapshot']}: {', '.join(result['indices'])}", markup=False)
