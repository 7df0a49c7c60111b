"""`newsmon es start|stop|status`: the local managed Elasticsearch node."""

from __future__ import annotations

from typing import Annotated

import typer

from crawler.cli.common import app, fail, out, print_json, settings

es_app = typer.Typer(no_args_is_help=True, help="Nút Elasticsearch cục bộ do newsmon quản lý.")
app.add_typer(es_app, name="es")


@es_app.command("start")
def es_start() -> None:
    """Cài (lần đầu) và khởi động nút cục bộ; chờ đến khi nó sẵn sàng."""
    from search.node import LocalNode, NodeError, start

    config = settings()
    if not config.managed_es:
        raise fail(
            f"đã đặt NEWSMON_ES_URL ({config.es_url}): newsmon không quản lý cụm đó; bỏ biến này "
            "để dùng nút cục bộ",
            2,
        )
    try:
        out.print(start(LocalNode(config)), markup=False)
    except NodeError as exc:
        raise fail(f"không khởi động được Elasticsearch: {exc}") from None


@es_app.command("stop")
def es_stop() -> None:
    """Dừng nút cục bộ đúng cách."""
    from search.node import LocalNode, stop

    config = settings()
    if not config.managed_es:
        raise fail("đã đặt NEWSMON_ES_URL: newsmon không dừng cụm nó không quản lý", 2)
    out.print(stop(LocalNode(config)), markup=False)


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
