"""Which new stories match which rules: every rule's query over what was indexed since its
watermark (minus a short overlap), all rules in one `msearch` per chunk, paged with
`search_after` until complete; then the details a mail shows, fetched once per run.

Candidates are chosen by when newsmon indexed an article (`indexed_at`), not when it was
published, so a late-discovered old article alerts once and a re-crawl (which keeps
`indexed_at`) never alerts again. The overlap re-reads articles indexed just before the
previous run but not yet searchable then; the ledger removes the repeats.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from search.alerts.rules import OVERLAP, Rule
from search.article import doc_id
from search.query import QueryError, compile_query, matching_forms
from search.schema import alias_name, get_docs
from search.search import ORIGINAL_FIRST, snippet

PAGE_SIZE = 1000  # articles per rule and request; a rule with more gets further pages


_MSEARCH_CHUNK = 100


# `status` keeps every response in place; shard failures and timeouts must be seen (a partial
# answer would move the watermark past articles never looked at).
_MSEARCH_FIELDS = [
    "responses.hits.hits.fields",
    "responses.hits.hits.sort",
    "responses.error",
    "responses.status",
    "responses._shards.failed",
    "responses.timed_out",
]


@dataclass
class Match:
    """One story for one rule: the first-indexed matching article and where else it appeared."""

    article_id: str
    cluster: str
    forms: list[tuple[str, bool]]
    url: str = ""
    site: str = ""
    title: str = ""
    published: str | None = None
    text: str = ""
    also: list[dict[str, Any]] = field(default_factory=list)
    story_id: str = ""  # the original's id: what the mail shows (article_id is what matched)
    matched_text: str = ""

    @property
    def snippet(self) -> str:
        """Computed when a mail is rendered, not for every candidate: around the match in the
        original's text, else in the copy that matched."""
        shown = snippet(self.text, self.forms)
        if "<mark>" not in shown and self.matched_text:
            shown = snippet(self.matched_text, self.forms)
        return shown


def _rule_search(rule: Rule, since: str, until: str, after: list[Any] | None) -> dict[str, Any]:
    # `gte`: indexing times have millisecond resolution, so an article indexed in the same
    # millisecond a rule was added must count (a repeat is removed by the ledger).
    filters: list[dict[str, Any]] = [{"range": {"indexed_at": {"gte": since, "lte": until}}}]
    if rule.sites:
        filters.append({"terms": {"site": rule.sites}})
    body: dict[str, Any] = {
        "size": PAGE_SIZE,
        # A backfill's history is searchable, never mailed.
        "query": {
            "bool": {
                "must": [compile_query(rule.query)],
                "filter": filters,
                "must_not": [{"term": {"backfill": True}}],
            }
        },
        # A total order (indexing time, then URL), so `search_after` pages never skip or repeat.
        "sort": [{"indexed_at": "asc"}, {"canonical_url": "asc"}],
        # Only doc values: the canonical URL (the id is its hash) and the cluster. Stored
        # fields, even `_id`, would be read from the compressed blocks that hold the article
        # text: three times slower at 1,000 rules.
        "stored_fields": "_none_",
        "docvalue_fields": ["canonical_url", "cluster"],
        "track_total_hits": False,
    }
    if after is not None:
        body["search_after"] = after
    return body


@dataclass
class Evaluation:
    """A rule's matches and the watermark to record once they are decided."""

    matches: list[Match]
    watermark: str
    clusters: set[str] = field(default_factory=set, repr=False)
    error: str | None = None


def evaluate(es: Elasticsearch, prefix: str, rules: list[Rule], until: datetime) -> dict[str, Evaluation]:
    """Matching stories per rule, indexed after its watermark (minus the overlap) and up to
    `until`: all rules in one msearch per chunk, then further pages for the rules that
    filled one, until every rule is complete. One match per cluster, its first-indexed
    article."""
    index = alias_name(prefix)
    found = {r.name: Evaluation([], until.isoformat()) for r in rules}
    if not rules:
        return found
    try:
        es.indices.refresh(index=index)
    except NotFoundError:
        return found
    pending: list[tuple[Rule, list[Any] | None]] = [(rule, None) for rule in rules]
    with _gc_paused():
        while pending:
            more: list[tuple[Rule, list[Any] | None]] = []
            for start in range(0, len(pending), _MSEARCH_CHUNK):
                more += _evaluate_chunk(es, index, pending[start : start + _MSEARCH_CHUNK], until, found)
            pending = more
    return found


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Hundreds of thousands of small hit objects are created and kept: the cyclic garbage
    collector would rescan them again and again (more than half the evaluation time at
    1,000 rules), and none of them form cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _evaluate_chunk(
    es: Elasticsearch,
    index: str,
    chunk: list[tuple[Rule, list[Any] | None]],
    until: datetime,
    found: dict[str, Evaluation],
) -> list[tuple[Rule, list[Any] | None]]:
    """One msearch; returns the rules that have another page to fetch."""
    searches: list[dict[str, Any]] = []
    asked: list[tuple[Rule, list[Any] | None]] = []
    for rule, after in chunk:
        since = datetime.fromisoformat(rule.watermark) - OVERLAP
        if rule.created_at:  # never what was indexed before the alert existed
            since = max(since, datetime.fromisoformat(rule.created_at))
        try:
            body = _rule_search(rule, since.isoformat(), until.isoformat(), after)
        except QueryError as exc:  # a rule saved before the query language's limits
            found[rule.name].error = f"the query is no longer accepted: {exc}"
            found[rule.name].matches.clear()
            continue
        searches += [{"index": index}, body]
        asked.append((rule, after))
    if not asked:
        return []
    responses = es.msearch(searches=searches, filter_path=_MSEARCH_FIELDS)["responses"]
    more: list[tuple[Rule, list[Any] | None]] = []
    for (rule, _), response in zip(asked, responses, strict=True):
        evaluation = found[rule.name]
        if "error" in response:
            evaluation.error = f"Elasticsearch refused the search: {response['error']}"
        elif response.get("timed_out") or response.get("_shards", {}).get("failed"):
            evaluation.error = "Elasticsearch answered only in part (timed out or a shard failed)"
        if evaluation.error:  # not decided this run: its watermark stays, the next run retries
            evaluation.matches.clear()
            continue
        forms = matching_forms(rule.query)
        hits = response.get("hits", {}).get("hits", [])
        for hit in hits:
            cluster = hit["fields"]["cluster"][0]
            if cluster not in evaluation.clusters:  # the story's first-indexed article only
                evaluation.clusters.add(cluster)
                # The id is the canonical URL's hash (pipelines/normalize.py), as for every document.
                evaluation.matches.append(Match(doc_id(hit["fields"]["canonical_url"][0]), cluster, forms))
        if len(hits) == PAGE_SIZE:
            more.append((rule, hits[-1]["sort"]))
    return more


@dataclass
class Details:
    """What mails show, fetched once per run: many rules and recipients share articles."""

    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    copies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def enrich(
    es: Elasticsearch, prefix: str, matches: list[Match], details: Details | None = None
) -> list[Match]:
    """Fill in what a mail shows for the stories about to be sent: the story's original
    (title, site, date, link, text) and its other copies: one search and one mget for what
    `details` does not hold yet, instead of fetching it for every candidate of every rule."""
    if not matches:
        return matches
    details = details if details is not None else Details()
    index = alias_name(prefix)
    clusters = sorted({m.cluster for m in matches} - details.copies.keys())
    if clusters:
        for cluster in clusters:
            details.copies[cluster] = []
        hits = es.search(
            index=index,
            size=min(10_000, 20 * len(clusters)),
            source_includes=["url", "site", "cluster", "published"],
            query={"terms": {"cluster": clusters}},
            sort=ORIGINAL_FIRST,
        )["hits"]["hits"]
        for hit in hits:
            src = hit["_source"]
            details.copies[src["cluster"]].append(
                {"id": hit["_id"], "url": src["url"], "site": src["site"], "published": src.get("published")}
            )
    # The story is shown by its original (the first of its copies in ORIGINAL_FIRST order).
    originals = {m.cluster: (details.copies[m.cluster] or [{"id": m.article_id}])[0]["id"] for m in matches}
    missing = {*originals.values(), *(m.article_id for m in matches)} - details.docs.keys()
    if missing:
        found = get_docs(es, index, sorted(missing), source=["url", "site", "title", "published", "text"])
        details.docs.update({d["_id"]: d["_source"] if d.get("found") else {} for d in found})
    for match in matches:
        match.story_id = originals[match.cluster]
        src = details.docs.get(match.story_id) or details.docs.get(match.article_id, {})
        match.url, match.site, match.title = src.get("url", ""), src.get("site", ""), src.get("title", "")
        match.published, match.text = src.get("published"), src.get("text", "")
        if match.article_id != match.story_id:
            match.matched_text = details.docs.get(match.article_id, {}).get("text", "")
        match.also = [
            {"url": c["url"], "site": c["site"], "published": c.get("published")}
            for c in details.copies[match.cluster]
            if c["id"] != match.story_id
        ]
    return matches


def refused_by_index(es: Elasticsearch, prefix: str, query: str) -> str | None:
    """Run a rule's query once (a count) before it is saved: the reason when Elasticsearch
    refuses it, else None (also when there is no index yet to ask)."""
    from elasticsearch import ApiError

    try:
        es.count(index=alias_name(prefix), query=compile_query(query))
    except NotFoundError:
        return None
    except ApiError as exc:
        error = exc.body.get("error", {}) if isinstance(exc.body, dict) else {}
        kind = error.get("type", "") if isinstance(error, dict) else ""
        return f"Elasticsearch từ chối truy vấn này ({kind or exc.status_code})"
    return None
