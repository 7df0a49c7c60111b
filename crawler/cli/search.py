"""`newsmon search` and `newsmon export`: the archive, one hit per story."""

from __future__ import annotations

import html
import re
from typing import Annotated

import typer
from rich.text import Text

from crawler.cli.common import (
    app,
    chosen_sites,
    clean,
    elasticsearch,
    fail,
    out,
    parse_day,
    print_json,
    settings,
)


def _terminal_snippet(snippet_html: str) -> Text:
    """The HTML snippet for a terminal: matched words in bold, entities decoded."""
    text = Text()
    for index, part in enumerate(re.split(r"</?mark>", snippet_html)):
        text.append(clean(html.unescape(part)), style="bold" if index % 2 else "")
    return text


@app.command("search", context_settings={"ignore_unknown_options": True})
def search_cmd(  # noqa: PLR0917 - one parameter per CLI option
    query: Annotated[str, typer.Argument(help='ví dụ: công đoàn "nợ lương" (bắt đầu bằng -: đặt sau --)')],
    site: Annotated[list[str] | None, typer.Option("--site", help="chỉ trang này (lặp lại được)")] = None,
    since: Annotated[str | None, typer.Option("--since", help="từ ngày dd/mm/yyyy")] = None,
    until: Annotated[str | None, typer.Option("--until", help="đến ngày dd/mm/yyyy")] = None,
    sort: Annotated[str, typer.Option("--sort", help="relevance hoặc date (mới trước)")] = "relevance",
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="số tin mỗi trang")] = 10,
    page: Annotated[int, typer.Option("--page", min=1, help="trang kết quả")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="kết quả dạng JSON")] = False,
) -> None:
    """Tìm trong kho bài; các bản đăng lại của một tin hiện thành một kết quả."""
    from search.query import QueryError
    from search.search import search

    if sort not in ("relevance", "date"):
        raise fail("--sort: chỉ nhận 'relevance' hoặc 'date'", 2)
    config = settings()
    chosen_sites(config, site)
    first, last = parse_day(since, "--since"), parse_day(until, "--until")
    with elasticsearch(config) as es:
        try:
            result = search(
                es,
                config.index_prefix,
                query,
                sites=site or [],
                since=first,
                until=last,
                sort=sort,
                limit=limit,
                page=page,
                facets=as_json,
            )
        except QueryError as exc:
            raise fail(f"truy vấn không hợp lệ: {exc}", 2) from None
    if as_json:
        print_json(result)
        return
    from crawler.registry import registry_titles
    from search.web.format import published

    titles = registry_titles(config.registry)
    out.print(f"{result['total']} bài viết", highlight=False)
    for hit in result["hits"]:
        out.print(Text("\n" + clean(hit["title"]), style="bold"), highlight=False)
        when = published(hit["published"]) or "không rõ ngày"
        line = f"{titles.get(hit['site'], hit['site'])}  {when}  {hit['url']}"
        out.print(clean(line), markup=False, highlight=False)
        out.print(_terminal_snippet(hit["snippet"]), highlight=False)
        for dup in hit["duplicates"]:
            copy = f"  đăng lại trên {titles.get(dup['site'], dup['site'])} {published(dup.get('published'))}"
            out.print(clean(f"{copy}: {dup['url']}"), markup=False, highlight=False)
        out.print(clean(f"  mã bài: {hit['id']} (newsmon story {hit['id']})"), markup=False, highlight=False)


@app.command()
def export(
    site: Annotated[list[str] | None, typer.Option("--site", help="chỉ trang này (lặp lại được)")] = None,
    since: Annotated[str | None, typer.Option("--since", help="từ ngày dd/mm/yyyy")] = None,
    query: Annotated[str | None, typer.Option("--query", help="chỉ các bài khớp truy vấn này")] = None,
) -> None:
    """Mọi bài trong kho (hoặc mọi bài khớp --query, mới nhất trước), mỗi bài một dòng JSON."""
    from search.query import QueryError
    from search.search import export as export_docs
    from search.search import export_matches

    config = settings()
    chosen_sites(config, site)
    first = parse_day(since, "--since")
    with elasticsearch(config) as es:
        sites = site or []
        docs = (
            export_matches(es, config.index_prefix, query, sites=sites, since=first)
            if query is not None
            else export_docs(es, config.index_prefix, sites=sites, since=first)
        )
        try:
            for doc in docs:
                print_json(doc)
        except QueryError as exc:
            raise fail(f"truy vấn không hợp lệ: {exc}", 2) from None
        finally:
            docs.close()  # its scroll is cleared while the client is open (a reader may stop early)


@app.command()
def story(
    article_id: Annotated[str, typer.Argument(help="mã bài (newsmon search in ra dưới mỗi tin)")],
    as_json: Annotated[bool, typer.Option("--json", help="dạng JSON")] = False,
) -> None:
    """Một bài như đã lưu và mọi bản đăng lại của tin (ai đăng lại, khi nào)."""
    from search.search import story as find_story

    config = settings()
    with elasticsearch(config) as es:
        found = find_story(es, config.index_prefix, article_id)
    if found is None:
        raise fail(f"không có bài nào mã {clean(article_id)[:80]!r} (mã bài: xem newsmon search)")
    if as_json:
        print_json(found)
        return
    from crawler.registry import registry_titles
    from search.web.format import published

    titles = registry_titles(config.registry)
    out.print(Text(clean(found["title"]), style="bold"), highlight=False)
    for copy in found["copies"]:
        role = "bản gốc" if copy["original"] else "đăng lại"
        when = published(copy["published"]) or "không rõ ngày"
        line = f"  {role}: {titles.get(copy['site'], copy['site'])}, {when}"
        out.print(clean(f"{line}\n    {copy['url']}"), markup=False, highlight=False)
    out.print(clean("\n" + (found["text"] or "")), markup=False, highlight=False)
