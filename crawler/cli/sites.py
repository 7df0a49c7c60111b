"""`newsmon sites check`: whether each registry site can be read now, one line per check."""

from __future__ import annotations

from typing import Annotated

import typer

from crawler.cli.common import app, clean, err, fail, out, print_json, registry_sites, settings

sites_app = typer.Typer(help="The sites newsmon watches.", no_args_is_help=True)
app.add_typer(sites_app, name="sites")


@sites_app.command("check")
def sites_check(
    name: Annotated[list[str] | None, typer.Argument(help="sites (default: every enabled one)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Probe each site live: robots.txt, every source, two articles; exit 1 if one cannot be read."""
    from crawler.check import check_sites
    from crawler.registry import RegistryError, select_sites

    config = settings()
    try:
        chosen = select_sites(registry_sites(config), name or [], config.config)
    except RegistryError as exc:
        raise fail(str(exc), 2) from None
    results = check_sites(chosen, config)
    if as_json:
        print_json([result.as_dict() for result in results])
    else:
        for result in results:
            verdict = "đọc được" if result.readable else "KHÔNG ĐỌC ĐƯỢC"
            out.print(clean(f"{result.site}: {verdict}"), markup=False, highlight=False)
            for check in result.checks:
                mark = "ok " if check.ok else "LỖI"
                out.print(clean(f"  [{mark}] {check.label}: {check.url} — {check.detail}"), markup=False,
                          highlight=False)
    if not all(result.readable for result in results):
        raise typer.Exit(1)


@sites_app.command("discover")
def sites_discover(
    url: Annotated[str, typer.Argument(help="the site's home page")],
    add: Annotated[bool, typer.Option("--add", help="append the entry to the registry")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Find a site's feeds, sitemaps, listings and article pattern; print a registry entry."""
    import yaml

    from crawler.discover import add_to_registry, discover, entry_for, tried_articles
    from crawler.registry import RegistryError, Site

    config = settings()
    found = discover(url, config)
    if found.final_home is None:
        raise fail(f"{url}: the home page could not be fetched ({'; '.join(found.errors) or 'no answer'})")
    entry = entry_for(found)
    try:
        Site.model_validate(entry)
    except ValueError as exc:
        raise fail(f"the entry found is not valid: {exc}") from None
    articles = tried_articles(found)
    if as_json:
        print_json({"entry": entry, "articles": articles, "article_urls": len(found.articles)})
    else:
        out.print(clean(f"# {url}: {len(found.feeds)} feed(s), {len(found.sitemaps)} sitemap(s), "
                        f"{len(found.listings)} listing(s), {len(found.articles)} article address(es)"),
                  markup=False, highlight=False)
        for row in articles:
            when = row.get("published") or "KHÔNG CÓ NGÀY"
            line = row.get("error") or f"{row['title']} | {when} | {row['first_line']}"
            out.print(clean(f"# {row['url']}\n#   {line}"), markup=False, highlight=False)
        text = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=200)
        out.print(clean(text), markup=False, highlight=False)
    if add:
        try:
            site = add_to_registry(config.config, entry)
        except (RegistryError, OSError) as exc:
            raise fail(f"{config.config}: not added: {exc}", 2) from None
        err.print(f"added to {config.config} as {site.name!r}", markup=False)
