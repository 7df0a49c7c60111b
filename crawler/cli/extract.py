"""`newsmon extract`: extraction only, nothing indexed; URLs are fetched as the crawl fetches."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from crawler.cli.common import app, clean, err, out, print_json, registry_sites, settings

_FIELDS = ("url", "canonical_url", "title", "author", "published", "text", "tags", "language")


@app.command()
def extract(
    inputs: Annotated[list[str], typer.Argument(help="URLs or files (.html or .html.gz)")],
    url: Annotated[str | None, typer.Option("--url", help="address the file(s) came from")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per input")] = False,
) -> None:
    """Extract articles without indexing anything. A page from a registry site is read
    with that site's `extract:` rules."""
    from crawler.fetch import fetch_pages

    config = settings()
    sites = registry_sites(config) if config.config.exists() else []
    urls = [arg for arg in inputs if urlsplit(arg).scheme in ("http", "https")]
    fetched = fetch_pages(urls, config, sites) if urls else {}
    failed = 0
    for arg in inputs:
        try:
            if arg in fetched:
                page = fetched[arg]
                if page.error:
                    raise OSError(page.error)
                record = _extract(arg, page.body, page.url, page.content_type, sites, parts=page.parts)
            else:
                record = _extract(arg, _read_file(Path(arg)), url, None, sites)
        except Exception as exc:  # noqa: BLE001 - one bad input never stops the others
            failed += 1
            record = {"input": arg, "error": f"{type(exc).__name__}: {exc}"}
        if as_json:
            print_json(record)
        elif "error" in record:
            err.print(clean(f"{arg}: {record['error']}"), markup=False)
        else:
            out.print(clean(f"# {record['title']}\n{record['published'] or ''} {record['author'] or ''}\n"
                            f"{record['text']}\n"), markup=False, highlight=False)
    if failed == len(inputs):
        raise typer.Exit(1)


def _read_file(path: Path) -> bytes:
    """A page file, refused when larger than a page may be (the crawl's download limit)."""
    from config.settings import MAX_PAGE_BYTES
    from pipelines.extraction.page import PageTooLarge

    if path.stat().st_size > MAX_PAGE_BYTES:
        raise PageTooLarge(f"larger than {MAX_PAGE_BYTES // (1024 * 1024)} MB")
    return path.read_bytes()


def _extract(arg: str, body: bytes, page_url: str | None, content_type: str | None,
             sites: list[Any], *, parts: tuple[bytes, ...] = ()) -> dict[str, Any]:
    from pipelines.extraction.page import extract_page, work_budget
    from pipelines.normalize import normalize_article
    from search.article import same_site, site_host

    site = next((s for s in sites if page_url and same_site(page_url, s.domain)), None)
    with work_budget():
        article = extract_page(body, page_url, content_type, rules=site.extract if site else None,
                               parts=parts)
    if article is None:
        raise ValueError("no article body found on this page")
    if page_url:
        article = normalize_article(article, site.domain if site else site_host(page_url))
    return {"input": arg, **{k: getattr(article, k) for k in _FIELDS}}
