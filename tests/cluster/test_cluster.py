"""A three-node Elasticsearch cluster on loopback (`newsmon es start --nodes 3`, small heaps,
its own data directory and ports): a node SIGKILLed during a crawl costs no article, doubles
none, and search answers throughout; the node restarted, the cluster is green again."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from config.settings import Settings
from crawler.samples.server import SampleSite, write_registry
from search.es import make_client
from search.node import LocalNode
from search.schema import alias_name
from tests.support import NEWSMON, run_cli

pytestmark = [pytest.mark.es, pytest.mark.cluster]

NODES = 3
FIRST = "newsmon-local"


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _base_port() -> int:
    """An HTTP port with the next two free, and the three transport ports a hundred above."""
    for port in range(19200, 29000, 7):
        if all(_free(port + n) and _free(port + 100 + n) for n in range(NODES)):
            return port
    raise RuntimeError("no free ports for a three-node cluster")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of a started three-node cluster; stopped and removed afterwards."""
    if os.environ.get("NEWSMON_ES_URL") and os.environ.get("NEWSMON_REQUIRE_ES") != "1":
        pytest.skip("NEWSMON_ES_URL is set: this test runs its own local cluster")
    data = tmp_path_factory.mktemp("cluster") / "var"
    env = {k: v for k, v in os.environ.items() if k != "NEWSMON_ES_URL"}
    env.update(
        NEWSMON_DATA_DIR=str(data),
        NEWSMON_ES_PORT=str(_base_port()),
        NEWSMON_ES_NODES=str(NODES),
        NEWSMON_ES_HEAP="384m",
        NEWSMON_INDEX_PREFIX=f"t{uuid.uuid4().hex[:10]}",
    )
    settings = Settings(data_dir=data, es_port=int(env["NEWSMON_ES_PORT"]), es_nodes=NODES, es_url=None)
    try:
        started = run_cli("es", "start", env=env, timeout=300)
        assert started.returncode == 0, started.stdout + started.stderr
        yield env
    finally:
        run_cli("es", "stop", env=env, timeout=120)
        shutil.rmtree(LocalNode(settings).base, ignore_errors=True)


def _client(env: dict[str, str]) -> Elasticsearch:
    return make_client(Settings(es_url=None, es_port=int(env["NEWSMON_ES_PORT"]), es_nodes=NODES), timeout=10)


def _primary_to_first_node(es: Elasticsearch, index: str) -> None:
    """Put the shard's primary on the first node (the one NEWSMON_ES_PORT names), so killing
    that node tests both the primary's failover and the client's move to another node."""
    for _ in range(4):
        shards = {s["prirep"]: s["node"] for s in es.cat.shards(index=index, format="json", h="prirep,node")}
        if shards.get("p") == FIRST:
            return
        if shards.get("r") != FIRST:  # the first node holds no copy: the replica moves there
            command = {"move": {"index": index, "shard": 0, "from_node": shards["r"], "to_node": FIRST}}
        else:  # it holds the replica: failing the primary promotes it
            command = {"cancel": {"index": index, "shard": 0, "node": shards["p"], "allow_primary": True}}
        es.cluster.reroute(commands=[command])
        es.cluster.health(
            index=index, wait_for_status="green", wait_for_no_relocating_shards=True, timeout="60s"
        )
    raise AssertionError(f"the primary of {index} did not reach {FIRST}")


def test_a_node_killed_during_a_crawl_loses_and_doubles_nothing(
    cluster: dict[str, str], sample_sites: dict[str, SampleSite], tmp_path: Path
) -> None:
    env = {**cluster, "NEWSMON_CONFIG": str(write_registry(tmp_path / "sites.yaml", sample_sites))}
    names = sorted(sample_sites)
    es = _client(env)
    alias = alias_name(env["NEWSMON_INDEX_PREFIX"])
    first = run_cli("crawl", "--site", names[0], env=env)
    assert first.returncode == 0, first.stderr
    health = es.cluster.health(index=alias, wait_for_status="green", timeout="60s")
    assert health["number_of_nodes"] == NODES
    assert health["active_shards"] == 2  # a primary and its replica: auto-expanded on a cluster

    # The first node, holding the primary, dies as the next crawl starts.
    _primary_to_first_node(es, next(iter(es.indices.get_alias(name=alias))))
    node = LocalNode(
        Settings(data_dir=Path(env["NEWSMON_DATA_DIR"]), es_port=int(env["NEWSMON_ES_PORT"]), es_url=None)
    )
    crawl = subprocess.Popen(
        [NEWSMON, "crawl", "--site", names[1]],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.kill(int(node.pidfile.read_text()), signal.SIGKILL)
    answered = run_cli("search", "công đoàn", "--json", env=env)  # while a node is gone
    assert answered.returncode == 0, answered.stderr
    assert json.loads(answered.stdout)["total"] >= 1
    _, said = crawl.communicate(timeout=300)
    assert crawl.returncode == 0, said
    third = run_cli("crawl", "--site", names[2], env=env)
    assert third.returncode == 0, third.stderr

    es.indices.refresh(index=alias)
    assert es.cluster.health(timeout="5s")["status"] == "yellow"  # the replicas lost with the node
    counted = es.search(index=alias, size=0, aggs={"urls": {"cardinality": {"field": "url"}}})
    assert counted["hits"]["total"]["value"] == counted["aggregations"]["urls"]["value"] == 9

    restarted = run_cli("es", "start", env=env, timeout=300)
    assert restarted.returncode == 0, restarted.stderr
    deadline = time.monotonic() + 120
    while es.cluster.health(timeout="5s")["status"] != "green" and time.monotonic() < deadline:
        time.sleep(1)
    assert es.cluster.health(timeout="5s")["status"] == "green"
    assert es.count(index=alias)["count"] == 9
    es.close()
