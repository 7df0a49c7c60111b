"""Stage 3: fingerprint each article, then (per indexing batch) decide what it is:
new, an update of a stored article, unchanged, or a copy of a story already stored.

For now a "copy" is an exact copy of the folded body; the cluster id is the
fingerprint of the first-seen copy, so copies found by concurrent crawls agree.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch

from search import textnorm


def content_hash(text: str, folded: str | None = None) -> str:
    """Fingerprint of the folded body, blind to accent encoding, case and spacing
    (`folded`: the body already folded, when the extraction stage provided it)."""
    folded = " ".join((folded if folded is not None else textnorm.fold(text)).split())
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()[:32]


class DedupPipeline:
    """Scrapy stage: adds `content_hash`; the index stage resolves it against the index."""

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        item["content_hash"] = content_hash(item["text"], item.get("text_fold"))
        return item


@dataclass
class Decision:
    """What one indexing batch will write, and why."""

    new: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    duplicates: int = 0


_STORED_FIELDS = ["content_hash", "cluster", "duplicate_of", "indexed_at", "published"]


def resolve(es: Elasticsearch, index: str, docs: list[dict[str, Any]], now: str,
            recent: dict[str, dict[str, str]] | None = None) -> Decision:
    """Classify a batch with two round trips (an mget and one search), whatever its size.

    `recent` holds the first-seen copies this process wrote itself (content hash -> id and
    cluster), which a search may not see yet: writes are not refreshed one by one. It is
    updated with this batch's new stories."""
    by_id: dict[str, dict[str, Any]] = {}
    for doc in docs:
        by_id[doc["id"]] = doc  # the last fetch of one URL in a batch wins
    stored = {
        d["_id"]: d["_source"]
        for d in es.mget(index=index, ids=list(by_id), source=_STORED_FIELDS)["docs"]
        if d.get("found")
    }
    decision = Decision()
    fresh: list[dict[str, Any]] = []
    for doc_id, doc in by_id.items():
        old = stored.get(doc_id)
        if old is None:
            fresh.append(doc)
        elif old.get("content_hash") == doc["content_hash"]:
            decision.unchanged += 1
        else:
            doc.update(cluster=old["cluster"], duplicate_of=old.get("duplicate_of"),
                       indexed_at=old["indexed_at"], modified=doc.get("modified") or now)
            doc["published"] = doc.get("published") or old.get("published")
            decision.updated.append(doc)
    hashes = {d["content_hash"] for d in fresh}
    known = recent if recent is not None else {}
    firsts = {h: known[h] for h in hashes if h in known} | _first_seen(es, index, hashes)
    for doc in fresh:
        first = firsts.get(doc["content_hash"])
        doc["indexed_at"] = now
        doc["cluster"] = first["cluster"] if first else doc["content_hash"]
        doc["duplicate_of"] = first["id"] if first else None
        if first:
            decision.duplicates += 1
        else:
            firsts[doc["content_hash"]] = {"id": doc["id"], "cluster": doc["cluster"]}
            known[doc["content_hash"]] = firsts[doc["content_hash"]]
        decision.new.append(doc)
    return decision


def _first_seen(es: Elasticsearch, index: str, hashes: set[str]) -> dict[str, dict[str, str]]:
    """For each fingerprint already stored: the first-seen article's id and its cluster."""
    if not hashes:
        return {}
    result = es.search(
        index=index, size=len(hashes), source=["cluster"],
        query={"bool": {"filter": [{"terms": {"content_hash": sorted(hashes)}},
                                   {"bool": {"must_not": {"exists": {"field": "duplicate_of"}}}}]}},
        collapse={"field": "content_hash"}, sort=[{"indexed_at": "asc"}],
        fields=["content_hash"],
    )
    return {
        hit["fields"]["content_hash"][0]: {"id": hit["_id"], "cluster": hit["_source"]["cluster"]}
        for hit in result["hits"]["hits"]
    }
