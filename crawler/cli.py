"""The `newsmon` command. Results go to stdout, progress and messages to stderr.

Exit status: 0 success; 1 the work failed (the message says what was kept); 2 bad
usage or configuration.
"""

from __future__ import annotations

import html
import json
import re
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from config.settings import VN_TZ, Settings
from crawler.registry import RegistryError, Site, load_registry, select_sites

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="newsmon: crawl, search and alert on Vietnamese trade-union news.")
es_app = typer.Typer(no_args_is_help=True, help="The local managed Elasticsearch node.")
app.add_typer(es_app, name="es")

err = Console(stderr=True)
out = Console(soft_wrap=True)


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # noqa: BLE001 - pydantic names the variable
        err.print(f"[red]bad NEWSMON_* setting:[/red] {exc}")
        raise typer.Exit(2) from None


def _fail(message: str, code: int = 1) -> typer.Exit:
    sys.stderr.write(message.rstrip("\n") + "\n")
    return typer.Exit(code)


def _client(settings: Settings) -> Any:
    from search.es import make_client

    return make_client(settings)


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------- es


@es_app.command("start")
def es_start() -> None:
    """Provision (first time) and start the local node; wait until it is healthy."""
    from search.node import LocalNode, NodeError, start

    settings = _settings()
    if not settings.managed_es:
        raise _fail(f"NEWSMON_ES_URL is set ({settings.es_url}); newsmon does not manage that "
                    "cluster. Unset it to use the local node.", 2)
    try:
        out.print(start(LocalNode(settings)))
    except NodeError as exc:
        raise _fail(f"es start failed: {exc}") from None


@es_app.command("stop")
def es_stop() -> None:
    """Stop the local node cleanly."""
    from search.node import LocalNode, stop

    settings = _settings()
    if not settings.managed_es:
        raise _fail("NEWSMON_ES_URL is set; newsmon does not stop clusters it does not manage.", 2)
    out.print(stop(LocalNode(settings)))


@es_app.command("status")
def es_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Version, health, document counts and installed modules; exit 1 when not reachable."""
    from search.es import installed_modules, node_version
    from search.schema import alias_name, count

    settings = _settings()
    es = _client(settings)
    try:
        health = es.cluster.health(timeout="2s")
        info = {
            "url": settings.effective_es_url,
            "managed": settings.managed_es,
            "version": node_version(es),
            "health": health["status"],
            "cluster": health["cluster_name"],
            "articles": count(es, settings.index_prefix),
            "alias": alias_name(settings.index_prefix),
            "modules": installed_modules(es),
        }
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        where = "the local node" if settings.managed_es else settings.effective_es_url
        raise _fail(f"Elasticsearch is not running or not reachable ({where}): "
                    f"{type(exc).__name__}") from None
    finally:
        es.close()
    if as_json:
        _print_json(info)
        return
    for key, value in info.items():
        out.print(f"{key}: {', '.join(value) if isinstance(value, list) else value}")


# ---------------------------------------------------------------- crawl


@app.command()
def crawl(
    site: Annotated[list[str] | None, typer.Option("--site", help="only this site (repeatable)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="summary as JSON")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """One crawl of the enabled (or named) sites: discover, fetch, extract, dedup, index."""
    from crawler.run import run_crawl

    settings = _settings()
    try:
        sites = select_sites(load_registry(settings.config), site or [], settings.config)
    except RegistryError as exc:
        raise _fail(str(exc), 2) from None
    if not sites:
        raise _fail(f"{settings.config}: no enabled site to crawl", 2)
    summaries = run_crawl(sites, {"LOG_LEVEL": "INFO" if verbose else "WARNING"})
    if as_json:
        _print_json(summaries)
    else:
        table = Table("site", "requests", "304", "new", "updated", "unchanged", "known", "duplicates",
                      "non-articles", "errors", "note", title="crawl summary")
        for name, s in summaries.items():
            if "skipped" in s:
                table.add_row(name, *["-"] * 9, s["skipped"])
                continue
            errors = ", ".join(f"{k} {v}" for k, v in s["errors"].items()) or "0"
            counts = ("requests", "not_modified", "new", "updated", "unchanged", "seen_skipped",
                      "duplicates", "non_articles")
            table.add_row(name, *(str(s[k]) for k in counts), errors, s.get("cut_off", ""))
        out.print(table)
    _instant_alerts(settings)
    spooled = sum(s.get("spooled", 0) for s in summaries.values())
    if spooled:
        raise _fail(f"Elasticsearch was unreachable: {spooled} articles were kept in "
                    f"{settings.spool_dir} and will be indexed by the next crawl.")


def _instant_alerts(settings: Settings) -> None:
    """After a crawl: instant alerts for what it indexed. A failure here never fails the crawl."""
    from elasticsearch import ApiError
    from elasticsearch import ConnectionError as ESConnectionError

    try:
        report = _run_alerts(settings, None, ("instant",))
    except (ESConnectionError, ApiError) as exc:
        err.print(f"alerts not evaluated ({type(exc).__name__}); the next run covers these articles",
                  markup=False)
        return
    if report["alerts"] or report["waiting"]:
        err.print(f"alerts: {report['sent']} mail(s) sent, {report['waiting']} waiting", markup=False)
    _print_alert_errors(report)


def _print_alert_errors(report: dict[str, Any]) -> int:
    failed = {name: r["error"] for name, r in report["alerts"].items() if r.get("error")}
    for name, error in failed.items():
        err.print(f"alert {name!r} not evaluated: {error}; the next run covers the same articles",
                  markup=False)
    return len(failed)


# ---------------------------------------------------------------- extract


def _read_input(arg: str, url: str | None) -> tuple[bytes, str | None, str | None]:
    if urlsplit(arg).scheme in ("http", "https"):
        request = urllib.request.Request(arg, headers={"User-Agent": "newsmon/0.1"})  # noqa: S310 - http(s) only
        with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310 - http(s) only
            return resp.read(), resp.geturl(), resp.headers.get("Content-Type")
    return Path(arg).read_bytes(), url, None


@app.command()
def extract(
    inputs: Annotated[list[str], typer.Argument(help="URLs or files (.html or .html.gz)")],
    url: Annotated[str | None, typer.Option("--url", help="address the file(s) came from")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per input")] = False,
) -> None:
    """Extract articles without indexing anything. A page from a registry site is read
    with that site's `extract:` rules."""
    from pipelines.extract import extract_page
    from pipelines.normalize import normalize_article
    from search.article import same_site, site_host

    settings = _settings()
    try:
        sites = load_registry(settings.config) if settings.config.exists() else []
    except RegistryError as exc:
        raise _fail(str(exc), 2) from None
    failed = 0
    for arg in inputs:
        try:
            body, page_url, ctype = _read_input(arg, url)
            site = next((s for s in sites if page_url and same_site(page_url, s.domain)), None)
            article = extract_page(body, page_url, ctype, rules=site.extract if site else None)
            if article is None:
                raise ValueError("no article body found on this page")
            if page_url:
                article = normalize_article(article, site.domain if site else site_host(page_url))
            record = {"input": arg, **{k: getattr(article, k) for k in (
                "url", "canonical_url", "title", "author", "published", "text", "tags", "language")}}
        except Exception as exc:  # noqa: BLE001 - one bad input never stops the others
            failed += 1
            record = {"input": arg, "error": f"{type(exc).__name__}: {exc}"}
        if as_json:
            _print_json(record)
        elif "error" in record:
            err.print(f"{arg}: {record['error']}", markup=False)
        else:
            out.print(f"# {record['title']}\n{record['published'] or ''} {record['author'] or ''}\n"
                      f"{record['text']}\n", markup=False, highlight=False)
    if failed == len(inputs):
        raise typer.Exit(1)


# ---------------------------------------------------------------- search / export


def _terminal_snippet(snippet_html: str) -> Text:
    """The HTML snippet for a terminal: matched words in bold, entities decoded."""
    text = Text()
    for index, part in enumerate(re.split(r"</?mark>", snippet_html)):
        text.append(html.unescape(part), style="bold" if index % 2 else "")
    return text


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise _fail(f"{option}: not a date: {value!r} (use YYYY-MM-DD or dd/mm/yyyy)", 2)


@app.command("search")
def search_cmd(  # noqa: PLR0917 - one parameter per CLI option
    query: Annotated[str, typer.Argument(help='e.g. công đoàn "nợ lương"')],
    site: Annotated[list[str] | None, typer.Option("--site")] = None,
    since: Annotated[str | None, typer.Option("--since")] = None,
    until: Annotated[str | None, typer.Option("--until")] = None,
    sort: Annotated[str, typer.Option("--sort", help="relevance or date")] = "relevance",
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 10,
    page: Annotated[int, typer.Option("--page", min=1, help="page of --limit results")] = 1,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Full-text search; near-duplicates come back as one hit with their copies listed."""
    from elasticsearch import ConnectionError as ESConnectionError

    from search.query import QueryError
    from search.search import search

    if sort not in ("relevance", "date"):
        raise _fail("--sort must be 'relevance' or 'date'", 2)
    settings = _settings()
    es = _client(settings)
    try:
        result = search(es, settings.index_prefix, query, sites=site or [],
                        since=_date(since, "--since"), until=_date(until, "--until"),
                        sort=sort, limit=limit, page=page, facets=as_json)
    except QueryError as exc:
        raise _fail(f"invalid query: {exc}", 2) from None
    except ESConnectionError:
        raise _fail(f"cannot reach Elasticsearch at {settings.effective_es_url}") from None
    finally:
        es.close()
    if as_json:
        _print_json(result)
        return
    out.print(f"{result['total']} bài viết", highlight=False)
    for hit in result["hits"]:
        when = (hit["published"] or "")[:16].replace("T", " ")
        out.print(f"\n[bold]{hit['title']}[/bold]", highlight=False)
        out.print(f"{hit['site']}  {when}  {hit['url']}", markup=False, highlight=False)
        out.print(_terminal_snippet(hit["snippet"]), highlight=False)
        for dup in hit["duplicates"]:
            out.print(f"  cũng đăng trên {dup['site']}: {dup['url']}", markup=False, highlight=False)


@app.command()
def export(
    site: Annotated[list[str] | None, typer.Option("--site")] = None,
    since: Annotated[str | None, typer.Option("--since")] = None,
) -> None:
    """Every indexed article as JSON lines."""
    from elasticsearch import ConnectionError as ESConnectionError

    from search.search import export as export_docs

    settings = _settings()
    es = _client(settings)
    try:
        for doc in export_docs(es, settings.index_prefix, sites=site or [],
                               since=_date(since, "--since")):
            _print_json(doc)
    except ESConnectionError:
        raise _fail(f"cannot reach Elasticsearch at {settings.effective_es_url}") from None
    finally:
        es.close()


# ---------------------------------------------------------------- alerts

alerts_app = typer.Typer(help="Keyword alerts by e-mail.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


def _alert_store(settings: Settings) -> Any:
    from search.alerts import AlertStore

    return AlertStore(settings.resolved_data_dir)


@contextmanager
def _rules(settings: Settings) -> Iterator[Any]:
    """The alert store, closed afterwards; a rule or query error is a usage error (exit 2)."""
    from search.alerts import AlertError
    from search.query import QueryError

    store = _alert_store(settings)
    try:
        yield store
    except QueryError as exc:
        raise _fail(f"invalid query: {exc}", 2) from None
    except AlertError as exc:
        raise _fail(str(exc), 2) from None
    finally:
        store.close()


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(f"--now: not an ISO date-time: {value!r}", 2) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=VN_TZ)


@alerts_app.command("add")
def alerts_add(
    name: Annotated[str, typer.Option("--name")],
    query: Annotated[str, typer.Option("--query")],
    email: Annotated[list[str], typer.Option("--email", help="recipient (repeatable)")],
    site: Annotated[list[str] | None, typer.Option("--site", help="only these sites (repeatable)")] = None,
    mode: Annotated[str, typer.Option("--mode", help="instant or daily")] = "instant",
) -> None:
    """Add an alert; it mails what is indexed from now on."""
    settings = _settings()
    if site:
        known = {s.name for s in _registry_sites(settings)}
        unknown = [s for s in site if s not in known]
        if unknown:
            raise _fail(f"{settings.config}: no site named {', '.join(map(repr, unknown))}", 2)
    with _rules(settings) as store:
        rule = store.add(name, query, email, site or [], mode=mode)
    err.print(f"alert {rule.name!r} added ({rule.mode}, {len(rule.emails)} recipient(s))", markup=False)


@alerts_app.command("list")
def alerts_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The alerts and their recipients."""
    with _rules(_settings()) as store:
        rules = store.rules()
    rows = [{"name": r.name, "query": r.query, "emails": r.emails, "sites": r.sites, "mode": r.mode}
            for r in rules]
    if as_json:
        _print_json(rows)
        return
    table = Table("name", "query", "mode", "emails", "sites", title="alerts")
    for row in rows:
        table.add_row(row["name"], row["query"], row["mode"], ", ".join(row["emails"]),
                      ", ".join(row["sites"]) or "all")
    out.print(table)


@alerts_app.command("remove")
def alerts_remove(name: Annotated[str, typer.Argument()]) -> None:
    """Remove an alert (what it already sent stays recorded)."""
    with _rules(_settings()) as store:
        store.remove(name)
    err.print(f"alert {name!r} removed", markup=False)


@alerts_app.command("test")
def alerts_test(
    name: Annotated[str, typer.Argument()],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """What the alert would send now (new stories since its last run); sends nothing."""
    from elasticsearch import ConnectionError as ESConnectionError

    from search.alerts import enrich, evaluate

    settings = _settings()
    with _rules(settings) as store:
        rule = store.get(name)
    es = _client(settings)
    try:
        found = evaluate(es, settings.index_prefix, [rule], datetime.now(UTC))[name]
        if found.error:
            raise _fail(f"alert {name!r} not evaluated: {found.error}")
        matches = enrich(es, settings.index_prefix, found.matches)
    except ESConnectionError:
        raise _fail(f"cannot reach Elasticsearch at {settings.effective_es_url}") from None
    finally:
        es.close()
    rows = [{"url": m.url, "site": m.site, "title": m.title, "published": m.published,
             "also": [c["site"] for c in m.also]} for m in matches]
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        out.print(f"{row['title']}\n  {row['site']}  {row['published'] or ''}  {row['url']}", markup=False,
                  highlight=False)
    err.print(f"{len(rows)} stories would be sent", markup=False)


def _run_alerts(settings: Settings, now: datetime | None, modes: tuple[str, ...]) -> dict[str, Any]:
    from search.notify import run_alerts

    store = _alert_store(settings)
    es = _client(settings)
    try:
        return run_alerts(es, store, settings, now=now, modes=modes)
    finally:
        store.close()
        es.close()


@alerts_app.command("run")
def alerts_run(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    now: Annotated[str | None, typer.Option("--now", hidden=True, help="act as of this time (tests)")] = None,
) -> None:
    """Evaluate the instant alerts and the daily digests that are due; send what is queued."""
    from elasticsearch import ConnectionError as ESConnectionError

    settings = _settings()
    try:
        report = _run_alerts(settings, _when(now), ("instant", "daily"))
    except ESConnectionError:
        raise _fail(f"cannot reach Elasticsearch at {settings.effective_es_url}; no alert was evaluated "
                    "(nothing is lost: the next run covers the same articles)") from None
    if as_json:
        _print_json(report)
    else:
        err.print(f"{report['sent']} mail(s) sent, {report['waiting']} waiting", markup=False)
    failed = _print_alert_errors(report)
    if report["waiting"]:
        raise _fail(f"{report['waiting']} mail(s) could not be delivered; they are kept and retried "
                    "by the next run")
    if failed:
        raise _fail(f"{failed} alert(s) could not be evaluated")


# ---------------------------------------------------------------- scheduler


def _registry_sites(settings: Settings) -> list[Site]:
    try:
        return load_registry(settings.config)
    except RegistryError as exc:
        raise _fail(str(exc), 2) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address of the web app")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port of the web app")] = 8000,
) -> None:
    """The long-running service: every site's crawl on its cron (Asia/Ho_Chi_Minh)."""
    import logging
    import signal
    import threading

    from apscheduler.schedulers.background import BackgroundScheduler

    from crawler.schedule import configure, planned_runs, sync_digest_job, sync_jobs

    settings = _settings()
    sites = _registry_sites(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    scheduler = configure(BackgroundScheduler(), settings.resolved_data_dir)
    scheduler.start(paused=True)
    sync_jobs(scheduler, sites)
    sync_digest_job(scheduler, settings.digest_time)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    for run in planned_runs(scheduler, sites):
        err.print(f"{run.site}: '{run.schedule}', next {run.next_run:%d/%m/%Y %H:%M}", markup=False)
    err.print(f"web app: not built yet (would listen on {host}:{port}); scheduler running, Ctrl-C stops",
              markup=False)
    scheduler.resume()  # crawls missed while the service was down run now, once
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown(wait=True)


@app.command("schedule")
def schedule_list(
    as_json: Annotated[bool, typer.Option("--json", help="as JSON")] = False,
) -> None:
    """Each enabled site's schedule and next crawl (from `newsmon serve`'s job store)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from crawler.schedule import configure, planned_runs

    settings = _settings()
    sites = _registry_sites(settings)
    scheduler = configure(BackgroundScheduler(), settings.resolved_data_dir)
    scheduler.start(paused=True)
    try:
        runs = planned_runs(scheduler, sites)
    finally:
        scheduler.shutdown(wait=False)
    rows = [{"site": r.site, "schedule": r.schedule,
             "next_run": r.next_run.isoformat() if r.next_run else None, "scheduled": r.stored} for r in runs]
    if as_json:
        _print_json(rows)
        return
    for row, run in zip(rows, runs, strict=True):
        when = f"{run.next_run:%d/%m/%Y %H:%M}" if run.next_run else "-"
        note = "" if run.stored else "  (not yet in the job store: start `newsmon serve`)"
        out.print(f"{row['site']:<24} {row['schedule']:<16} {when}{note}", markup=False, highlight=False)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
