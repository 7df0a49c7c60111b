"""`newsmon es ...` against nodes that are not running, and `es status` on the real one."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.support import run_cli


def test_status_of_unreachable_cluster_exits_1(unused_port: int) -> None:
    env = {**os.environ, "NEWSMON_ES_URL": f"http://127.0.0.1:{unused_port}"}
    result = run_cli("es", "status", env=env)
    assert result.returncode == 1
    assert "không chạy hoặc không kết nối được" in result.stderr
    assert f"127.0.0.1:{unused_port}" in result.stderr


def test_status_of_stopped_local_node_exits_1(tmp_path: Path, unused_port: int) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NEWSMON_ES_URL"}
    env.update(NEWSMON_DATA_DIR=str(tmp_path), NEWSMON_ES_PORT=str(unused_port))
    result = run_cli("es", "status", env=env)
    assert result.returncode == 1
    assert "nút cục bộ: hãy chạy `newsmon es start`" in result.stderr
    stop = run_cli("es", "stop", env=env)
    assert stop.returncode == 0
    assert "không chạy" in stop.stdout


def test_es_start_refuses_an_external_cluster(unused_port: int) -> None:
    env = {**os.environ, "NEWSMON_ES_URL": f"http://127.0.0.1:{unused_port}"}
    result = run_cli("es", "start", env=env)
    assert result.returncode == 2
    assert "đã đặt NEWSMON_ES_URL" in result.stderr


@pytest.mark.es
def test_status_of_running_node(env: dict[str, str]) -> None:
    result = run_cli("es", "status", "--json", env=env)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["version"].startswith("9.")
    assert info["health"] in ("green", "yellow")
    assert info["articles"] == 0
    assert "transport-netty4" in info["modules"]


@pytest.mark.es
@pytest.mark.skipif(os.geteuid() != 0, reason="the node runs as its own user only when started by root")
def test_a_node_starts_from_a_data_directory_its_user_cannot_enter(tmp_path: Path, unused_port: int) -> None:
    """A clone in /root or in a 0700 `mktemp -d`: the node's files go where its user may go."""
    from config.settings import Settings
    from search.node import OUTSIDE, LocalNode

    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if k != "NEWSMON_ES_URL"}
    env.update(
        NEWSMON_DATA_DIR=str(private / "var"), NEWSMON_ES_PORT=str(unused_port), NEWSMON_ES_HEAP="256m"
    )
    node = LocalNode(Settings(data_dir=private / "var", es_port=unused_port))
    assert node.base.parent == OUTSIDE
    try:
        started = run_cli("es", "start", env=env)
        assert started.returncode == 0, started.stderr
        status = run_cli("es", "status", "--json", env=env)
        assert json.loads(status.stdout)["health"] in ("green", "yellow")
        assert (node.base / "data").is_dir()
        assert oct(private.stat().st_mode & 0o777) == "0o700"  # the user's folder is left as it was
    finally:
        run_cli("es", "stop", env=env)
        shutil.rmtree(node.base, ignore_errors=True)
