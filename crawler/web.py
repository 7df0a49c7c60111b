"""The web app as the crawler serves it: `search.web` given this registry's sites and the
crawler's side of the sites page (runs, next crawls, "crawl now")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI

from config.settings import Settings
from crawler.registry import Site, site_titles
from crawler.status import SiteBoard
from search.web.app import create_app


def make_web_app(
    config: Settings, sites: list[Site], next_runs: Callable[[], dict[str, datetime | None]] | None = None
) -> FastAPI:
    """The web app for these settings and sites (`next_runs`: the scheduler's, if one runs)."""
    return create_app(
        config, [site.name for site in sites], SiteBoard(config, sites, next_runs), site_titles(sites)
    )


def from_environment() -> FastAPI:
    """The app for this process's NEWSMON_* settings and registry, without the scheduler (for
    `uvicorn crawler.web:from_environment --factory` behind another process manager)."""
    from config.settings import get_settings
    from crawler.registry import load_registry

    config = get_settings()
    return make_web_app(config, load_registry(config.registry))
