"""Search and export over the article alias: one hit per story cluster, copies listed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError, helpers

from search import textnorm
from search.index import alias_name
from search.query import compile_query, matching_forms

SNIPPET_CHARS = 240
_DISPLAY = ["url", "site", "title", "published", "text"]


def _filters(sites: list[str], since: date | None, until: date | None) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    if sites:
        filters.append({"terms": {"site": sites}})
    if since or until:
        rng: dict[str, str] = {"time_zone": "+07:00"}
        if since:
            rng["gte"] = since.isoformat()
        if until:
            rng["lte"] = until.isoformat() + "||/d"
        filters.append({"range": {"published": rng}})
    return filters


def snippet(text: str, forms: list[tuple[str, bool]], width: int = SNIPPET_CHARS) -> str:
    """A window of the body around the first matched term (offsets agree across forms)."""
    norm, folded = textnorm.normalize(text), textnorm.fold(text)
    starts = []
    for form, exact in forms:
        hay = norm if exact else folded
        match = re.search(r"(?<!\w)" + re.escape(form) + r"(?!\w)", hay)
        if match:
            starts.append(match.start())
    start = max(0, min(starts) - width // 4) if starts else 0
    piece = text[start:start + width]
    if start > 0:
        piece = "…" + piece[piece.find(" ") + 1:] if " " in piece else "…" + piece
    if start + width < len(text):
        piece = piece[: piece.rfind(" ")] + "…" if " " in piece else piece + "…"
    return " ".join(piece.split())


def search(es: Elasticsearch, prefix: str, query: str, *, sites: list[str] | None = None,
           since: date | None = None, until: date | None = None, sort: str = "relevance",
           limit: int = 10) -> dict[str, Any]:
    """Run a query; returns {"total", "hits"} per SPEC.md (total counts stories, not copies)."""
    body_query = {"bool": {"must": [compile_query(query)],
                           "filter": _filters(sites or [], since, until)}}
    order: list[Any] = ["_score", {"published": {"order": "desc", "missing": "_last"}}]
    if sort == "date":
        order = [{"published": {"order": "desc", "missing": "_last"}}, "_score"]
    try:
        result = es.search(
            index=alias_name(prefix), query=body_query, size=limit, sort=order,
            source=_DISPLAY, track_scores=True,
            collapse={"field": "cluster", "inner_hits": {
                "name": "copies", "size": 20, "_source": ["url", "site"],
                "sort": [{"indexed_at": "asc"}]}},
            aggs={"stories": {"cardinality": {"field": "cluster"}}},
        )
    except NotFoundError:
        return {"total": 0, "hits": []}
    forms = matching_forms(query)
    hits = []
    for hit in result["hits"]["hits"]:
        src = hit["_source"]
        copies = hit["inner_hits"]["copies"]["hits"]["hits"]
        hits.append({
            "id": hit["_id"], "url": src["url"], "site": src["site"], "title": src["title"],
            "published": src.get("published"), "snippet": snippet(src.get("text", ""), forms),
            "score": hit.get("_score"),
            "duplicates": [{"url": c["_source"]["url"], "site": c["_source"]["site"]}
                           for c in copies if c["_id"] != hit["_id"]],
        })
    return {"total": int(result["aggregations"]["stories"]["value"]), "hits": hits}


EXPORT_FIELDS = ["url", "canonical_url", "site", "title", "published", "author", "tags", "text",
                 "cluster", "duplicate_of"]


def export(es: Elasticsearch, prefix: str, *, sites: list[str] | None = None,
           since: date | None = None) -> Iterator[dict[str, Any]]:
    """Every indexed article (filtered), oldest first as indexed, in SPEC.md's export shape."""
    query = {"bool": {"filter": _filters(sites or [], since, None)}}
    try:
        hits = helpers.scan(es, index=alias_name(prefix), query={"query": query},
                            source=EXPORT_FIELDS, preserve_order=False)
        for hit in hits:
            src = hit["_source"]
            yield {"id": hit["_id"], **{k: src.get(k) for k in EXPORT_FIELDS}}
    except NotFoundError:
        return
