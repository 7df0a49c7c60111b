"""`newsmon crawl`: one crawl of the enabled (or named) sites, then their instant alerts."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from crawler.cli.common import app, err, fail, out, print_json, settings
from crawler.registry import RegistryError, load_registry, select_sites

_COUNTS = ("requests", "not_modified", "new", "updated", "unchanged", "seen_skipped", "duplicates",
           "non_articles")


@app.command()
def crawl(
    site: Annotated[list[str] | None, typer.Option("--site", help="only this site (repeatable)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="summary as JSON")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """One crawl of the enabled (or named) sites: discover, fetch, extract, dedup, index, alert."""
    from crawler.run import crawl_and_alert

    config = settings()
    try:
        sites = select_sites(load_registry(config.config), site or [], config.config)
    except RegistryError as exc:
        raise fail(str(exc), 2) from None
    if not sites:
        raise fail(f"{config.config}: no enabled site to crawl", 2)
    result = crawl_and_alert(sites, config, {"LOG_LEVEL": "INFO" if verbose else "WARNING"})
    if as_json:
        print_json(result.summaries)
    else:
        out.print(_table(result.summaries))
    for line in result.alert_messages:
        err.print(line, markup=False)
    kept = sum(s.get("spooled", 0) for s in result.summaries.values())
    rejected = sum(s["errors"].get("rejected", 0) for s in result.summaries.values() if "errors" in s)
    problems = []
    if kept:
        problems.append(f"Elasticsearch did not take {kept} articles: they are kept in {config.spool_dir} "
                        "and will be indexed by the next crawl.")
    for name, summary in result.summaries.items():
        if "skipped" in summary:
            problems.append(f"{name}: not crawled: {summary['skipped']}")
        elif summary.get("finish_reason") == "shutdown":
            problems.append(f"{name}: the crawl was interrupted; what it secured is kept, the rest is "
                            "fetched by the next crawl")
    if rejected:
        problems.append(f"Elasticsearch refused {rejected} articles for good (a mapping error): they are "
                        f"listed with the reason in {config.spool_dir / 'rejected.jsonl'}.")
    if problems:
        raise fail("\n".join(problems))


def _table(summaries: dict[str, dict[str, Any]]) -> Table:
    table = Table("site", "requests", "304", "new", "updated", "unchanged", "known", "duplicates",
                  "non-articles", "errors", "health", "note", title="crawl summary")
    for name, summary in summaries.items():
        if "skipped" in summary:
            table.add_row(name, *["-"] * 10, summary["skipped"])
            continue
        errors = ", ".join(f"{k} {v}" for k, v in summary["errors"].items()) or "0"
        health = f"{summary['health']:.0%}" if summary.get("health") is not None else "-"
        note = "; ".join(n for n in (summary.get("cut_off"), summary.get("warning")) if n)
        table.add_row(name, *(str(summary[k]) for k in _COUNTS), errors, health, Text(note))
    return table
