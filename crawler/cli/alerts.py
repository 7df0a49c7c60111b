"""`newsmon alerts add|list|remove|test|run`: keyword alerts by e-mail."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from config.settings import Settings
from config.vntime import VN_TZ
from crawler.cli.common import (
    app,
    chosen_sites,
    clean,
    elasticsearch,
    err,
    fail,
    out,
    print_json,
    settings,
    show_table,
)
from search.web.format import moment, published

if TYPE_CHECKING:
    from search.alerts.store import AlertStore

alerts_app = typer.Typer(help="Cảnh báo từ khóa qua e-mail.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")

_NOT_LOST = "chưa xét cảnh báo nào (không mất gì: lần chạy sau xét lại đúng những bài này)"
_MODES = {"instant": "ngay khi có tin", "daily": "bản tin hằng ngày"}
_MODE_HELP = "instant (ngay khi có tin) hoặc daily (bản tin hằng ngày)"


@contextmanager
def _store(config: Settings) -> Iterator[AlertStore]:
    """The alert store, closed afterwards; a rule or query error is a usage error (exit 2)."""
    from search.alerts.rules import AlertError
    from search.alerts.store import AlertStore
    from search.query import QueryError

    store = AlertStore.of(config)
    try:
        yield store
    except QueryError as exc:
        raise fail(f"truy vấn không hợp lệ: {exc}", 2) from None
    except AlertError as exc:
        raise fail(str(exc), 2) from None
    finally:
        store.close()


def _refused(config: Settings, query: str) -> str | None:
    """Why Elasticsearch would refuse the query every time (run once before saving), or None.
    A malformed query raises QueryError (a usage error in `_store`); an unreachable cluster
    is no reason to refuse a rule that parses."""
    from elasticsearch import ConnectionError as ESConnectionError

    from search.alerts.evaluate import refused_by_index
    from search.es import make_client

    es = make_client(config)
    try:
        return refused_by_index(es, config.index_prefix, query)
    except ESConnectionError:
        err.print("không kết nối được Elasticsearch: truy vấn mới chỉ được kiểm tra cách viết", markup=False)
        return None
    finally:
        es.close()


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--now: không phải ngày giờ ISO: {value!r}", 2) from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=VN_TZ)


def _check_sites(config: Settings, sites: list[str]) -> None:
    if sites:
        chosen_sites(config, sites)


@alerts_app.command("add")
def alerts_add(
    name: Annotated[str, typer.Option("--name", help="tên cảnh báo")],
    query: Annotated[str, typer.Option("--query", help="truy vấn, gõ như khi tìm kiếm")],
    email: Annotated[list[str], typer.Option("--email", help="người nhận (lặp lại được)")],
    site: Annotated[list[str] | None, typer.Option("--site", help="chỉ các trang này (lặp lại được)")] = None,
    mode: Annotated[str, typer.Option("--mode", help=_MODE_HELP)] = "instant",
) -> None:
    """Thêm cảnh báo; nó gửi những tin đưa vào kho từ lúc này."""
    config = settings()
    _check_sites(config, site or [])
    with _store(config) as store:
        refused = _refused(config, query)
        if refused:
            raise fail(f"chưa thêm cảnh báo {name!r}: {refused}", 2)
        rule = store.add(name, query, email, site or [], mode=mode)
    mode_words = _MODES.get(rule.mode, rule.mode)
    err.print(f"đã thêm cảnh báo {rule.name!r} ({mode_words}, {len(rule.emails)} người nhận)", markup=False)


@alerts_app.command("list")
def alerts_list(as_json: Annotated[bool, typer.Option("--json", help="dạng JSON")] = False) -> None:
    """Các cảnh báo và người nhận."""
    with _store(settings()) as store:
        rows = [view.shown() for view in store.overview()]
    if as_json:
        print_json(rows)
        return
    table = []
    for row in rows:
        last = f"{moment(row['last_sent'])} ({row['last_stories']} tin)" if row["last_sent"] else "chưa gửi"
        table.append(
            (
                row["name"],
                row["query"],
                _MODES.get(row["mode"], row["mode"]) + (" (tạm dừng)" if row["paused"] else ""),
                ", ".join(row["emails"]),
                ", ".join(row["sites"]) or "tất cả",
                last,
            )
        )
    show_table("cảnh báo", ("tên", "truy vấn", "chế độ", "người nhận", "trang", "lần gửi cuối"), table)
    for row in rows:
        for refusal in row["refused"]:
            line = (
                f"cảnh báo {row['name']!r}: máy chủ thư từ chối hẳn {refusal['recipient']} "
                f"({refusal['error']}): không gửi lại; hãy sửa địa chỉ (alerts edit)"
            )
            err.print(clean(line), markup=False)


@alerts_app.command("edit")
def alerts_edit(  # noqa: PLR0917 - one parameter per CLI option
    name: Annotated[str, typer.Argument(help="tên cảnh báo")],
    query: Annotated[str | None, typer.Option("--query", help="truy vấn mới")] = None,
    email: Annotated[list[str] | None, typer.Option("--email", help="người nhận (thay cả danh sách)")] = None,
    site: Annotated[list[str] | None, typer.Option("--site", help="các trang (thay cả danh sách)")] = None,
    all_sites: Annotated[bool, typer.Option("--all-sites", help="mọi trang")] = False,
    mode: Annotated[str | None, typer.Option("--mode", help=_MODE_HELP)] = None,
) -> None:
    """Sửa một cảnh báo; những gì đã gửi vẫn tính là đã gửi."""
    config = settings()
    _check_sites(config, site or [])
    with _store(config) as store:
        rule = store.get(name)
        new_query = query if query is not None else rule.query
        if query is not None and (refused := _refused(config, query)):
            raise fail(f"chưa sửa cảnh báo {name!r}: {refused}", 2)
        sites = [] if all_sites else (site or rule.sites)
        store.update(name, new_query, email or rule.emails, sites, mode=mode or rule.mode)
    err.print(f"đã sửa cảnh báo {name!r}", markup=False)


@alerts_app.command("pause")
def alerts_pause(name: Annotated[str, typer.Argument(help="tên cảnh báo")]) -> None:
    """Tạm dừng cảnh báo: không gửi gì cho đến khi bật lại."""
    with _store(settings()) as store:
        store.set_paused(name, True)
    err.print(f"đã tạm dừng cảnh báo {name!r}", markup=False)


@alerts_app.command("resume")
def alerts_resume(name: Annotated[str, typer.Argument(help="tên cảnh báo")]) -> None:
    """Bật lại cảnh báo: gửi những tin đưa vào kho từ lúc này (không gửi tin đến lúc tạm dừng)."""
    with _store(settings()) as store:
        store.set_paused(name, False)
    err.print(f"đã bật lại cảnh báo {name!r}", markup=False)


@alerts_app.command("remove")
def alerts_remove(name: Annotated[str, typer.Argument(help="tên cảnh báo")]) -> None:
    """Xóa cảnh báo (những gì đã gửi vẫn được ghi lại)."""
    with _store(settings()) as store:
        store.remove(name)
    err.print(f"đã xóa cảnh báo {name!r}", markup=False)


@alerts_app.command("test")
def alerts_test(
    name: Annotated[str, typer.Argument(help="tên cảnh báo")],
    as_json: Annotated[bool, typer.Option("--json", help="dạng JSON")] = False,
) -> None:
    """Các tin khớp cảnh báo từ lần chạy trước, mỗi tin ghi đã gửi hay sẽ gửi nếu chạy bây giờ;
    không gửi gì."""
    from search.alerts.evaluate import enrich, evaluate

    config = settings()
    with _store(config) as store:
        rule = store.get(name)
    with elasticsearch(config) as es:
        found = evaluate(es, config.index_prefix, [rule], datetime.now(UTC))[name]
        if found.error:
            raise fail(f"chưa xét được cảnh báo {name!r}: {found.error}")
        matches = enrich(es, config.index_prefix, found.matches)
    with _store(config) as store:
        pending = store.pending(rule, [m.cluster for m in matches])
    rows = [
        {
            "url": m.url,
            "site": m.site,
            "title": m.title,
            "published": m.published,
            "also": [c["site"] for c in m.also],
            "would_send": m.cluster in pending,
        }
        for m in matches
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        state = "sẽ gửi" if row["would_send"] else "đã gửi"
        when = published(str(row["published"] or "")) or "không rõ ngày"
        out.print(
            clean(f"[{state}] {row['title']}\n  {row['site']}  {when}  {row['url']}"),
            markup=False,
            highlight=False,
        )
    sent = len(rows) - len(pending)
    err.print(
        f"{len(rows)} bài khớp với cảnh báo từ lần chạy trước; {len(pending)} bài sẽ được gửi nếu chạy "
        f"bây giờ ({sent} bài đã gửi)",
        markup=False,
    )


@alerts_app.command("run")
def alerts_run(
    as_json: Annotated[bool, typer.Option("--json", help="báo cáo dạng JSON")] = False,
    now: Annotated[str | None, typer.Option("--now", hidden=True, help="act as of this time (tests)")] = None,
) -> None:
    """Xét các cảnh báo gửi ngay và bản tin hằng ngày đến giờ; gửi những thư đang chờ."""
    from crawler.registry import registry_titles
    from search.alerts.job import run_alerts

    config = settings()
    moment = _when(now)
    with _store(config) as store, elasticsearch(config, kept=_NOT_LOST) as es:
        report = run_alerts(
            es,
            store,
            config,
            now=moment,
            modes=("instant", "daily"),
            site_titles=registry_titles(config.registry),
        )
    if as_json:
        print_json(report)
    else:
        err.print(f"đã gửi {report['sent']} thư, {report['waiting']} thư đang chờ", markup=False)
    failed = {n: r["error"] for n, r in report["alerts"].items() if r.get("error")}
    for alert, error in failed.items():
        err.print(
            f"chưa xét được cảnh báo {alert!r}: {error}; lần chạy sau xét lại đúng những bài này",
            markup=False,
        )
    if report["waiting"]:
        raise fail(f"{report['waiting']} thư chưa gửi được; thư được giữ lại và lần chạy sau gửi lại")
    if failed:
        raise fail(f"{len(failed)} cảnh báo chưa xét được")
