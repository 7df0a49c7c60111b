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
    inputs: Annotated[list[str], typer.Argument(help="địa chỉ URL hoặc tệp (.html, .html.gz)")],
    url: Annotated[str | None, typer.Option("--url", help="địa chỉ gốc của (các) tệp")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="mỗi đầu vào một đối tượng JSON")] = False,
) -> None:
    """Trích xuất bài mà không lưu gì vào kho; trang của một site trong danh sách được đọc theo
    quy tắc `extract:` của site đó."""
    config = settings()
    sites = registry_sites(config) if config.registry.exists() else []
    urls = [arg for arg in inputs if urlsplit(arg).scheme in ("http", "https")]
    fetched = {}
    if urls:  # Scrapy is imported only to fetch: reading files needs none of it (a second)
        from crawler.fetch import fetch_pages

        fetched = fetch_pages(urls, config, sites)
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
            from search.web.format import published

            when = published(record["published"]) or "không rõ ngày"
            out.print(
                clean(f"# {record['title']}\n{when} {record['author'] or ''}\n{record['text']}\n"),
                markup=False,
                highlight=False,
            )
    if failed == len(inputs):
        raise typer.Exit(1)


def _read_file(path: Path) -> bytes:
    """A page file, refused when larger than a page may be (the crawl's download limit)."""
    from config.limits import MAX_PAGE_BYTES
    from pipelines.extraction.page import PageTooLarge

    if path.stat().st_size > MAX_PAGE_BYTES:
        raise PageTooLarge(f"lớn hơn {MAX_PAGE_BYTES // (1024 * 1024)} MB")
    return path.read_bytes()


def _extract(
    arg: str,
    body: bytes,
    page_url: str | None,
    content_type: str | None,
    sites: list[Any],
    *,
    parts: tuple[bytes, ...] = (),
) -> dict[str, Any]:
    from pipelines.extraction.page import extract_page, work_budget
    from pipelines.normalize import normalize_article
    from search.article import same_site, site_host

    site = next((s for s in sites if page_url and same_site(page_url, s.domain)), None)
    with work_budget():
        article = extract_page(
            body, page_url, content_type, rules=site.extract if site else None, parts=parts
        )
    if article is None:
        raise ValueError("không tìm thấy nội dung bài trên trang này")
    if page_url:
        article = normalize_article(article, site.domain if site else site_host(page_url))
    return {"input": arg, **{k: getattr(article, k) for k in _FIELDS}}
