"""`newsmon alerts add|list|remove|test|run`: keyword alerts by e-mail."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from config.settings import VN_TZ, Settings
from crawler.cli.common import (
    app,
    clean,
    elasticsearch,
    err,
    fail,
    out,
    print_json,
    registry_sites,
    settings,
)
from search.web.format import moment

if TYPE_CHECKING:
    from search.alerts.store import AlertStore

alerts_app = typer.Typer(help="Keyword alerts by e-mail.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")

_NOT_LOST = "no alert was evaluated (nothing is lost: the next run covers the same articles)"


@contextmanager
def _store(config: Settings) -> Iterator[AlertStore]:
    """The alert store, closed afterwards; a rule or query error is a usage error (exit 2)."""
    from search.alerts.rules import AlertError
    from search.alerts.store import AlertStore
    from search.query import QueryError

    store = AlertStore(config.resolved_data_dir)
    try:
        yield store
    except QueryError as exc:
        raise fail(f"invalid query: {exc}", 2) from None
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
        err.print("Elasticsearch is not reachable: the query was checked for syntax only", markup=False)
        return None
    finally:
        es.close()


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--now: not an ISO date-time: {value!r}", 2) from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=VN_TZ)


def _check_sites(config: Settings, sites: list[str]) -> None:
    known = {s.name for s in registry_sites(config)} if sites else set()
    unknown = [s for s in sites if s not in known]
    if unknown:
        raise fail(f"{config.config}: no site named {', '.join(map(repr, unknown))}", 2)


@alerts_app.command("add")
def alerts_add(
    name: Annotated[str, typer.Option("--name")],
    query: Annotated[str, typer.Option("--query")],
    email: Annotated[list[str], typer.Option("--email", help="recipient (repeatable)")],
    site: Annotated[list[str] | None, typer.Option("--site", help="only these sites (repeatable)")] = None,
    mode: Annotated[str, typer.Option("--mode", help="instant or daily")] = "instant",
) -> None:
    """Add an alert; it mails what is indexed from now on."""
    config = settings()
    _check_sites(config, site or [])
    with _store(config) as store:
        refused = _refused(config, query)
        if refused:
            raise fail(f"alert {name!r} not added: {refused}", 2)
        rule = store.add(name, query, email, site or [], mode=mode)
    err.print(f"alert {rule.name!r} added ({rule.mode}, {len(rule.emails)} recipient(s))", markup=False)


@alerts_app.command("list")
def alerts_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The alerts and their recipients."""
    with _store(settings()) as store:
        rules = store.rules()
        sent = store.sent_summary()
        refusals = store.refusals()
    none = {"last_sent": None, "last_stories": 0, "stories": 0}
    rows = [{"name": r.name, "query": r.query, "emails": r.emails, "sites": r.sites, "mode": r.mode,
             "paused": r.paused, **sent.get(r.name, none), "refused": refusals.get(r.name, [])}
            for r in rules]
    if as_json:
        print_json(rows)
        return
    table = Table("name", "query", "mode", "emails", "sites", "last sent", title="alerts")
    for row in rows:  # Text cells: a query or name is never read as Rich markup
        last = f"{moment(row['last_sent'])} ({row['last_stories']})" if row["last_sent"] else "-"
        cells = (row["name"], row["query"], row["mode"] + (" (paused)" if row["paused"] else ""),
                 ", ".join(row["emails"]), ", ".join(row["sites"]) or "all", last)
        table.add_row(*(Text(clean(str(cell))) for cell in cells))
    out.print(table)
    for row in rows:
        for refusal in row["refused"]:
            line = (f"alert {row['name']!r}: máy chủ thư từ chối hẳn {refusal['recipient']} "
                    f"({refusal['error']}): không gửi lại; hãy sửa địa chỉ (alerts edit)")
            err.print(clean(line), markup=False)


@alerts_app.command("edit")
def alerts_edit(  # noqa: PLR0917 - one parameter per CLI option
    name: Annotated[str, typer.Argument()],
    query: Annotated[str | None, typer.Option("--query")] = None,
    email: Annotated[list[str] | None, typer.Option("--email", help="recipients (replace the list)")] = None,
    site: Annotated[list[str] | None, typer.Option("--site", help="sites (replace the list)")] = None,
    all_sites: Annotated[bool, typer.Option("--all-sites", help="no site filter")] = False,
    mode: Annotated[str | None, typer.Option("--mode", help="instant or daily")] = None,
) -> None:
    """Change an alert; what it already sent stays sent."""
    config = settings()
    _check_sites(config, site or [])
    with _store(config) as store:
        rule = store.get(name)
        new_query = query if query is not None else rule.query
        if query is not None and (refused := _refused(config, query)):
            raise fail(f"alert {name!r} not changed: {refused}", 2)
        sites = [] if all_sites else (site or rule.sites)
        store.update(name, new_query, email or rule.emails, sites, mode=mode or rule.mode)
    err.print(f"alert {name!r} changed", markup=False)


@alerts_app.command("pause")
def alerts_pause(name: Annotated[str, typer.Argument()]) -> None:
    """Pause an alert: it sends nothing until resumed."""
    with _store(settings()) as store:
        store.set_paused(name, True)
    err.print(f"alert {name!r} paused", markup=False)


@alerts_app.command("resume")
def alerts_resume(name: Annotated[str, typer.Argument()]) -> None:
    """Resume an alert: it sends what is indexed from now on (not what came while paused)."""
    with _store(settings()) as store:
        store.set_paused(name, False)
    err.print(f"alert {name!r} resumed", markup=False)


@alerts_app.command("remove")
def alerts_remove(name: Annotated[str, typer.Argument()]) -> None:
    """Remove an alert (what it already sent stays recorded)."""
    with _store(settings()) as store:
        store.remove(name)
    err.print(f"alert {name!r} removed", markup=False)


@alerts_app.command("test")
def alerts_test(
    name: Annotated[str, typer.Argument()],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The stories matching the alert since its last run, each marked as already sent or to be
    sent by a run now; sends nothing."""
    from search.alerts.evaluate import enrich, evaluate

    config = settings()
    with _store(config) as store:
        rule = store.get(name)
    with elasticsearch(config) as es:
        found = evaluate(es, config.index_prefix, [rule], datetime.now(UTC))[name]
        if found.error:
            raise fail(f"alert {name!r} not evaluated: {found.error}")
        matches = enrich(es, config.index_prefix, found.matches)
    with _store(config) as store:
        pending = store.pending(rule, [m.cluster for m in matches])
    rows = [{"url": m.url, "site": m.site, "title": m.title, "published": m.published,
             "also": [c["site"] for c in m.also], "would_send": m.cluster in pending} for m in matches]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        state = "sẽ gửi" if row["would_send"] else "đã gửi"
        out.print(clean(f"[{state}] {row['title']}\n  {row['site']}  {row['published'] or ''}  {row['url']}"),
                  markup=False, highlight=False)
    sent = len(rows) - len(pending)
    err.print(f"{len(rows)} bài khớp với cảnh báo từ lần chạy trước; {len(pending)} bài sẽ được gửi nếu chạy "
              f"bây giờ ({sent} bài đã gửi)", markup=False)


@alerts_app.command("run")
def alerts_run(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    now: Annotated[str | None, typer.Option("--now", hidden=True, help="act as of this time (tests)")] = None,
) -> None:
    """Evaluate the instant alerts and the daily digests that are due; send what is queued."""
    from crawler.registry import registry_titles
    from search.alerts.job import run_alerts

    config = settings()
    moment = _when(now)
    with _store(config) as store, elasticsearch(config, kept=_NOT_LOST) as es:
        report = run_alerts(es, store, config, now=moment, modes=("instant", "daily"),
                            site_titles=registry_titles(config.config))
    if as_json:
        print_json(report)
    else:
        err.print(f"{report['sent']} mail(s) sent, {report['waiting']} waiting", markup=False)
    failed = {n: r["error"] for n, r in report["alerts"].items() if r.get("error")}
    for alert, error in failed.items():
        err.print(f"alert {alert!r} not evaluated: {error}; the next run covers the same articles",
                  markup=False)
    if report["waiting"]:
        raise fail(f"{report['waiting']} mail(s) could not be delivered; they are kept and retried "
                   "by the next run")
    if failed:
        raise fail(f"{len(failed)} alert(s) could not be evaluated")
