"""The site registry: `sites.yaml` parsed and validated into `Site` objects.

Errors name the file, the site and the key, so a user can fix the file without reading code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from config.settings import TIMEZONE
from pipelines.extraction.siterules import ExtractRules
from search.article import site_host

DEFAULT_SCHEDULE = "0 6 * * *"


class RegistryError(Exception):
    """The registry file is missing, unreadable or invalid."""


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {value!r}")
    return value


class Site(BaseModel):
    """One news site and where to discover its articles."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9-]+$")
    # The site's Vietnamese name, as people write it in a "(Nguồn: ...)" line.
    title: str | None = Field(default=None, min_length=2, max_length=200)
    url: str
    # Other hosts the site answers from (a domain it moved to, a mobile host): its links,
    # feeds and redirects there are its own, and its articles keep this entry's name.
    aliases: list[str] = []
    feeds: list[str] = []
    sitemaps: list[str] = []
    listings: list[str] = []
    article_url: str | None = None
    schedule: str = DEFAULT_SCHEDULE
    enabled: bool = True
    extract: ExtractRules | None = None
    # Articles published within this many days are asked for again on each crawl (conditionally).
    revisit_days: int = Field(default=7, ge=0, le=365)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_http_url(value)

    @field_validator("feeds", "sitemaps", "listings")
    @classmethod
    def _urls(cls, values: list[str]) -> list[str]:
        return [_check_http_url(v) for v in values]

    @field_validator("aliases")
    @classmethod
    def _hosts(cls, values: list[str]) -> list[str]:
        hosts = []
        for value in values:
            host = site_host(value if "//" in value else f"https://{value}")
            if not host or "/" in value.split("//", 1)[-1].strip("/"):
                raise ValueError(f"not a host name: {value!r} (e.g. tuoitre.vn)")
            hosts.append(host)
        return hosts

    @field_validator("article_url")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        try:
            CronTrigger.from_crontab(value, timezone=TIMEZONE)
        except ValueError as exc:
            raise ValueError(f"not a valid cron expression: {exc}") from None
        return value

    @property
    def domain(self) -> str:
        """The home page's host as `site_host` spells it (`congdoan.vn`, `127.0.0.1:8731`)."""
        return site_host(self.url)

    @property
    def hosts(self) -> list[str]:
        """The site's own host and its aliases."""
        return [self.domain, *self.aliases]

    @property
    def article_pattern(self) -> re.Pattern[str] | None:
        """`article_url` compiled, or None."""
        return re.compile(self.article_url) if self.article_url else None


def _describe(path: Path, site: str | None, error: ErrorDetails) -> str:
    loc = [str(p) for p in error["loc"]]
    where = f"{path}: site {site!r}" if site else f"{path}"
    key = ".".join(loc) if loc else "(site)"
    msg = error["msg"]
    if error["type"] == "extra_forbidden":
        msg = "unknown key"
    elif error["type"] == "missing":
        msg = "required key is missing"
    return f"{where}: key {key!r}: {msg}"


def parse_registry(data: Any, path: Path) -> list[Site]:
    """Validate the loaded YAML document; raise RegistryError naming file, site and key."""
    if not isinstance(data, dict) or set(data) != {"sites"}:
        raise RegistryError(f"{path}: the file must be a mapping with the single key 'sites'")
    raw_sites = data["sites"]
    if not isinstance(raw_sites, list):
        raise RegistryError(f"{path}: key 'sites' must be a list of sites")
    sites: list[Site] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_sites):
        label = raw.get("name") if isinstance(raw, dict) else None
        label = str(label) if label is not None else f"#{index + 1}"
        if not isinstance(raw, dict):
            raise RegistryError(f"{path}: site {label!r}: must be a mapping of keys")
        try:
            site = Site.model_validate(raw)
        except ValidationError as exc:
            lines = [_describe(path, label, err) for err in exc.errors()]
            raise RegistryError("\n".join(lines)) from None
        if site.name in seen:
            raise RegistryError(f"{path}: site {site.name!r}: key 'name': duplicate site name")
        seen.add(site.name)
        sites.append(site)
    return sites


def load_registry(path: Path) -> list[Site]:
    """Read and validate the registry file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read the site registry: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise RegistryError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not valid YAML: {exc}") from None
    return parse_registry(data, path)


def select_sites(sites: list[Site], names: list[str], path: Path) -> list[Site]:
    """The named sites (in registry order), or every enabled site when no name is given."""
    if not names:
        return [s for s in sites if s.enabled]
    known = {s.name for s in sites}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise RegistryError(f"{path}: no site named {', '.join(map(repr, unknown))}")
    return [s for s in sites if s.name in names]


def site_titles(sites: list[Site]) -> dict[str, str]:
    """Each site's name -> the title people know it by (the name when it has none)."""
    return {site.name: site.title or site.name for site in sites}


def registry_titles(path: Path) -> dict[str, str]:
    """`site_titles` of the registry at `path`; empty when it cannot be read (a site is then
    shown by its name: never a reason to fail a mail or a search)."""
    try:
        return site_titles(load_registry(path))
    except RegistryError:
        return {}
