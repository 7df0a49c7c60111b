"""The article index as code: versioned indices behind the alias `{prefix}-articles`.

Every reader and writer names the alias. Writes go to its write index; `rollover` starts a
new one when that index has grown past NEWSMON_ES_ROLLOVER_SIZE per primary shard or
NEWSMON_ES_ROLLOVER_DOCS articles (`{prefix}-articles-v1`, then `-v1-000002`, ...), so an
archive of any size keeps shards in the tens of GB. Reads by id look through every index
behind the alias (`get_docs`), and a changed article is rewritten where it already lives
(`pipelines.dedup.Decision.homes`): one URL is one document whatever index holds it.

The mapping uses only what every Elasticsearch build has (the `standard` analyzer;
no analysis-common, no ICU): Vietnamese normalization happens in Python
(`search.textnorm`), and each text is indexed three times: as published (not
searchable), tone-normalized (`*_norm`, exact diacritics) and folded (`*_fold`, no
diacritics). `_id` is the hash of the canonical URL, so re-crawling one article
always lands on the same document.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from elastic_transport import ObjectApiResponse
from elasticsearch import ApiError, BadRequestError, Elasticsearch, NotFoundError, TransportError, helpers

from search import textnorm

if TYPE_CHECKING:
    from config.settings import Settings

log = logging.getLogger(__name__)

VERSION = 1
NORMALIZED_FIELDS = ("title_norm", "title_fold", "text_norm", "text_fold")

# Two-syllable shingles (`index_phrases`) were measured and left out (bench/archive.py): they
# made the query mix's p95 at a million articles 132 ms rather than 290 ms, but halved ingest
# (500-640 against 1,083 articles/s over the first 100,000) and doubled the bytes on disk per
# article (21-30 KB against 9-15 KB).
_MATCH_TEXT: dict[str, Any] = {"type": "text", "analyzer": "standard"}

MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    # The matching forms are derived from title/text; keeping them out of _source halves storage.
    "_source": {"excludes": list(NORMALIZED_FIELDS)},
    "properties": {
        "url": {"type": "keyword"},
        "canonical_url": {"type": "keyword"},
        "source_url": {"type": "keyword"},
        "source_name": {"type": "keyword"},
        "site": {"type": "keyword"},
        "domain": {"type": "keyword"},
        "title": {"type": "text", "index": False},
        "text": {"type": "text", "index": False},
        "title_norm": _MATCH_TEXT,
        "title_fold": _MATCH_TEXT,
        "text_norm": _MATCH_TEXT,
        "text_fold": _MATCH_TEXT,
        "author": {"type": "keyword"},
        "tags": {"type": "keyword"},
        "language": {"type": "keyword"},
        "published": {"type": "date"},
        "modified": {"type": "date"},
        "fetched_at": {"type": "date"},
        "indexed_at": {"type": "date"},
        "content_hash": {"type": "keyword"},
        "cluster": {"type": "keyword"},
        "duplicate_of": {"type": "keyword"},
        # Near-duplicate detection (pipelines/dedup.py): the MinHash signature, kept for
        # comparing candidates, and its LSH bands, searched to find them.
        "minhash": {"type": "long", "index": False, "doc_values": False},
        "lsh_bands": {"type": "keyword"},
        # History a backfill fetched (`newsmon backfill`): alerts leave it out.
        "backfill": {"type": "boolean"},
    },
}

SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    # 0 replicas on a single node, 1 on a production cluster.
    "auto_expand_replicas": "0-1",
    "refresh_interval": "1s",
}


@dataclass(frozen=True)
class Layout:
    """How the article indices sit on the cluster: shards, replicas, when to roll over."""

    shards: int = 1
    replicas: int | None = None  # None: 0 on one node, 1 from two nodes on
    rollover_size: str = "40gb"
    rollover_docs: int = 50_000_000

    @classmethod
    def of(cls, settings: Settings) -> Layout:
        """The layout NEWSMON_ES_SHARDS, _REPLICAS and _ROLLOVER_* ask for."""
        return cls(
            settings.es_shards, settings.es_replicas, settings.es_rollover_size, settings.es_rollover_docs
        )

    def index_settings(self) -> dict[str, Any]:
        """The settings a new article index is created with."""
        out = {**SETTINGS, "number_of_shards": self.shards}
        if self.replicas is not None:
            del out["auto_expand_replicas"]
            out["number_of_replicas"] = self.replicas
        return out


# While a backfill or a bulk load writes history: refreshed twice a minute rather than every
# second, so fewer, larger segments are written and merged (the crawl's own refresh at its end
# and the in-process memory of recent stories cover what is not refreshed yet).
BULK_REFRESH_INTERVAL = "30s"


@contextmanager
def bulk_load(es: Elasticsearch, prefix: str) -> Iterator[None]:
    """Relax the article index's refresh for a long write and restore it after, refreshing once.
    An Elasticsearch that cannot be reached is left as it is: the write spools as ever."""
    index = alias_name(prefix)
    try:
        setup(es, prefix)
        es.indices.put_settings(index=index, settings={"refresh_interval": BULK_REFRESH_INTERVAL})
    except (ApiError, TransportError) as exc:
        log.warning("refresh not relaxed for the bulk load (%s)", exc)
    try:
        yield
    finally:
        try:
            es.indices.put_settings(index=index, settings={"refresh_interval": SETTINGS["refresh_interval"]})
            es.indices.refresh(index=index)
        except (ApiError, TransportError) as exc:
            log.warning(
                "refresh interval not restored after the bulk load (%s): it stays at %s "
                "until a later backfill ends",
                exc,
                BULK_REFRESH_INTERVAL,
            )


def alias_name(prefix: str) -> str:
    """The alias every reader and writer uses."""
    return f"{prefix}-articles"


def index_name(prefix: str, version: int = VERSION) -> str:
    """The concrete index of a mapping version."""
    return f"{prefix}-articles-v{version}"


def with_matching_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """Add the normalized and folded copies of title and text (one shared function)."""
    out = dict(doc)
    for field in ("title", "text"):
        value = doc.get(field) or ""
        if doc.get(f"{field}_norm") is None:  # the crawl computes them in its extraction workers
            out[f"{field}_norm"] = textnorm.normalize(value)
        if doc.get(f"{field}_fold") is None:
            out[f"{field}_fold"] = textnorm.fold(value)
    return out


def backing(es: Elasticsearch, alias: str) -> dict[str, bool]:
    """The indices behind `alias`, oldest first, each with whether it is the write index
    (empty when the alias does not exist yet)."""
    try:
        found = es.indices.get_alias(name=alias)
    except NotFoundError:
        return {}
    return {
        name: bool(found[name]["aliases"][alias].get("is_write_index"))
        for name in sorted(found, key=_generation)
    }


def _generation(name: str) -> tuple[int, int, str]:
    """Sort key of an article index: mapping version, then rollover generation."""
    match = re.search(r"-v(\d+)(?:-(\d+))?$", name)
    if not match:
        return (0, 0, name)
    return (int(match.group(1)), int(match.group(2) or 1), name)


def write_index(es: Elasticsearch, prefix: str) -> str | None:
    """The index new articles go to (None before the first article)."""
    indices = backing(es, alias_name(prefix))
    flagged = [name for name, writes in indices.items() if writes]
    return flagged[0] if flagged else (next(iter(indices)) if len(indices) == 1 else None)


def setup(es: Elasticsearch, prefix: str, layout: Layout | None = None) -> str:
    """Make sure the current mapping version is behind the alias, one of its indices the write
    index; idempotent. Returns the write index."""
    layout = layout or Layout()
    alias, target = alias_name(prefix), index_name(prefix)
    indices = backing(es, alias)
    current = [name for name in indices if _generation(name)[0] == VERSION and name.startswith(target)]
    if indices and len(current) == len(indices):
        es.indices.put_mapping(index=alias, **MAPPING)
        writer = [name for name, writes in indices.items() if writes]
        if writer:
            return writer[0]
        # An archive from before rollover: its one index becomes the write index.
        newest = current[-1]
        es.indices.update_aliases(
            actions=[{"add": {"index": newest, "alias": alias, "is_write_index": True}}]
        )
        return newest
    if not es.indices.exists(index=target):
        try:
            es.indices.create(index=target, settings=layout.index_settings(), mappings=MAPPING)
        except BadRequestError as exc:  # another process created it first
            if exc.error != "resource_already_exists_exception":
                raise
    if not indices:
        es.indices.update_aliases(
            actions=[{"add": {"index": target, "alias": alias, "is_write_index": True}}]
        )
    else:
        migrate(es, list(indices), target, alias)
    es.cluster.health(index=target, wait_for_status="yellow", timeout="30s")
    return target


def rollover(es: Elasticsearch, prefix: str, layout: Layout, *, force: bool = False) -> dict[str, Any]:
    """Start a new write index when the current one has reached the layout's size or article
    count (or at once with `force`). Returns Elasticsearch's answer: `rolled_over`,
    `old_index`, `new_index`, `conditions`."""
    alias = alias_name(prefix)
    old = setup(es, prefix, layout)
    base = index_name(prefix)
    generation = _generation(old)[1] if old.startswith(base) else 1
    conditions = {"max_primary_shard_size": layout.rollover_size, "max_docs": layout.rollover_docs}
    settings = layout.index_settings()
    # A bulk load relaxed the refresh of the index it writes; the next one is written by it too
    # (`bulk_load` restores every index behind the alias at its end).
    current = es.indices.get_settings(index=old, name="index.refresh_interval")
    relaxed = current.get(old, {}).get("settings", {}).get("index", {}).get("refresh_interval")
    if relaxed:
        settings["refresh_interval"] = relaxed
    answer = es.indices.rollover(
        alias=alias,
        new_index=f"{base}-{generation + 1:06d}",
        conditions=None if force else conditions,
        settings=settings,
        mappings=MAPPING,
    )
    return dict(answer.body)


def get_docs(es: Elasticsearch, alias: str, ids: list[str], **params: Any) -> list[dict[str, Any]]:
    """One realtime mget entry per id (each found one names its `_index`), across every index
    behind the alias; `params` are mget's (`source`, `source_includes`)."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    # Just after a rollover the new index is behind the alias a moment before its shard
    # answers reads by id: wait for it (bulk writes through the alias wait the same way).
    for pause in _STARTING_PAUSES:
        try:
            return _get_docs(es, alias, ids, params)
        except ApiError as exc:
            if not isinstance(exc.body, dict) or exc.body.get("error", {}).get("type") != _STARTING:
                raise
            time.sleep(pause)
    return _get_docs(es, alias, ids, params)


_STARTING = "no_shard_available_action_exception"
_STARTING_PAUSES = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)  # 6.35 s in all, then the error stands


def _get_docs(es: Elasticsearch, alias: str, ids: list[str], params: dict[str, Any]) -> list[dict[str, Any]]:
    # One index behind the alias (until the first rollover): one mget, no lookup of the alias.
    answer = es.mget(index=alias, ids=ids, **params)
    if not any(_several_indices(doc) for doc in answer["docs"]):
        return _answered(answer)
    indices = list(backing(es, alias))
    # An alias over several indices cannot be read by id: ask each index (newest first, so a
    # document written twice by a race is read where it was written last).
    found: dict[str, dict[str, Any]] = {}
    asked = [{"_index": name, "_id": doc_id} for doc_id in ids for name in reversed(indices)]
    for doc in _answered(es.mget(docs=asked, **params)):
        held = found.get(doc["_id"])
        if held is None or (doc.get("found") and not held.get("found")):
            found[doc["_id"]] = doc
    return [found[doc_id] for doc_id in ids]


def _several_indices(doc: dict[str, Any]) -> bool:
    """Whether an mget entry failed because its alias names more than one index."""
    error = doc.get("error")
    return isinstance(error, dict) and "more than one index" in str(error.get("reason", ""))


def _answered(answer: ObjectApiResponse[Any]) -> list[dict[str, Any]]:
    """An mget's documents; an entry that failed (index closed or missing) raises the error a
    single read would have, so callers tell "not found" from "not readable now"."""
    docs: list[dict[str, Any]] = list(answer["docs"])
    for doc in docs:
        if "error" in doc:
            error = doc["error"] if isinstance(doc["error"], dict) else {"reason": str(doc["error"])}
            missing = error.get("type") == "index_not_found_exception"
            raise (NotFoundError if missing else ApiError)(
                str(error.get("reason", error)),
                meta=dataclasses.replace(answer.meta, status=404 if missing else 500),
                body={"error": error},
            )
    return docs


def _copy_actions(es: Elasticsearch, source: str, target: str) -> Iterator[dict[str, Any]]:
    for hit in helpers.scan(es, index=source, query={"query": {"match_all": {}}}):
        body = {k: v for k, v in hit["_source"].items() if k in MAPPING["properties"]}
        yield {
            "_op_type": "index",
            "_index": target,
            "_id": hit["_id"],
            "_source": with_matching_fields(body),
        }


def migrate(es: Elasticsearch, sources: list[str], target: str, alias: str) -> None:
    """Copy every document of `sources` (the indices behind the alias) to `target` and move
    the alias to it atomically, as its write index.

    Copies in Python (scan + bulk) rather than `_reindex`, which the stripped
    distribution lacks, and so the derived fields are recomputed by current code.
    """
    log.info("migrating %s -> %s", ", ".join(sources), target)
    for source in sources:
        helpers.bulk(es, _copy_actions(es, source, target), chunk_size=500)
    es.indices.refresh(index=target)
    es.indices.update_aliases(
        actions=[
            *({"remove": {"index": source, "alias": alias}} for source in sources),
            {"add": {"index": target, "alias": alias, "is_write_index": True}},
        ]
    )


def count(es: Elasticsearch, prefix: str) -> int:
    """Number of documents behind the alias (0 when it does not exist yet)."""
    try:
        return int(es.count(index=alias_name(prefix))["count"])
    except NotFoundError:
        return 0


def drop_all(es: Elasticsearch, prefix: str) -> None:
    """Delete every article index of `prefix` (benchmarks and tests clean up with it), and
    none of another prefix that merely starts the same (`newsmon-bench` is not
    `newsmon-bench-archive`: a wider pattern once deleted a million-article bench index)."""
    names = list(es.indices.get(index=f"{alias_name(prefix)}-v*", expand_wildcards="all"))
    if names:
        es.indices.delete(index=",".join(names))
