"""Process-wide settings read from the NEWSMON_* environment variables (see SPEC.md)."""

from __future__ import annotations

import os
from datetime import time
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIN_TOKEN = 12  # characters of NEWSMON_WEB_TOKEN


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

    # populate_by_name: code says `registry=`, the environment NEWSMON_CONFIG (its alias).
    model_config = SettingsConfigDict(env_prefix="NEWSMON_", extra="ignore", populate_by_name=True)

    # Each field's description is its line in docs/configuration.md (`make docs` writes the
    # table; a test holds it equal to this class).
    registry: Path = Field(
        default=PROJECT_ROOT / "config" / "sites.yaml",
        # Named NEWSMON_CONFIG since the first version; the field says what it is.
        validation_alias="NEWSMON_CONFIG",
        description="The site registry (YAML; docs/registry.md).",
    )
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description=(
            "Where newsmon keeps its state: crawl state, journal, alerts, outbox, the local node. Default "
            "`./var` in a checkout, else `$XDG_DATA_HOME/newsmon`."
        ),
    )
    words: Path | None = Field(
        default=None,
        description=(
            "A words file replacing `config/words.yaml` (union terms and abbreviations search reads "
            "as words)."
        ),
    )
    index_prefix: str = Field(
        default="newsmon",
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description=("Every index and alias newsmon creates starts with it (the demo uses `newsmon-demo`)."),
    )
    es_url: str | None = Field(
        default=None,
        description=(
            "An Elasticsearch cluster to use (e.g. `https://es.example.org:9200`, or several of its nodes "
            "comma-separated, so one node down is not the archive down); unset, newsmon runs its own "
            "local node."
        ),
    )
    es_api_key: SecretStr | None = Field(default=None, description="API key for the cluster (preferred).")
    es_user: str | None = Field(default=None, description="User name for basic authentication.")
    es_password: SecretStr | None = Field(default=None, description="Password for basic authentication.")
    es_ca_certs: Path | None = Field(default=None, description="CA certificate (PEM) of the cluster.")
    es_verify_certs: bool = Field(default=True, description="`false` only for a throw-away test cluster.")
    es_timeout: float = Field(default=30.0, description="Seconds a request to Elasticsearch may take.")
    state_url: SecretStr | None = Field(
        default=None,
        description=(
            "A PostgreSQL database several newsmon machines share (`postgresql://user:password@host/db`): "
            "alert rules, ledger and mail queue, per-site crawl locks, the scheduler's jobs and its "
            "leader, the crawl queue, the run log, the seen store, the journal, site profiles and "
            "web sessions live there; unset, SQLite files and file locks under the "
            "data directory (one machine)."
        ),
    )
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "newsmon",
        description=("Where the Elasticsearch distribution zip is kept once downloaded."),
    )
    es_version: str = Field(default="9.5.4", description="The local node's Elasticsearch version.")
    es_heap: str = Field(default="1g", description="The local node's Java heap (`-Xms`/`-Xmx`).")
    es_port: int = Field(default=9200, description="The local node's HTTP port on 127.0.0.1.")
    es_nodes: int = Field(
        default=1,
        ge=1,
        le=9,
        description=(
            "How many local nodes `newsmon es start` runs as one cluster (HTTP ports from NEWSMON_ES_PORT "
            "up); set it for every newsmon command that uses that cluster."
        ),
    )
    es_shards: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Primary shards of each article index (1 is right up to tens of GB).",
    )
    es_replicas: int | None = Field(
        default=None,
        ge=0,
        le=8,
        description=(
            "Replicas of each article index; unset, 0 on one node and 1 as soon as the cluster has two "
            "(so a dead disk loses nothing)."
        ),
    )
    es_rollover_size: str = Field(
        default="40gb",
        pattern=r"^[1-9][0-9]*(b|kb|mb|gb|tb)$",
        description=(
            "`newsmon es rollover` (hourly, and a crawl or backfill every 20,000 articles it writes) "
            "starts a new article index once a primary shard of the one written to is this large "
            "(Elasticsearch's guidance: shards of 10-50 GB)."
        ),
    )
    es_rollover_docs: int = Field(
        default=50_000_000,
        ge=1,
        description="... or once the index written to holds this many articles.",
    )
    es_snapshot_dir: Path | None = Field(
        default=None,
        description=(
            "Where `newsmon es snapshot` writes (an `fs` repository: on a cluster, a folder every node "
            "mounts and lists in `path.repo`); unset, the local node's `snapshots` folder."
        ),
    )
    smtp_host: str | None = Field(
        default=None,
        description=(
            "The mail server; unset, alert mails are written to `$NEWSMON_DATA_DIR/outbox/` as `.eml` files."
        ),
    )
    smtp_port: int | None = Field(default=None, description="Its port (default 25, 465 with `ssl`).")
    smtp_user: str | None = Field(default=None, description="User name on the mail server.")
    smtp_password: SecretStr | None = Field(default=None, description="Password on the mail server.")
    smtp_security: Literal["none", "starttls", "ssl"] = Field(
        default="none", description=("`none`, `starttls` or `ssl`.")
    )
    mail_from: str = Field(default="newsmon@localhost", description="The sender of alert mails.")
    admin_email: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Who is mailed when a site needs attention (crawls failing in a row, no new article for much "
            "longer than usual, extraction health fallen), once per episode; comma-separated."
        ),
    )
    digest_at: str = Field(
        default="07:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description=("When daily digests are sent, HH:MM Vietnam time (by `newsmon serve`)."),
    )
    allow_private_hosts: bool = Field(
        default=False,
        description=(
            "`true` lets crawls follow links to private and loopback addresses (a site's own host always "
            "may be one)."
        ),
    )
    web_token: SecretStr | None = Field(
        default=None,
        description=("The web app's access token (12 characters or more); unset, the web app only reads."),
    )
    public_url: str | None = Field(
        default=None,
        description=(
            "Where people reach the web app (`https://newsmon.example.org`): mails then link to story pages "
            "and carry one-click unsubscribe."
        ),
    )
    web_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Host names the web app answers besides loopback and the host of NEWSMON_PUBLIC_URL, "
            "comma-separated; others get 400."
        ),
    )
    dedup_window_days: int = Field(
        default=14,
        ge=0,
        description=(
            "A copy is looked for among articles published this many days either side of it "
            "(republished copies follow within days); `0` looks through the whole archive."
        ),
    )

    @field_validator("es_url")
    @classmethod
    def _es_url(cls, value: str | None) -> str | None:
        if value is not None:
            for url in value.split(","):
                parts = urlsplit(url.strip())
                if parts.scheme not in ("http", "https") or not parts.hostname:
                    raise ValueError(
                        f"không phải địa chỉ http(s): {url.strip()!r} (ví dụ http://127.0.0.1:9200)"
                    )
        return value

    @field_validator("state_url")
    @classmethod
    def _state_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and urlsplit(value.get_secret_value()).scheme not in ("postgresql", "postgres"):
            raise ValueError("phải là địa chỉ PostgreSQL (postgresql://người-dùng@máy/cơ-sở-dữ-liệu)")
        return value

    @field_validator("web_token")
    @classmethod
    def _web_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_TOKEN:
            raise ValueError(
                f"mã truy cập phải dài ít nhất {MIN_TOKEN} ký tự (đang có "
                f"{len(value.get_secret_value())}); bỏ biến này thì ứng dụng web chỉ để đọc"
            )
        return value

    @field_validator("admin_email", mode="before")
    @classmethod
    def _admins(cls, value: object) -> object:
        if isinstance(value, str):
            value = [a.strip() for a in value.split(",") if a.strip()]
        for address in value if isinstance(value, list) else []:
            if any(c in str(address) for c in "\r\n\0") or "@" not in str(address):
                raise ValueError(f"không phải địa chỉ e-mail: {address!r}")
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
            raise ValueError(
                f"không phải địa chỉ http(s) của ứng dụng web: {value!r} (ví dụ https://newsmon.example.org)"
            )
        return value.strip().rstrip("/")

    @field_validator("mail_from")
    @classmethod
    def _address(cls, value: str) -> str:
        # A line break here would let a header be injected into every alert mail.
        if any(c in value for c in "\r\n\0") or "@" not in value:
            raise ValueError(f"không phải địa chỉ e-mail: {value!r}")
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
    def es_urls(self) -> list[str]:
        """Every node address the client may use: NEWSMON_ES_URL's, or the local nodes'."""
        if self.es_url:
            return [url.strip() for url in self.es_url.split(",") if url.strip()]
        return [f"http://127.0.0.1:{self.es_port + n}" for n in range(self.es_nodes)]

    @property
    def effective_es_url(self) -> str:
        """NEWSMON_ES_URL, or the local nodes' addresses (comma-separated when several)."""
        return ",".join(self.es_urls)

    @cached_property
    def resolved_data_dir(self) -> Path:
        """The data directory as an absolute path."""
        return self.data_dir.expanduser().resolve()

    @property
    def shared_state(self) -> str | None:
        """NEWSMON_STATE_URL in clear (the shared database several machines use), or None."""
        return self.state_url.get_secret_value() if self.state_url else None

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


def variable(name: str) -> str:
    """The environment variable that sets the field `name` (`data_dir` -> NEWSMON_DATA_DIR,
    `registry` -> its alias NEWSMON_CONFIG)."""
    alias = Settings.model_fields[name].validation_alias if name in Settings.model_fields else None
    return alias if isinstance(alias, str) else f"NEWSMON_{name.upper()}"


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
        variables[variable(name)] = str(value).lower() if isinstance(value, bool) else str(value)
    return variables


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's one Settings object, read from the environment on first use."""
    return Settings()


_KINDS = {  # pydantic's error types, said in Vietnamese (its English message otherwise)
    "bool_parsing": "phải là true hoặc false",
    "int_parsing": "phải là một số nguyên",
    "float_parsing": "phải là một số",
    "string_pattern_mismatch": "không đúng dạng: {pattern}",
    "literal_error": "phải là một trong: {expected}",
}


def describe(error: ValidationError) -> str:
    """A settings error as the user can act on it: one line per variable, named as set."""
    lines = []
    for item in error.errors():
        loc = str(item["loc"][0]) if item["loc"] else ""
        name = (loc if loc.startswith("NEWSMON_") else variable(loc)) if loc else "NEWSMON_*"
        said = _KINDS.get(item["type"], item["msg"].removeprefix("Value error, "))
        lines.append(f"{name}: {said.format(**item.get('ctx', {})).replace(' or ', ' hoặc ')}")
    return "\n".join(lines)
