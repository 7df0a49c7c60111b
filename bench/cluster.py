"""Crawl -> index throughput with 1 and 2 crawl workers against 1 and 3 Elasticsearch nodes,
and what the shared state costs per crawled page.

Generates two local sites of N article pages each (`crawler/samples/sitegen.py`), serves
them on loopback, and for each number of nodes starts a local cluster of its own
(`newsmon es start`, NEWSMON_ES_NODES, 384 MB heaps, its own ports and data folder) and a
fresh PostgreSQL database (tests/postgres.py). For each number of workers it queues both
sites and runs that many `newsmon serve --role worker` processes until both crawls end;
it prints articles/s and, from PostgreSQL's own counters, transactions per crawled page.
The baseline in the same run: both sites crawled by one plain `newsmon crawl` (no shared
state) on the same cluster. On a 2-core machine a second worker cannot add speed (the
extraction workers of one crawl already use both cores): the figure says what it costs.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.settings import Settings  # noqa: E402
from crawler.roles import enqueue, prepare  # noqa: E402
from crawler.samples.server import serve_sites  # noqa: E402
from crawler.samples.sitegen import generate_site  # noqa: E402
from search.es import make_client  # noqa: E402
from search.schema import alias_name, drop_all  # noqa: E402
from tests.postgres import running_postgres  # noqa: E402

NEWSMON = str(Path(sys.executable).with_name("newsmon"))
FAST = "AUTOTHROTTLE_ENABLED=0"


def _base_port() -> int:
    def free(port: int) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) != 0

    for port in range(19300, 29000, 11):
        if all(free(port + n) and free(port + 100 + n) for n in range(3)):
            return port
    raise SystemExit("no free ports")


def _count(env: dict[str, str]) -> int:
    settings = Settings(
        es_url=None, es_port=int(env["NEWSMON_ES_PORT"]), es_nodes=int(env["NEWSMON_ES_NODES"])
    )
    with make_client(settings) as es:
        es.indices.refresh(index=alias_name(env["NEWSMON_INDEX_PREFIX"]))
        return int(es.count(index=alias_name(env["NEWSMON_INDEX_PREFIX"]))["count"])


def _reset(env: dict[str, str]) -> None:
    settings = Settings(
        es_url=None, es_port=int(env["NEWSMON_ES_PORT"]), es_nodes=int(env["NEWSMON_ES_NODES"])
    )
    with make_client(settings) as es:
        drop_all(es, env["NEWSMON_INDEX_PREFIX"])


def _transactions(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


def _plain(env: dict[str, str], data: Path, names: list[str]) -> float:
    """Seconds for one `newsmon crawl` of both sites, no shared state."""
    start = time.perf_counter()
    args = [NEWSMON, "crawl"] + [a for name in names for a in ("--site", name)]
    result = subprocess.run(
        args, env={**env, "NEWSMON_DATA_DIR": str(data)}, capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise SystemExit(f"crawl failed: {result.stderr[-2000:]}")
    return time.perf_counter() - start


def _workers(env: dict[str, str], folder: Path, url: str, names: list[str], count: int) -> tuple[float, int]:
    """Seconds until `count` workers have crawled both queued sites; PostgreSQL transactions."""
    prepare(url)
    before = _transactions(url)
    for name in names:
        enqueue(url, name)
    start = time.perf_counter()
    workers = [
        subprocess.Popen(
            [NEWSMON, "serve", "--role", "worker"],
            env={**env, "NEWSMON_STATE_URL": url, "NEWSMON_DATA_DIR": str(folder / f"w{n}")},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for n in range(count)
    ]
    try:
        while True:
            with psycopg.connect(url) as conn:
                row = conn.execute("SELECT count(*) FROM crawl_queue WHERE finished_at IS NULL").fetchone()
            if row and row[0] == 0:
                break
            time.sleep(0.5)
        elapsed = time.perf_counter() - start
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=120)
    return elapsed, _transactions(url) - before


def main() -> None:
    """Run every configuration and print one line each."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=300, help="articles per site (two sites)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsmon-bench-cluster-", dir="/var/tmp") as tmp_name:
        tmp = Path(tmp_name)
        os.chmod(tmp, 0o755)  # the nodes' user must enter it
        for name in ("bench-a", "bench-b"):
            (tmp / "www" / name).mkdir(parents=True)
        with serve_sites(tmp / "www") as sites, running_postgres() as server:
            for site in sites.values():
                generate_site(site.root, args.pages, site.url.split("/")[2])
            registry = tmp / "sites.yaml"
            entries = [
                {"name": s.name, "url": s.url, "sitemaps": [s.url + "sitemap.xml"]} for s in sites.values()
            ]
            registry.write_text(yaml.safe_dump({"sites": entries}), encoding="utf-8")
            names = sorted(sites)
            print(f"two sites of {args.pages} articles each; {os.cpu_count()} cores")
            for nodes in (1, 3):
                port = _base_port()
                env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
                env.update(
                    NEWSMON_DATA_DIR=str(tmp / f"es{nodes}"),
                    NEWSMON_ES_PORT=str(port),
                    NEWSMON_ES_NODES=str(nodes),
                    NEWSMON_ES_HEAP="384m",
                    NEWSMON_INDEX_PREFIX="bench-cluster",
                    NEWSMON_CONFIG=str(registry),
                    NEWSMON_ALLOW_PRIVATE_HOSTS="true",
                )
                started = subprocess.run(
                    [NEWSMON, "es", "start"], env=env, capture_output=True, text=True, check=False
                )
                if started.returncode:
                    raise SystemExit(started.stderr)
                try:
                    seconds = _plain(env, tmp / f"plain{nodes}", names)
                    total = _count(env)
                    print(
                        f"{nodes} node(s), plain crawl, no shared state: {total / seconds:6.1f} articles/s "
                        "(baseline)"
                    )
                    for workers in (1, 2):
                        _reset(env)
                        db = f"bench{nodes}{workers}"
                        with psycopg.connect(server, autocommit=True) as conn:
                            conn.execute(f"CREATE DATABASE {db}")
                        url = server.rsplit("/", 1)[0] + f"/{db}"
                        seconds_w, transactions = _workers(
                            env, tmp / f"run{nodes}{workers}", url, names, workers
                        )
                        indexed = _count(env)
                        print(
                            f"{nodes} node(s), {workers} worker(s): {indexed / seconds_w:6.1f} articles/s "
                            f"({indexed / seconds_w / (total / seconds):.2f} x baseline), "
                            f"{transactions / max(indexed, 1):.2f} PostgreSQL transactions per article"
                        )
                finally:
                    subprocess.run(
                        [NEWSMON, "es", "stop"], env=env, capture_output=True, text=True, check=False
                    )


if __name__ == "__main__":
    main()
