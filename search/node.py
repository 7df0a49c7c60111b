"""The local managed Elasticsearch node: provision from the cached zip, start, stop, status.

Used only when NEWSMON_ES_URL is unset. The distribution zip comes from the Maven
repository (`org.elasticsearch.distribution.integ-test-zip:elasticsearch`), is cached in
`$NEWSMON_CACHE_DIR` (default ~/.cache/newsmon) and unpacked under `$NEWSMON_DATA_DIR`.
Elasticsearch refuses to run as root, so as root the node runs as the system user `newsmon-es`;
when that user cannot reach the data directory (a clone in /root or in a 0700 `mktemp -d`), the
node's files live in `/var/lib/newsmon-es/<cluster name>` instead, owned by that user: no
permission of the user's own folders is changed.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from config.settings import Settings
from search.es import make_client

ES_USER = "newsmon-es"
# Where the node lives when its user cannot reach the data directory (see the module's note).
OUTSIDE = Path("/var/lib/newsmon-es")
MIN_JAVA = 21
MAVEN_ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"


class NodeError(Exception):
    """The local node could not be provisioned, started or stopped; the message says why."""


@dataclass(frozen=True)
class LocalNode:
    """Paths of one data directory's node (`number` 0), or of one more node of its local
    cluster (`newsmon es start --nodes N`): the distribution is shared, each node has its own
    configuration, data, logs and ports."""

    settings: Settings
    number: int = 0

    @property
    def base(self) -> Path:
        """The folder holding the unpacked distribution and the node's data: under the data
        directory, unless the node runs as `newsmon-es` and that user cannot reach it."""
        inside = self.settings.es_home
        if os.geteuid() != 0 or reachable_by_others(inside.parent):
            return inside
        return OUTSIDE / self.cluster_name

    @property
    def home(self) -> Path:
        """The unpacked distribution."""
        return self.base / f"elasticsearch-{self.settings.es_version}"

    @property
    def root(self) -> Path:
        """This node's own folders (data, logs, run, tmp): the base itself for the first node,
        so a single-node data directory keeps its layout."""
        return self.base if self.number == 0 else self.base / f"node-{self.number}"

    @property
    def conf_dir(self) -> Path:
        """This node's configuration folder (ES_PATH_CONF)."""
        return self.home / "config" if self.number == 0 else self.root / "config"

    @property
    def name(self) -> str:
        """The node's name in its cluster."""
        return "newsmon-local" if self.number == 0 else f"newsmon-local-{self.number}"

    @property
    def http_port(self) -> int:
        """Its HTTP port on 127.0.0.1."""
        return self.settings.es_port + self.number

    @property
    def transport_port(self) -> int:
        """Its transport (node-to-node) port: a hundred above the HTTP port."""
        return self.settings.es_port + 100 + self.number

    @property
    def pidfile(self) -> Path:
        """The running node's pid file."""
        return self.root / "run" / "elasticsearch.pid"

    @property
    def logs(self) -> Path:
        """The node's log folder."""
        return self.root / "logs"

    @property
    def snapshots(self) -> Path:
        """The `fs` snapshot repository every local node lists in `path.repo`."""
        return self.base / "snapshots"

    @property
    def cluster_name(self) -> str:
        """A cluster name per data directory, so two data directories never join."""
        digest = hashlib.sha256(str(self.settings.resolved_data_dir).encode()).hexdigest()[:10]
        return f"newsmon-{digest}"

    @property
    def zip_path(self) -> Path:
        """The cached distribution zip."""
        return self.settings.cache_dir / f"elasticsearch-{self.settings.es_version}.zip"


def reachable_by_others(path: Path) -> bool:
    """Whether a user who owns none of `path` and its parents may enter it: every existing
    folder on the way allows others to traverse it (what a system user is, to root's folders)."""
    for folder in [*reversed(path.parents), path]:
        try:
            mode = folder.stat().st_mode
        except FileNotFoundError:
            break  # created later by root with the default mode, which others may traverse
        if not mode & 0o001:
            return False
    return True


def java_major(java_home: Path) -> int | None:
    """Feature version of the JDK at `java_home` (from its `release` file), or None."""
    try:
        text = (java_home / "release").read_text()
    except OSError:
        return None
    match = re.search(r'JAVA_VERSION="(\d+)', text)
    return int(match.group(1)) if match else None


def find_java_home() -> Path:
    """ES_JAVA_HOME if set, else the newest JDK >= 21 under /usr/lib/jvm."""
    if os.environ.get("ES_JAVA_HOME"):
        return Path(os.environ["ES_JAVA_HOME"])
    candidates = []
    for home in Path("/usr/lib/jvm").glob("*"):
        major = java_major(home)
        if major and major >= MIN_JAVA and (home / "bin" / "java").exists() and not home.is_symlink():
            candidates.append((major, home))
    if not candidates:
        raise NodeError(
            f"Elasticsearch cần JDK {MIN_JAVA} trở lên; không thấy bản nào trong /usr/lib/jvm: "
            f"hãy cài một bản (Debian: openjdk-{MIN_JAVA}-jre-headless hoặc mới hơn) hoặc đặt ES_JAVA_HOME"
        )
    return max(candidates)[1]


def fetch_zip(node: LocalNode) -> Path:
    """Put the distribution zip in the cache (Maven `dependency:copy`) unless it is there."""
    if node.zip_path.exists():
        return node.zip_path
    if not shutil.which("mvn"):
        raise NodeError("cần Maven (`mvn`) một lần để tải Elasticsearch: hãy cài gói maven")
    node.zip_path.parent.mkdir(parents=True, exist_ok=True)
    artifact = MAVEN_ARTIFACT.format(version=node.settings.es_version)
    cmd = [
        "mvn",
        "-B",
        "-q",
        "dependency:copy",
        f"-Dartifact={artifact}",
        f"-DoutputDirectory={node.zip_path.parent}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=node.zip_path.parent, check=False)
    if result.returncode != 0 or not node.zip_path.exists():
        tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
        raise NodeError(f"không tải được {artifact} bằng Maven:\n" + "\n".join(tail))
    return node.zip_path


def _unzip(archive: Path, target: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, target))
            mode = info.external_attr >> 16
            if mode and not info.is_dir():
                path.chmod(mode & 0o777)


def _config_text(node: LocalNode, count: int) -> str:
    data = node.root / "data"
    lines = [
        f"cluster.name: {node.cluster_name}",
        f"node.name: {node.name}",
        "network.host: 127.0.0.1",
        f"http.port: {node.http_port}",
    ]
    if count == 1:
        lines += ["transport.port: 9300-9399", "discovery.type: single-node"]
    else:
        peers = [LocalNode(node.settings, n) for n in range(count)]
        lines += [
            f"transport.port: {node.transport_port}",
            "discovery.seed_hosts: [" + ", ".join(f'"127.0.0.1:{p.transport_port}"' for p in peers) + "]",
        ]
        # Only a cluster formed for the first time is bootstrapped: naming the masters again
        # once the first node holds a cluster could let the new nodes form a second one.
        first_data = LocalNode(node.settings).root / "data"
        if not any(first_data.glob("*")):
            lines.append("cluster.initial_master_nodes: [" + ", ".join(f'"{p.name}"' for p in peers) + "]")
    lines += [
        "# Security is off only because the node listens on loopback alone.",
        "xpack.security.enabled: false",
        f"path.data: {data}",
        f"path.logs: {node.logs}",
        f"path.repo: [{node.snapshots}]",
        "# A developer disk that fills up should not turn the indices read-only mid-test.",
        "cluster.routing.allocation.disk.threshold_enabled: false",
        "",
    ]
    return "\n".join(lines)


def _es_uid() -> int | None:
    """The uid to run Elasticsearch as: None when not root, else the system user (created)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(ES_USER).pw_uid
    except KeyError:
        pass
    cmd = [
        "useradd",
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        ES_USER,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise NodeError(f"không tạo được người dùng hệ thống {ES_USER}: {result.stderr.strip()}")
    return pwd.getpwnam(ES_USER).pw_uid


def _chown_tree(root: Path, uid: int) -> None:
    gid = pwd.getpwuid(uid).pw_gid
    for dirpath, dirnames, filenames in os.walk(root):
        os.chown(dirpath, uid, gid)
        for name in filenames + dirnames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


def provision(node: LocalNode, count: int = 1) -> None:
    """Unpack and configure the node under the data directory (idempotent), as one of
    `count` local nodes."""
    if not (node.home / "bin" / "elasticsearch").exists():
        archive = fetch_zip(node)
        node.base.mkdir(parents=True, exist_ok=True)
        staging = node.base / "unpacking"
        shutil.rmtree(staging, ignore_errors=True)
        _unzip(archive, staging)
        (staging / node.home.name).rename(node.home)
        shutil.rmtree(staging, ignore_errors=True)
    for sub in ("data", "logs", "run", "tmp"):
        (node.root / sub).mkdir(parents=True, exist_ok=True)
    node.snapshots.mkdir(parents=True, exist_ok=True)
    if node.number > 0 and not node.conf_dir.exists():
        shutil.copytree(node.home / "config", node.conf_dir)
    (node.conf_dir / "elasticsearch.yml").write_text(_config_text(node, count))
    heap = node.settings.es_heap
    (node.conf_dir / "jvm.options.d" / "newsmon-heap.options").write_text(f"-Xms{heap}\n-Xmx{heap}\n")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _pid(node: LocalNode) -> int | None:
    try:
        pid = int(node.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def log_tail(node: LocalNode, lines: int = 30) -> str:
    """Last lines of the node's main log (what went wrong at start-up)."""
    log = node.logs / f"{node.cluster_name}.log"
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(không có nhật ký ở {log})"


def members(settings: Settings, count: int | None = None) -> list[LocalNode]:
    """The local cluster's nodes: `count` of them (NEWSMON_ES_NODES when not given)."""
    return [LocalNode(settings, number) for number in range(count or settings.es_nodes)]


def _launch(node: LocalNode, uid: int | None, java_home: Path) -> subprocess.Popen[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ES_JAVA_HOME": str(java_home),
        "ES_TMPDIR": str(node.root / "tmp"),
        "ES_PATH_CONF": str(node.conf_dir),
        "LANG": "C.UTF-8",
    }
    cmd = [str(node.home / "bin" / "elasticsearch"), "-d", "-p", str(node.pidfile)]
    if uid is not None:
        cmd = [
            "setpriv",
            f"--reuid={uid}",
            f"--regid={pwd.getpwuid(uid).pw_gid}",
            "--init-groups",
            "--",
            *cmd,
        ]
    return subprocess.Popen(
        cmd, env=env, cwd=node.home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def start(settings: Settings, count: int | None = None, timeout: float = 120.0) -> str:
    """Start the local node, or the `count` nodes of the local cluster (those not running
    already), and wait until the cluster has them all and is healthy; a one-line report."""
    nodes = members(settings, count)
    stopped = [node for node in nodes if _pid(node) is None]
    for node in stopped:
        if _port_open(node.http_port):
            raise NodeError(
                f"cổng {node.http_port} trên 127.0.0.1 đang bị một tiến trình khác dùng, không phải nút "
                f"của {settings.resolved_data_dir}: hãy dừng nó, đặt NEWSMON_ES_PORT khác, hoặc đặt "
                "NEWSMON_ES_URL để dùng nó"
            )
    if stopped:
        # Every node is configured before any starts: whether the cluster is new is read from
        # the first node's data, which a started node would write to.
        for node in stopped:
            provision(node, len(nodes))
        uid = _es_uid()
        if uid is not None:
            _chown_tree(nodes[0].base, uid)
        java_home = find_java_home()
        # Side by side: a node of a new cluster waits for the others before it reports started.
        launched = [(node, _launch(node, uid, java_home)) for node in stopped]
        for node, process in launched:
            output, _ = process.communicate(timeout=timeout)
            if process.returncode != 0:
                raise NodeError(
                    f"Elasticsearch ({node.name}) không khởi động được (mã thoát {process.returncode}):\n"
                    f"{output.strip()}\n{log_tail(node)}"
                )
    if not _wait_healthy(nodes, timeout):
        raise NodeError(f"Elasticsearch chưa sẵn sàng sau {timeout:.0f} giây.\n{log_tail(nodes[0])}")
    where = ", ".join(f"http://127.0.0.1:{node.http_port}" for node in nodes)
    if not stopped:
        return f"Elasticsearch đã đang chạy ở {where}"
    return f"Elasticsearch {settings.es_version} đã chạy ở {where}"


def _wait_healthy(nodes: list[LocalNode], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    settings = nodes[0].settings.model_copy(update={"es_nodes": len(nodes), "es_url": None})
    with make_client(settings, timeout=5) as es:
        while time.monotonic() < deadline:
            try:
                health = es.cluster.health(timeout="1s")
            except Exception:  # noqa: BLE001 - any failure means "not answering yet"
                health = None
            if health and health.get("status") in ("green", "yellow"):
                if health.get("cluster_name") != nodes[0].cluster_name:
                    raise NodeError(
                        f"{settings.effective_es_url} trả lời là cụm {health.get('cluster_name')!r}, "
                        "không phải nút của thư mục dữ liệu này"
                    )
                if int(health.get("number_of_nodes", 0)) >= len(nodes):
                    return True
            time.sleep(0.5)
    return False


def _every_node(settings: Settings) -> list[LocalNode]:
    """The first node and every further node this data directory has ever run."""
    first = LocalNode(settings)
    found = [first]
    for folder in sorted(first.base.glob("node-*")):
        if folder.name.removeprefix("node-").isdigit():
            found.append(LocalNode(settings, int(folder.name.removeprefix("node-"))))
    return found


def stop(settings: Settings, timeout: float = 60.0) -> str:
    """Stop every local node cleanly (SIGTERM, then SIGKILL after `timeout`)."""
    running = [(node, pid) for node in _every_node(settings) if (pid := _pid(node)) is not None]
    if not running:
        return "Elasticsearch không chạy"
    for _, pid in running:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    forced = []
    for node, pid in running:
        while time.monotonic() < deadline and _pid(node) is not None:
            time.sleep(0.3)
        if _pid(node) is not None:
            os.kill(pid, signal.SIGKILL)
            forced.append(pid)
        node.pidfile.unlink(missing_ok=True)
    pids = ", ".join(str(pid) for _, pid in running)
    if forced:
        return f"Elasticsearch không dừng sau {timeout:.0f} giây nên đã bị buộc dừng (pid {pids})"
    return f"Elasticsearch đã dừng (pid {pids})"
