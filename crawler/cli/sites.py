"""`newsmon sites check|discover`: whether each registry site can be read now; a registry
entry for a site not described yet."""

from __future__ import annotations

from typing import Annotated

import typer

from crawler.cli.common import app, chosen_sites, clean, err, fail, out, print_json, settings

sites_app = typer.Typer(help="Các trang newsmon theo dõi.", no_args_is_help=True)
app.add_typer(sites_app, name="sites")


@sites_app.command("check")
def sites_check(
    name: Annotated[list[str] | None, typer.Argument(help="các trang (mặc định: mọi trang đang bật)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="dạng JSON")] = False,
) -> None:
    """Thử đọc từng trang ngay bây giờ: robots.txt, mọi nguồn, hai bài; mã thoát 1 nếu có trang
    không đọc được. Địa chỉ nội bộ của chính trang được phép, như khi thu thập."""
    from crawler.sitetools.check import check_sites

    config = settings()
    results = check_sites(chosen_sites(config, name), config)
    if as_json:
        print_json([result.as_dict() for result in results])
    else:
        for result in results:
            verdict = "đọc được" if result.readable else "KHÔNG ĐỌC ĐƯỢC"
            out.print(clean(f"{result.site}: {verdict}"), markup=False, highlight=False)
            for check in result.checks:
                mark = "ok " if check.ok else "LỖI"
                out.print(
                    clean(f"  [{mark}] {check.label}: {check.url} — {check.detail}"),
                    markup=False,
                    highlight=False,
                )
    if not all(result.readable for result in results):
        raise typer.Exit(1)


@sites_app.command("discover")
def sites_discover(
    url: Annotated[str, typer.Argument(help="trang chủ của trang")],
    add: Annotated[bool, typer.Option("--add", help="thêm mục này vào danh sách trang")] = False,
    name: Annotated[str | None, typer.Option("--name", help="tên ngắn (chữ thường, số, dấu -)")] = None,
    title: Annotated[str | None, typer.Option("--title", help="tên trang như mọi người gọi")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="dạng JSON")] = False,
) -> None:
    """Tìm RSS, sitemap, trang chuyên mục và dạng địa chỉ bài của một trang; in ra mục cho danh
    sách trang (và đọc thử ba bài)."""
    import yaml

    from crawler.registry import RegistryError, Site
    from crawler.sitetools.discover import add_to_registry, discover, entry_for, tried_articles
    from search.web.format import published

    config = settings()
    found = discover(url, config)
    if found.final_home is None:
        raise fail(f"{url}: không tải được trang chủ ({'; '.join(found.errors) or 'không trả lời'})")
    entry = entry_for(found, name=name, title=title)
    try:
        Site.model_validate(entry)
    except ValueError as exc:
        raise fail(f"mục tìm được không hợp lệ: {exc}", 2 if name else 1) from None
    articles = tried_articles(found)
    if as_json:
        print_json({"entry": entry, "articles": articles, "article_urls": len(found.articles)})
    else:
        out.print(
            clean(
                f"# {url}: {len(found.feeds)} RSS, {len(found.sitemaps)} sitemap, "
                f"{len(found.listings)} trang chuyên mục, {len(found.articles)} địa chỉ bài"
            ),
            markup=False,
            highlight=False,
        )
        for row in articles:
            when = published(row.get("published")) or "KHÔNG CÓ NGÀY"
            line = row.get("error") or f"{row['title']} | {when} | {row['first_line']}"
            out.print(clean(f"# {row['url']}\n#   {line}"), markup=False, highlight=False)
        text = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=200)
        out.print(clean(text), markup=False, highlight=False)
    if add:
        try:
            site = add_to_registry(config.registry, entry)
        except (RegistryError, OSError) as exc:
            raise fail(f"{config.registry}: chưa thêm được: {exc}", 2) from None
        err.print(f"đã thêm vào {config.registry} với tên {site.name!r}", markup=False)
