"""`newsmon sites check`: whether each registry site can be read now, one line per check."""

from __future__ import annotations

from typing import Annotated

import typer

from crawler.cli.common import app, clean, fail, out, print_json, registry_sites, settings

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
