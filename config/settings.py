"""Process-wide settings read from the NEWSMON_* environment variables (see SPEC.md)."""

from __future__ import annotations

import os
from datetime import time
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Every date and time newsmon reads without an offset, and every one it shows, is Vietnam time.
TIMEZONE = "Asia/Ho_Chi_Minh"
VN_TZ = ZoneInfo(TIMEZONE)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The largest page newsmon reads: the download limit, and what a compressed body may unpack to.
MAX_PAGE_BYTES = 10 * 1024 * 1024


def default_data_dir() -> Path:
    """`./var` when run from a newsmon checkout (its `pyproject.toml` and `config/sites.yaml`
    in the working directory), else `$XDG_DATA_HOME/newsmon` (`~/.local/share/newsmon`): never a
    folder inside the installed package."""
    here = Path.cwd()
    if (here / "pyproject.toml").is_file() and (here / "config" / "sites.yaml").is_file():
        return here / "var"
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "newsmon"


class Settings(BaseSettings):
    """Every knob a user can turn with an environment variable; all optional."""

    model_config = SettingsConfigDict(env_prefix="NEWSMON_", extra="ignore")

    config: Path = Field(default=PROJECT_ROOT / "config" / "sites.yaml")
    es_url: str | None = None
    es_api_key: str | None = None
    es_user: str | None = None
    es_password: str | None = None
    es_ca_certs: Path | None = None
    es_verify_certs: bool = True
    es_timeout: float = 30.0
    index_prefix: str = Field(default="newsmon", pattern=r"^[a-z0-9][a-z0-9_-]*$")
    data_dir: Path = Field(default_factory=default_data_dir)
    cache_dir: Path = Field(default=Path.home() / ".cache" / "newsmon")
    es_version: str = "9.5.4"
    es_heap: str = "1g"
    es_port: int = 9200
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_security: Literal["none", "starttls", "ssl"] = "none"
    mail_from: str = "newsmon@localhost"
    # Daily digests are sent at this local time (Asia/Ho_Chi_Minh), HH:MM.
    digest_at: str = Field(default="07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    allow_private_hosts: bool = False
    # The web app's write actions (alerts, "crawl now") need this token; unset, they are refused.
    web_token: SecretStr | None = Field(default=None, min_length=12)
    # Where people reach the web app (https://newsmon.example.org); mails link to its story and
    # alert pages, and to its one-click unsubscribe, only when this is set.
    public_url: str | None = None
    # Host names the web app answers besides 127.0.0.1, localhost and ::1 (and the host of
    # NEWSMON_PUBLIC_URL): comma-separated; any other Host header gets 400.
    web_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("es_url")
    @classmethod
    def _es_url(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s) URL: {value!r} (e.g. http://127.0.0.1:9200)")
        return value

    @field_validator("web_hosts", mode="before")
    @classmethod
    def _web_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [h.strip().lower() for h in value.split(",") if h.strip()]
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"not an http(s) address of the web app: {value!r} (e.g. https://newsmon.example.org)")
        return value.strip().rstrip("/")

    @field_validator("mail_from")
    @classmethod
    def _address(cls, value: str) -> str:
        # A line break here would let a header be injected into every alert mail.
        if any(c in value for c in "\r\n\0") or "@" not in value:
            raise ValueError(f"not an e-mail address: {value!r}")
        return value

    @property
    def digest_time(self) -> time:
        """The digest time as a `time` (Asia/Ho_Chi_Minh)."""
        hour, minute = self.digest_at.split(":")
        return time(int(hour), int(minute))

    @property
    def managed_es(self) -> bool:
        """True when newsmon runs its own local node (no NEWSMON_ES_URL given)."""
        return not self.es_url

    @property
    def effective_es_url(self) -> str:
        """NEWSMON_ES_URL, or the local node's address."""
        return self.es_url or f"http://127.0.0.1:{self.es_port}"

    @cached_property
    def resolved_data_dir(self) -> Path:
        """The data directory as an absolute path."""
        return self.data_dir.expanduser().resolve()

    @property
    def spool_dir(self) -> Path:
        """Where articles wait while Elasticsearch is unreachable."""
        return self.resolved_data_dir / "spool"

    @property
    def outbox_dir(self) -> Path:
        """Where mails go as `.eml` files when no SMTP host is set."""
        return self.resolved_data_dir / "outbox"

    @property
    def es_home(self) -> Path:
        """Where the local Elasticsearch node lives."""
        return self.resolved_data_dir / "elasticsearch"


def as_environment(settings: Settings) -> dict[str, str]:
    """The NEWSMON_* variables that give a child process (a crawl started from the web app)
    these same settings: each one set explicitly, secrets included."""
    variables = {}
    for name in settings.model_fields_set:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        variables[f"NEWSMON_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return variables


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's one Settings object, read from the environment on first use."""
    return Settings()


def describe(error: ValidationError) -> str:
    """A settings error as the user can act on it: one line per variable, named as set."""
    lines = []
    for item in error.errors():
        name = "NEWSMON_" + str(item["loc"][0]).upper() if item["loc"] else "NEWSMON_*"
        lines.append(f"{name}: {item['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)
