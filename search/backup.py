"""Snapshots of the article archive to an `fs` repository, and restoring one.

The repository is a folder every node of the cluster lists in `path.repo` (the local nodes
list their `snapshots` folder; on a cluster of your own, NEWSMON_ES_SNAPSHOT_DIR names the
shared folder). A snapshot holds the article indices and their alias; the state under the
data directory (seen store, journal, alert rules and ledger) is backed up as files
(docs/deploy.md).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from config.settings import Settings
from search.schema import alias_name, backing


class BackupError(Exception):
    """A snapshot could not be taken or restored; the message says why, in Vietnamese."""


def repository_name(location: str) -> str:
    """The snapshot repository newsmon registers for a folder: one name per folder, whatever
    the index prefix (Elasticsearch keeps one generation counter per repository, so two
    repositories over one folder would each write over what the other recorded)."""
    return "newsmon-snapshots-" + hashlib.sha256(location.encode()).hexdigest()[:10]


def repository_dir(settings: Settings) -> Path:
    """NEWSMON_ES_SNAPSHOT_DIR, or the local nodes' snapshot folder."""
    if settings.es_snapshot_dir is not None:
        return settings.es_snapshot_dir
    if not settings.managed_es:
        raise BackupError(
            "đã đặt NEWSMON_ES_URL: hãy đặt NEWSMON_ES_SNAPSHOT_DIR là thư mục chung mà mọi nút của cụm "
            "khai báo trong path.repo"
        )
    from search.node import LocalNode

    return LocalNode(settings).snapshots


def register(es: Elasticsearch, settings: Settings) -> str:
    """Register (or re-register) the `fs` repository; its name."""
    location = str(repository_dir(settings))
    name = repository_name(location)
    try:
        es.snapshot.create_repository(
            name=name, repository={"type": "fs", "settings": {"location": location}}
        )
    except Exception as exc:  # noqa: BLE001 - the cluster says why in its message; shown to the user
        raise BackupError(
            f"Elasticsearch không nhận kho bản sao lưu ở {location} ({exc}): mọi nút phải khai báo thư mục "
            "này trong path.repo và ghi được vào đó"
        ) from None
    return name


def snapshot(es: Elasticsearch, settings: Settings, name: str | None = None) -> dict[str, Any]:
    """Take a snapshot of the article indices (with their alias) and wait for it; its summary."""
    repo = register(es, settings)
    indices = list(backing(es, alias_name(settings.index_prefix)))
    if not indices:
        raise BackupError("kho bài chưa có chỉ mục nào để sao lưu")
    name = name or datetime.now(UTC).strftime(f"{settings.index_prefix}-%Y%m%d-%H%M%S")
    answer = es.snapshot.create(
        repository=repo,
        snapshot=name,
        indices=",".join(indices),
        include_global_state=False,
        wait_for_completion=True,
    )
    info = answer["snapshot"]
    if info.get("state") != "SUCCESS":
        raise BackupError(
            f"bản sao lưu {name} kết thúc ở trạng thái {info.get('state')}: {info.get('failures')}"
        )
    return {"snapshot": name, "indices": sorted(info["indices"]), "shards": info["shards"]}


def snapshots(es: Elasticsearch, settings: Settings) -> list[dict[str, Any]]:
    """The repository's snapshots, oldest first (every prefix's: see `restore`)."""
    repo = register(es, settings)
    answer = es.snapshot.get(repository=repo, snapshot="_all")
    return [
        {
            "snapshot": s["snapshot"],
            "state": s["state"],
            "indices": sorted(s["indices"]),
            "start": s.get("start_time"),
        }
        for s in answer["snapshots"]
    ]


def restore(es: Elasticsearch, settings: Settings, name: str) -> dict[str, Any]:
    """Replace the article indices by those of snapshot `name` (`latest`: the newest) and wait
    until they answer; what was restored."""
    repo = register(es, settings)
    # Only this archive's snapshots: a repository may hold another prefix's too.
    own = f"{alias_name(settings.index_prefix)}-v"
    taken = [
        s for s in snapshots(es, settings) if s["indices"] and all(i.startswith(own) for i in s["indices"])
    ]
    if name == "latest":
        if not taken:
            raise BackupError("kho sao lưu chưa có bản nào")
        name = taken[-1]["snapshot"]
    chosen = next((s for s in taken if s["snapshot"] == name), None)
    if chosen is None:
        known = ", ".join(s["snapshot"] for s in taken) or "chưa có bản nào"
        raise BackupError(f"không có bản sao lưu {name!r} (có: {known})")
    # The indices the snapshot holds must not exist open: the archive now is replaced, whole.
    current = list(backing(es, alias_name(settings.index_prefix)))
    doomed = sorted({*current, *chosen["indices"]})
    es.indices.delete(index=",".join(doomed), ignore_unavailable=True)
    es.snapshot.restore(
        repository=repo,
        snapshot=name,
        indices=",".join(chosen["indices"]),
        include_aliases=True,
        include_global_state=False,
        wait_for_completion=True,
    )
    es.cluster.health(index=",".join(chosen["indices"]), wait_for_status="yellow", timeout="60s")
    return {"snapshot": name, "indices": chosen["indices"], "replaced": current}
