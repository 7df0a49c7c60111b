"""`newsmon es ...` against nodes that are not running, and `es status` on the real one."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support import run_cli


def test_status_of_unreachable_cluster_exits_1(unused_port: int) -> None:
    env = {**os.environ, "NEWSMON_ES_URL": f"http://127.0.0.1:{unused_port}"}
    result = run_cli("es", "status", env=env)
    assert result.returncode == 1
    assert "not running or not reachable" in result.stderr
    assert f"127.0.0.1:{unused_port}" in result.stderr


def test_status_of_stopped_local_node_exits_1(tmp_path: Path, unused_port: int) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NEWSMON_ES_URL"}
    env.update(NEWSMON_DATA_DIR=str(tmp_path), NEWSMON_ES_PORT=str(unused_port))
    result = run_cli("es", "status", env=env)
    assert result.returncode == 1
    assert "the local node" in result.stderr
    stop = run_cli("es", "stop", env=env)
    assert stop.returncode == 0
    assert "not running" in stop.stdout


def test_es_start_refuses_an_external_cluster(unused_port: int) -> None:
    env = {**os.environ, "NEWSMON_ES_URL": f"http://127.0.0.1:{unused_port}"}
    result = run_cli("es", "start", env=env)
    assert result.returncode == 2
    assert "NEWSMON_ES_URL is set" in result.stderr


@pytest.mark.es
def test_status_of_running_node(env: dict[str, str]) -> None:
    result = run_cli("es", "status", "--json", env=env)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["version"].startswith("9.")
    assert info["health"] in ("green", "yellow")
    assert info["articles"] == 0
    assert "transport-netty4" in info["modules"]
