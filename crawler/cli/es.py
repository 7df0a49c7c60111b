"""`newsmon es start|stop|status`: the local managed Elasticsearch node."""

from __future__ import annotations

from typing import Annotated

import typer

from crawler.cli.common import app, fail, out, print_json, settings

es_app = typer.Typer(no_args_is_help=True, help="The local managed Elasticsearch node.")
app.add_typer(es_app, name="es")


@es_app.command("start")
def es_start() -> None:
    """Provision (first time) and start the local node; wait until it is healthy."""
    from crawler.node import LocalNode, NodeError, start

    config = settings()
    if not config.managed_es:
        raise fail(f"NEWSMON_ES_URL is set ({config.es_url}); newsmon does not manage that "
                   "cluster. Unset it to use the local node.", 2)
    try:
        out.print(start(LocalNode(config)), markup=False)
    except NodeError as exc:
        raise fail(f"es start failed: {exc}") from None


@es_app.command("stop")
def es_stop() -> None:
    """Stop the local node cleanly."""
    from crawler.node import LocalNode, stop

    config = settings()
    if not config.managed_es:
        raise fail("NEWSMON_ES_URL is set; newsmon does not stop clusters it does not manage.", 2)
    out.print(stop(LocalNode(config)), markup=False)


@es_app.command("status")
def es_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Version, health, document counts and installed modules; exit 1 when not reachable."""
    from search.es import installed_modules, make_client, node_version
    from search.schema import alias_name, count

    config = settings()
    es = make_client(config)
    try:
        health = es.cluster.health(timeout="2s")
        info = {
            "url": config.effective_es_url,
            "managed": config.managed_es,
            "version": node_version(es),
            "health": health["status"],
            "cluster": health["cluster_name"],
            "articles": count(es, config.index_prefix),
            "alias": alias_name(config.index_prefix),
            "modules": installed_modules(es),
        }
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        where = "the local node" if config.managed_es else config.effective_es_url
        raise fail(f"Elasticsearch is not running or not reachable ({where}): {type(exc).__name__}") from None
    finally:
        es.close()
    if as_json:
        print_json(info)
        return
    for key, value in info.items():
        out.print(f"{key}: {', '.join(value) if isinstance(value, list) else value}", markup=False)
