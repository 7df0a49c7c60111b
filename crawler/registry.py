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

from config.sites import unknown_sites
from config.vntime import TIMEZONE
from pipelines.extraction.siterules import ExtractRules
from search.article import site_host

DEFAULT_SCHEDULE = "0 6 * * *"


class RegistryError(Exception):
    """The registry file is missing, unreadable or invalid."""


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"không phải địa chỉ http(s): {value!r}")
    return value


class Site(BaseModel):
    """One news site and where to discover its articles."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Each field's description is its line in docs/registry.md (`make docs` writes the table;
    # a test holds it equal to this class).
    name: str = Field(
        pattern=r"^[a-z0-9-]+$",
        description=("Short name: lower-case letters, digits, `-`; what `--site` and the alert rules take."),
    )
    title: str | None = Field(
        default=None,
        min_length=2,
        max_length=200,
        description=(
            "The site's Vietnamese name as people write it (also in a `(Nguồn: ...)` line); shown "
            "everywhere instead of `name`."
        ),
    )
    url: str = Field(description="The home page (http or https).")
    aliases: list[str] = Field(
        default=[],
        description=(
            "Other hosts of the site (a domain it moved to, a mobile host): links, feeds and redirects "
            "there are its own."
        ),
    )
    feeds: list[str] = Field(default=[], description="RSS 2.0 or Atom feeds.")
    sitemaps: list[str] = Field(default=[], description="Sitemaps or sitemap indexes (`.xml`, `.xml.gz`).")
    listings: list[str] = Field(default=[], description="Section pages listing articles, read page by page.")
    article_url: str | None = Field(
        default=None,
        description=(
            "A regular expression article addresses match; unset, a numeric id or a long slug at the end "
            "of the path."
        ),
    )
    schedule: str = Field(
        default=DEFAULT_SCHEDULE,
        description=("When `newsmon serve` crawls it: five cron fields, Vietnam time."),
    )
    enabled: bool = Field(default=True, description="`false` keeps the entry but never crawls it.")
    extract: ExtractRules | None = Field(
        default=None,
        description=(
            "Where the title, body, date and author are, and what to drop, when the generic reading fails "
            "(CSS selectors, or XPath starting with `/`)."
        ),
    )
    revisit_days: int = Field(
        default=7,
        ge=0,
        le=365,
        description=(
            "Articles published within this many days are asked for again on each crawl (conditionally); "
            "0 turns it off."
        ),
    )

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
                raise ValueError(f"không phải tên máy: {value!r} (ví dụ tuoitre.vn)")
            hosts.append(host)
        return hosts

    @field_validator("article_url")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"không phải biểu thức chính quy hợp lệ: {exc}") from None
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        try:
            CronTrigger.from_crontab(value, timezone=TIMEZONE)
        except ValueError as exc:
            raise ValueError(f"không phải lịch cron hợp lệ: {exc}") from None
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
    where = f"{path}: trang {site!r}" if site else f"{path}"
    key = ".".join(loc) if loc else "(trang)"
    msg = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        msg = "khoá không có trong định dạng (docs/registry.md)"
    elif error["type"] == "missing":
        msg = "thiếu khoá bắt buộc"
    elif error["type"] == "string_too_short":
        msg = f"quá ngắn (ít nhất {error.get('ctx', {}).get('min_length')} ký tự)"
    elif error["type"] == "string_pattern_mismatch":
        msg = f"không đúng dạng {error.get('ctx', {}).get('pattern', '')}"
    return f"{where}: khoá {key!r}: {msg}"


def parse_registry(data: Any, path: Path) -> list[Site]:
    """Validate the loaded YAML document; raise RegistryError naming file, site and key."""
    if not isinstance(data, dict) or set(data) != {"sites"}:
        raise RegistryError(f"{path}: tệp phải có đúng một khoá 'sites' (docs/registry.md)")
    raw_sites = data["sites"]
    if not isinstance(raw_sites, list):
        raise RegistryError(f"{path}: khoá 'sites' phải là một danh sách trang")
    sites: list[Site] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_sites):
        label = raw.get("name") if isinstance(raw, dict) else None
        label = str(label) if label is not None else f"#{index + 1}"
        if not isinstance(raw, dict):
            raise RegistryError(f"{path}: trang {label!r}: phải là một bộ khoá: giá trị")
        try:
            site = Site.model_validate(raw)
        except ValidationError as exc:
            lines = [_describe(path, label, err) for err in exc.errors()]
            raise RegistryError("\n".join(lines)) from None
        if site.name in seen:
            raise RegistryError(f"{path}: trang {site.name!r}: khoá 'name': tên trang bị trùng")
        seen.add(site.name)
        sites.append(site)
    return sites


def load_registry(path: Path) -> list[Site]:
    """Read and validate the registry file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError(f"{path}: không đọc được danh sách trang: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise RegistryError(
            f"{path}: không phải văn bản UTF-8 (byte {exc.start}); hãy lưu tệp dạng UTF-8"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: không phải YAML hợp lệ: {exc}") from None
    return parse_registry(data, path)


def select_sites(sites: list[Site], names: list[str], path: Path) -> list[Site]:
    """The named sites (in registry order), or every enabled site when no name is given."""
    if not names:
        return [s for s in sites if s.enabled]
    known = [s.name for s in sites]
    if message := unknown_sites([n for n in names if n not in known], known):
        raise RegistryError(f"{path}: {message}")
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
