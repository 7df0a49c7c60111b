"""Shared fixtures: a real Elasticsearch (fail, not skip, under NEWSMON_REQUIRE_ES=1),
per-test index prefixes and data directories, sample sites on loopback, the CLI."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from config.settings import Settings
from crawler.samples.server import SampleSite, serve_sites, write_registry
from search.es import make_client
from search.schema import drop_all


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Markers from what a test uses, so `make check` (no Elasticsearch, no browser, nothing
    slow) cannot miss one: a test using the cluster is `es`, one driving Chromium `browser`."""
    for item in items:
        if "es_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.es)
        if item.path.name == "test_browser.py":
            item.add_marker(pytest.mark.browser)
        if "postgres_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.state)


@pytest.fixture(scope="session")
def es_url() -> str:
    url = Settings().effective_es_url
    client = Elasticsearch(url, request_timeout=5)
    try:
        client.cluster.health(timeout="2s")
    except Exception as exc:  # noqa: BLE001
        message = f"no Elasticsearch at {url} ({type(exc).__name__}); run `make test`"
        if os.environ.get("NEWSMON_REQUIRE_ES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    finally:
        client.close()
    return url


@pytest.fixture
def env(tmp_path: Path, es_url: str) -> dict[str, str]:
    """Environment for one isolated newsmon run: own index prefix and data directory."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    return {
        **os.environ,
        "NEWSMON_ES_URL": es_url,
        "NEWSMON_INDEX_PREFIX": prefix,
        "NEWSMON_DATA_DIR": str(tmp_path / "data"),
    }


@pytest.fixture
def es(env: dict[str, str]) -> Iterator[Elasticsearch]:
    client = make_client(Settings(es_url=env["NEWSMON_ES_URL"]))
    yield client
    drop_all(client, env["NEWSMON_INDEX_PREFIX"])
    client.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One throw-away PostgreSQL for the session (tests/postgres.py); skipped when it is not
    installed, failed under NEWSMON_REQUIRE_ES=1 (CI installs it)."""
    from tests.postgres import binaries, running_postgres

    if binaries() is None:
        message = "PostgreSQL is not installed (Debian: postgresql); `make test` installs it"
        if os.environ.get("NEWSMON_REQUIRE_ES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with running_postgres() as url:
        yield url


@pytest.fixture
def state_url(postgres_server: str) -> str:
    """A fresh database on the session's PostgreSQL: what NEWSMON_STATE_URL names."""
    import psycopg

    name = f"t{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return postgres_server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> str | None:
    """Where a store lives: its SQLite file (None), or a fresh shared PostgreSQL database (its
    URL): a test taking it runs on both."""
    return str(request.getfixturevalue("state_url")) if request.param == "postgresql" else None


@pytest.fixture
def sample_sites() -> Iterator[dict[str, SampleSite]]:
    with serve_sites() as sites:
        yield sites


@pytest.fixture
def registry(tmp_path: Path, sample_sites: dict[str, SampleSite], env: dict[str, str]) -> Path:
    path = write_registry(tmp_path / "sites.yaml", sample_sites)
    env["NEWSMON_CONFIG"] = str(path)
    return path


@pytest.fixture
def unused_port() -> int:
    """A loopback port nobody listens on (bound, read, released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def site(tmp_path: Path) -> Iterator[SampleSite]:
    """An empty site `gen` on loopback, for `crawler/samples/sitegen.py` to fill."""
    root = tmp_path / "www"
    (root / "gen").mkdir(parents=True)
    with serve_sites(root) as sites:
        yield sites["gen"]
