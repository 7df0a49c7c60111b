"""The article index as code: a versioned index behind the alias `{prefix}-articles`.

The mapping uses only what every Elasticsearch build has (the `standard` analyzer;
no analysis-common, no ICU): Vietnamese normalization happens in Python
(`search.textnorm`), and each text is indexed three times: as published (not
searchable), tone-normalized (`*_norm`, exact diacritics) and folded (`*_fold`, no
diacritics). `_id` is the hash of the canonical URL, so re-crawling one article
always lands on the same document.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from elasticsearch import ApiError, BadRequestError, Elasticsearch, NotFoundError, TransportError, helpers

from search import textnorm

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


def _current_target(es: Elasticsearch, alias: str) -> str | None:
    try:
        found = es.indices.get_alias(name=alias)
    except NotFoundError:
        return None
    return next(iter(found))


def setup(es: Elasticsearch, prefix: str) -> str:
    """Make sure the current index version exists behind the alias; idempotent. Returns its name."""
    alias, target = alias_name(prefix), index_name(prefix)
    current = _current_target(es, alias)
    if current == target:
        es.indices.put_mapping(index=target, **MAPPING)
        return target
    if not es.indices.exists(index=target):
        try:
            es.indices.create(index=target, settings=SETTINGS, mappings=MAPPING)
        except BadRequestError as exc:  # another process created it first
            if exc.error != "resource_already_exists_exception":
                raise
    if current is None:
        es.indices.update_aliases(actions=[{"add": {"index": target, "alias": alias}}])
    else:
        migrate(es, current, target, alias)
    es.cluster.health(index=target, wait_for_status="yellow", timeout="30s")
    return target


def _copy_actions(es: Elasticsearch, source: str, target: str) -> Iterator[dict[str, Any]]:
    for hit in helpers.scan(es, index=source, query={"query": {"match_all": {}}}):
        body = {k: v for k, v in hit["_source"].items() if k in MAPPING["properties"]}
        yield {
            "_op_type": "index",
            "_index": target,
            "_id": hit["_id"],
            "_source": with_matching_fields(body),
        }


def migrate(es: Elasticsearch, source: str, target: str, alias: str) -> None:
    """Copy every document from `source` to `target` and flip the alias atomically.

    Copies in Python (scan + bulk) rather than `_reindex`, which the stripped
    distribution lacks, and so the derived fields are recomputed by current code.
    """
    log.info("migrating %s -> %s", source, target)
    helpers.bulk(es, _copy_actions(es, source, target), chunk_size=500)
    es.indices.refresh(index=target)
    es.indices.update_aliases(
        actions=[
            {"remove": {"index": source, "alias": alias}},
            {"add": {"index": target, "alias": alias}},
        ]
    )


def count(es: Elasticsearch, prefix: str) -> int:
    """Number of documents behind the alias (0 when it does not exist yet)."""
    try:
        return int(es.count(index=alias_name(prefix))["count"])
    except NotFoundError:
        return 0


def drop_all(es: Elasticsearch, prefix: str) -> None:
    """Delete every index under `prefix` (benchmarks and tests clean up with it)."""
    names = list(es.indices.get(index=f"{prefix}-*", expand_wildcards="all"))
    if names:
        es.indices.delete(index=",".join(names))
