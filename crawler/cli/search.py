"""`newsmon search` and `newsmon export`: the archive, one hit per story."""

from __future__ import annotations

import html
import re
from typing import Annotated

import typer
from rich.text import Text

from crawler.cli.common import app, clean, elasticsearch, fail, out, parse_day, print_json, settings


def _terminal_snippet(snippet_html: str) -> Text:
    """The HTML snippet for a terminal: matched words in bold, entities decoded."""
    text = Text()
    for index, part in enumerate(re.split(r"</?mark>", snippet_html)):
        text.append(clean(html.unescape(part)), style="bold" if index % 2 else "")
    return text


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
    from search.query import QueryError
    from search.search import search

    if sort not in ("relevance", "date"):
        raise fail("--sort must be 'relevance' or 'date'", 2)
    config = settings()
    first, last = parse_day(since, "--since"), parse_day(until, "--until")
    with elasticsearch(config) as es:
        try:
            result = search(es, config.index_prefix, query, sites=site or [], since=first, until=last,
                            sort=sort, limit=limit, page=page, facets=as_json)
        except QueryError as exc:
            raise fail(f"invalid query: {exc}", 2) from None
    if as_json:
        print_json(result)
        return
    from crawler.registry import registry_titles
    from search.web.format import moment

    titles = registry_titles(config.config)
    out.print(f"{result['total']} bài viết", highlight=False)
    for hit in result["hits"]:
        out.print(Text("\n" + clean(hit["title"]), style="bold"), highlight=False)
        line = f"{titles.get(hit['site'], hit['site'])}  {moment(hit['published'])}  {hit['url']}"
        out.print(clean(line), markup=False, highlight=False)
        out.print(_terminal_snippet(hit["snippet"]), highlight=False)
        for dup in hit["duplicates"]:
            copy = f"  đăng lại trên {titles.get(dup['site'], dup['site'])} {moment(dup.get('published'))}"
            out.print(clean(f"{copy}: {dup['url']}"), markup=False, highlight=False)
        out.print(clean(f"  mã bài: {hit['id']} (newsmon story {hit['id']})"), markup=False, highlight=False)


@app.command()
def export(
    site: Annotated[list[str] | None, typer.Option("--site")] = None,
    since: Annotated[str | None, typer.Option("--since")] = None,
    query: Annotated[str | None, typer.Option("--query", help="only articles matching this search")] = None,
) -> None:
    """Every indexed article (or every one matching --query, newest first) as JSON lines."""
    from search.query import QueryError
    from search.search import export as export_docs
    from search.search import export_matches

    config = settings()
    first = parse_day(since, "--since")
    with elasticsearch(config) as es:
        try:
            sites = site or []
            docs = (export_matches(es, config.index_prefix, query, sites=sites, since=first)
                    if query is not None else export_docs(es, config.index_prefix, sites=sites, since=first))
            for doc in docs:
                print_json(doc)
        except QueryError as exc:
            raise fail(f"invalid query: {exc}", 2) from None


@app.command()
def story(
    article_id: Annotated[str, typer.Argument(help="an article id (from search --json)")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """An article as indexed and every copy of its story (who republished it, when)."""
    from search.search import story as find_story

    config = settings()
    with elasticsearch(config) as es:
        found = find_story(es, config.index_prefix, article_id)
    if found is None:
        raise fail(f"no article with id {article_id!r}")
    if as_json:
        print_json(found)
        return
    out.print(Text(clean(found["title"]), style="bold"), highlight=False)
    for copy in found["copies"]:
        role = "original" if copy["original"] else "copy"
        out.print(clean(f"  {copy['site']:<20} {(copy['published'] or '')[:16].replace('T', ' ')}  {role:<8} "
                        f"{copy['url']}"), markup=False, highlight=False)
    out.print(clean("\n" + (found["text"] or "")), markup=False, highlight=False)
