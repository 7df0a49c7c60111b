"""Search and export over the article alias: one hit per story cluster, copies listed."""

from __future__ import annotations

import html
import re
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError, helpers

from config.limits import MAX_COPIES, MAX_RESULTS
from search import textnorm
from search.es import msearch
from search.query import QueryError, body_phrase, compile_query, matching_forms
from search.schema import alias_name, get_docs

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


# An alert run renders the same article for many rules and recipients: its matching forms
# are computed once.
@lru_cache(maxsize=1024)
def _folded(text: str) -> str:
    return textnorm.fold(text)


@lru_cache(maxsize=1024)
def _normalized(text: str) -> str:
    return textnorm.normalize(text)


def snippet(text: str, forms: list[tuple[str, bool]], width: int = SNIPPET_CHARS) -> str:
    """A window of the body around the first match, as HTML: crawled text escaped, every
    matched word or phrase in `<mark>`. Matching runs on the normalized and folded forms,
    whose offsets agree with the display text character for character."""
    folded = _folded(text)
    norm = _normalized(text) if any(exact for _, exact in forms) else folded
    spans: list[tuple[int, int]] = []
    for form, exact in forms:
        hay = norm if exact else folded
        # re.escape escapes spaces too: the syllables are escaped one by one (a phrase's
        # syllables may be separated by any whitespace in the text).
        pattern = r"(?<!\w)" + r"\W+".join(re.escape(p) for p in form.split()) + r"(?!\w)"
        spans.extend(m.span() for m in re.finditer(pattern, hay))
    spans.sort()
    start = max(0, spans[0][0] - width // 4) if spans else 0
    end = min(len(text), start + width)
    if start > 0 and " " in text[start:end]:
        start = text.index(" ", start) + 1
    if end < len(text) and " " in text[start:end]:
        end = text.rindex(" ", start, end)
    out, pos = [], start
    for s_start, s_end in spans:
        if s_start < pos or s_end > end:
            continue
        out.append(html.escape(text[pos:s_start]))
        out.append(f"<mark>{html.escape(text[s_start:s_end])}</mark>")
        pos = s_end
    out.append(html.escape(text[pos:end]))
    piece = " ".join("".join(out).split())
    return ("…" if start > 0 else "") + piece + ("…" if end < len(text) else "")


# The article no other article is a copy of (`duplicate_of` absent): one per story, the one
# newsmon saw first.
_FIRST_SEEN: dict[str, Any] = {"bool": {"must_not": [{"exists": {"field": "duplicate_of"}}]}}
# Up to this many matching articles, the stories are counted exactly (a distinct count, exact
# below its precision threshold, cheap on so few); above it, as the matching first-seen
# articles, which leaves out stories whose only matches are republications (0.9 % fewer at a
# million articles, within the distinct count's own error there, at 2 ms rather than 40-70 ms).
EXACT_STORIES = 3000
# The search page's counts, plain document counts in filter context (a distinct count of
# stories in every bucket took 1.2-2.8 s at a million articles and tripped the 1 GiB heap's
# circuit breaker): per site, the site's matching articles (a story counts once for each site
# that carries it: "the sites that published most"); per day, the matching first-seen
# articles (each story once, on that article's day).
_DAYS: dict[str, Any] = {
    "date_histogram": {
        "field": "published",
        "calendar_interval": "day",
        "time_zone": "+07:00",
        "format": "yyyy-MM-dd",
        "min_doc_count": 1,
    }
}
_SITES: dict[str, Any] = {"terms": {"field": "site", "size": 100}}


def _count_request(counted: dict[str, Any], facets: bool) -> dict[str, Any]:
    """Articles matching, first-seen articles among them, and (`facets`) the page's counts."""
    first_seen: dict[str, Any] = {"filter": _FIRST_SEEN, **({"aggs": {"day": _DAYS}} if facets else {})}
    return {
        "query": counted,
        "size": 0,
        "track_total_hits": True,
        "aggs": {"first_seen": first_seen, **({"site": _SITES} if facets else {})},
    }


def _facet_counts(aggregations: dict[str, Any]) -> dict[str, dict[str, int]]:
    """{"site": {site: articles}, "day": {yyyy-mm-dd: stories}} from the count request."""
    return {
        "site": {b["key"]: int(b["doc_count"]) for b in aggregations["site"]["buckets"]},
        "day": {
            b["key_as_string"]: int(b["doc_count"]) for b in aggregations["first_seen"]["day"]["buckets"]
        },
    }


def parse_day(value: str | None) -> date | None:
    """`2021-12-08` or `08/12/2021` (day first); None for nothing; QueryError otherwise."""
    if value is None or not value.strip():
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    raise QueryError(f"ngày không hợp lệ: {value[:40]!r} (viết dd/mm/yyyy, ví dụ 08/12/2021)")


# A story is shown by its original: the copy published first (copies without a date after
# dated ones); copies published at the same moment go by which newsmon indexed first, then URL.
ORIGINAL_FIRST: list[Any] = [
    {"published": {"order": "asc", "missing": "_last"}},
    {"indexed_at": "asc"},
    {"canonical_url": "asc"},
]
_COPY_FIELDS = ["url", "site", "title", "published"]
# A story's copies within the query and filters; the first is its original.
_COPIES: dict[str, Any] = {"name": "copies", "size": 20, "_source": _COPY_FIELDS, "sort": ORIGINAL_FIRST}
_NEWEST: list[Any] = [{"published": {"order": "desc", "missing": "_last"}}, "_score"]


def search(
    es: Elasticsearch,
    prefix: str,
    query: str | None,
    *,
    sites: list[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    sort: str = "relevance",
    limit: int = 10,
    page: int = 1,
    facets: bool = False,
) -> dict[str, Any]:
    """Run a query; returns {"total", "hits"} per SPEC.md (total counts stories, not copies:
    EXACT_STORIES says how) and, with `facets`, "facets": articles per site and stories per day
    (Asia/Ho_Chi_Minh; _SITES and _DAYS say what each counts). No query (None) lists every
    story in the filters. Each hit is the story's original (ORIGINAL_FIRST), whichever copy
    matched best; the other copies are its `duplicates`, in the same order."""
    if page * limit > MAX_RESULTS:
        raise QueryError(
            f"chỉ xem được {MAX_RESULTS:,} kết quả đầu tiên: hãy thu hẹp truy vấn "
            "hoặc lọc theo trang, theo ngày".replace(",", ".")
        )
    filters = _filters(sites or [], since, until)
    matched = compile_query(query) if query is not None else None
    body_query = {"bool": {"must": [matched or {"match_all": {}}], "filter": filters}}
    # What is counted needs no score: in filter context Elasticsearch caches it.
    counted = {"bool": {"filter": [q for q in (matched, *filters) if q is not None]}}
    index = alias_name(prefix)
    try:
        if matched is None or sort == "date":
            found = _by_date(es, index, body_query, _count_request(counted, facets), limit=limit, page=page)
        else:
            found = _by_relevance(
                es,
                index,
                body_query,
                _count_request(counted, facets),
                limit=limit,
                page=page,
                boost=body_phrase(query) if query is not None else None,
            )
        total = found.stories if found.stories is not None else _stories(es, index, counted, found.counts)
    except NotFoundError:
        return {"total": 0, "hits": [], **({"facets": {"site": {}, "day": {}}} if facets else {})}
    forms = matching_forms(query) if query is not None else []
    # The original's text, for the snippet, where it is not the copy that matched best and was
    # not read yet (one request for the page; most stories have a single copy).
    originals = [_copies(h)[0]["_id"] for h in found.hits]
    others = [o for o, h in zip(originals, found.hits, strict=True) if o != h["_id"] and o not in found.texts]
    texts = {**found.texts, **_texts(es, index, others)}
    hits = [_story_hit(hit, forms, texts) for hit in found.hits]
    out: dict[str, Any] = {"total": total, "hits": hits}
    if facets:
        out["facets"] = _facet_counts(found.counts["aggregations"])
    return out


@dataclass
class _Found:
    """A page's hits (each with its copies as `inner_hits`), the count request's answer, and
    the number of stories when the page's own request already saw every match."""

    hits: list[dict[str, Any]]
    counts: dict[str, Any]
    stories: int | None = None
    # Bodies already read, by id (the relevance path reads its originals' with its own hits').
    texts: dict[str, str] = field(default_factory=dict)


def _stories(es: Elasticsearch, index: str, counted: dict[str, Any], counts: dict[str, Any]) -> int:
    """The stories among the matching articles (EXACT_STORIES)."""
    if int(counts["hits"]["total"]["value"]) > EXACT_STORIES:
        return int(counts["aggregations"]["first_seen"]["doc_count"])
    distinct = es.search(
        index=index,
        query=counted,
        size=0,
        aggs={"stories": {"cardinality": {"field": "cluster", "precision_threshold": EXACT_STORIES}}},
    )
    return int(distinct["aggregations"]["stories"]["value"])


def _by_date(
    es: Elasticsearch, index: str, body_query: dict[str, Any], count: dict[str, Any], *, limit: int, page: int
) -> _Found:
    """Newest stories first (or every story when there is no query), collapsed by Elasticsearch:
    sorted by date it skips what cannot reach the page, so this stays cheap at any size."""
    result, counts = msearch(
        es,
        index,
        [
            {
                "query": body_query,
                "size": limit,
                "from": (page - 1) * limit,
                "sort": _NEWEST,
                "_source": {"includes": _DISPLAY},
                "track_scores": True,
                "track_total_hits": False,
                "collapse": {"field": "cluster", "inner_hits": _COPIES},
            },
            count,
        ],
    )
    return _Found(list(result["hits"]["hits"]), counts)


# Hits asked for at first to fill a page of stories by relevance: copies of one story rarely
# number more than a few, so this many almost always holds the page's distinct stories.
RELEVANCE_WINDOW = 100


def _by_relevance(
    es: Elasticsearch,
    index: str,
    body_query: dict[str, Any],
    count: dict[str, Any],
    *,
    limit: int,
    page: int,
    boost: dict[str, Any] | None = None,
) -> _Found:
    """The best-scoring copy of each story, best first: the top hits by score alone (which
    lets Elasticsearch skip documents that cannot reach them), grouped by story here, then
    the page's stories' copies in one request. Collapsing in Elasticsearch scores every match
    instead: 0.3-0.6 s for a word found in most of a million articles (bench/archive.py)."""
    wanted = page * limit
    size = min(MAX_RESULTS, max(RELEVANCE_WINDOW, 4 * wanted))
    first, counts = msearch(es, index, [_top_hits(body_query, _window(size, boost)), count])
    ranked = _boosted(es, index, first["hits"]["hits"], boost, size)
    best = _best_per_story(ranked)
    while len(best) < wanted and len(ranked) == size < MAX_RESULTS:
        size = min(MAX_RESULTS, size * 4)
        first = dict(es.search(index=index, **_top_hits(body_query, _window(size, boost))))
        ranked = _boosted(es, index, first["hits"]["hits"], boost, size)
        best = _best_per_story(ranked)
    # Fewer hits than asked for: these are every match, and `best` every story.
    every = len(best) if len(ranked) < size else None
    chosen = best[(page - 1) * limit : wanted]
    if not chosen:
        return _Found([], counts, every)
    clusters = [cluster for cluster, _, _ in chosen]
    # Every copy of these stories that matches the query, its original first.
    grouped = es.search(
        index=index,
        size=len(clusters),
        source=False,
        track_total_hits=False,
        query={"bool": {"filter": [count["query"], {"terms": {"cluster": clusters}}]}},
        collapse={"field": "cluster", "inner_hits": _COPIES},
    )
    copies = {h["fields"]["cluster"][0]: h["inner_hits"] for h in grouped["hits"]["hits"]}
    # The texts the snippets are cut from, the best copy's and the original's, in one request.
    originals = [_copies({"inner_hits": hits})[0]["_id"] for hits in copies.values()]
    texts = _texts(es, index, [hit_id for _, hit_id, _ in chosen] + originals)
    found = [
        {"_id": hit_id, "_score": score, "_source": {"text": texts[hit_id]}, "inner_hits": copies[cluster]}
        for cluster, hit_id, score in chosen
        if cluster in copies and hit_id in texts
    ]
    return _Found(found, counts, every, texts)


def _texts(es: Elasticsearch, index: str, ids: list[str]) -> dict[str, str]:
    """The body of each article found among `ids` (one mget; none for no ids)."""
    if not ids:
        return {}
    docs = get_docs(es, index, ids, source=["text"])
    return {d["_id"]: d["_source"].get("text", "") for d in docs if d.get("found")}


# Best-scoring matches whose score the body phrase (`search.query.body_phrase`) adds to: the
# articles it could lift into a page of stories are among them.
BOOST_WINDOW = 500


def _window(size: int, boost: dict[str, Any] | None) -> int:
    """Hits the first pass asks for: `size`, or the boost's window when there is a boost."""
    return size if boost is None else max(size, BOOST_WINDOW)


def _top_hits(body_query: dict[str, Any], size: int) -> dict[str, Any]:
    """The request for the `size` best-scoring articles: ids, story and date only."""
    return {
        "query": body_query,
        "size": size,
        "track_total_hits": False,
        "_source": False,
        "docvalue_fields": ["cluster", {"field": "published", "format": "epoch_millis"}],
    }


def _boosted(
    es: Elasticsearch, index: str, hits: list[dict[str, Any]], boost: dict[str, Any] | None, size: int
) -> list[dict[str, Any]]:
    """The `size` best of `hits` once `boost`'s score is added to those it matches (what
    Elasticsearch's rescore computes). Asked as its own request restricted to these ids:
    Lucene's rescorer advances the phrase to each hit and, on a hit without it, scans on to
    the next article that has it, checking positions all the way: 35-60 ms for a four-word
    phrase at a million articles against 6-8 ms here (bench/archive.py, 2026-12-04)."""
    if boost is None or not hits:
        return hits[:size]
    added = es.search(
        index=index,
        query={"bool": {"must": [boost], "filter": [{"ids": {"values": [h["_id"] for h in hits]}}]}},
        size=len(hits),
        track_total_hits=False,
        source=False,
    )
    extra = {h["_id"]: float(h["_score"]) for h in added["hits"]["hits"]}
    for hit in hits:
        hit["_score"] = float(hit["_score"]) + extra.get(hit["_id"], 0.0)
    # A stable sort: hits the boost leaves tied keep the first pass's order.
    return sorted(hits, key=lambda h: -float(h["_score"]))[:size]


def _best_per_story(hits: list[dict[str, Any]]) -> list[tuple[str, str, float]]:
    """(story, best copy's id, its score) for each story among `hits`, in the order a collapse
    gives: score, then newest first."""

    def order(hit: dict[str, Any]) -> tuple[float, float]:
        published = hit.get("fields", {}).get("published")
        return -float(hit["_score"]), -float(published[0]) if published else float("inf")

    best: dict[str, tuple[str, str, float]] = {}
    for hit in sorted(hits, key=order):
        cluster = hit["fields"]["cluster"][0]
        if cluster not in best:
            best[cluster] = (cluster, hit["_id"], float(hit["_score"]))
    return list(best.values())


def _copies(hit: dict[str, Any]) -> list[dict[str, Any]]:
    """A collapsed hit's copies of its story, its original first (ORIGINAL_FIRST)."""
    return list(hit["inner_hits"]["copies"]["hits"]["hits"])


def _story_hit(hit: dict[str, Any], forms: list[tuple[str, bool]], texts: dict[str, str]) -> dict[str, Any]:
    """One story as a hit: its original's address, title and date; the snippet around the
    match in the original's text, else in the copy that matched."""
    copies = _copies(hit)
    original = copies[0]
    src = original["_source"]
    own_text = hit["_source"].get("text", "")
    shown = snippet(texts.get(original["_id"], own_text), forms)
    if forms and "<mark>" not in shown and original["_id"] != hit["_id"]:
        shown = snippet(own_text, forms)
    return {
        "id": original["_id"],
        "url": src["url"],
        "site": src["site"],
        "title": src["title"],
        "published": src.get("published"),
        "snippet": shown,
        "score": hit.get("_score"),
        "duplicates": [
            {
                "url": c["_source"]["url"],
                "site": c["_source"]["site"],
                "published": c["_source"].get("published"),
            }
            for c in copies
            if c["_id"] != original["_id"]
        ],
    }


EXPORT_FIELDS = [
    "url",
    "canonical_url",
    "site",
    "title",
    "published",
    "author",
    "tags",
    "text",
    "cluster",
    "duplicate_of",
]


def export(
    es: Elasticsearch, prefix: str, *, sites: list[str] | None = None, since: date | None = None
) -> Generator[dict[str, Any], None, None]:
    """Every indexed article (filtered), oldest first as indexed, in SPEC.md's export shape."""
    query = {"bool": {"filter": _filters(sites or [], since, None)}}
    try:
        hits = helpers.scan(
            es, index=alias_name(prefix), query={"query": query}, source=EXPORT_FIELDS, preserve_order=False
        )
        for hit in hits:
            src = hit["_source"]
            yield {"id": hit["_id"], **{k: src.get(k) for k in EXPORT_FIELDS}}
    except NotFoundError:
        return


STORY_FIELDS = [
    "url",
    "canonical_url",
    "site",
    "title",
    "published",
    "modified",
    "author",
    "tags",
    "text",
    "cluster",
    "duplicate_of",
    "indexed_at",
    "source_url",
    "source_name",
]


def story(es: Elasticsearch, prefix: str, article_id: str) -> dict[str, Any] | None:
    """One article as indexed (its text is what a search matched) and every copy of its
    story, its original first (ORIGINAL_FIRST, the same order search shows), the first
    marked `original`. None when the id is unknown."""
    try:
        doc = get_docs(es, alias_name(prefix), [article_id], source_includes=STORY_FIELDS)[0]
    except NotFoundError:
        return None
    if not doc.get("found"):
        return None
    src = doc["_source"]
    found = es.search(
        index=alias_name(prefix),
        query={"term": {"cluster": src["cluster"]}},
        size=MAX_COPIES,
        source_includes=["url", "site", "title", "published", "duplicate_of"],
        sort=ORIGINAL_FIRST,
    )
    copies = []
    for number, hit in enumerate(found["hits"]["hits"]):
        copy = hit["_source"]
        copies.append(
            {
                "id": hit["_id"],
                "url": copy["url"],
                "site": copy["site"],
                "title": copy["title"],
                "published": copy.get("published"),
                "original": number == 0,
            }
        )
    return {"id": doc["_id"], **{k: src.get(k) for k in STORY_FIELDS}, "copies": copies}


_PAGE = 1000  # articles per round trip of an export
_EXPORT_ORDER: list[Any] = [{"published": {"order": "desc", "missing": "_last"}}, {"_shard_doc": "asc"}]


def export_matches(
    es: Elasticsearch,
    prefix: str,
    query: str | None,
    *,
    sites: list[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    fields: list[str] | None = None,
) -> Generator[dict[str, Any], None, None]:
    """Every article matching a search (each copy of a story, newest first), streamed in
    pages over a point in time, so an export of any size holds one page in memory and
    sees one consistent index. No query (None): every article in the filters. `fields`:
    what each row holds besides its id (EXPORT_FIELDS when not given; a CSV leaves out the
    text, most of each article's bytes). QueryError when the query is malformed."""
    wanted = fields if fields is not None else EXPORT_FIELDS
    must = compile_query(query) if query is not None else {"match_all": {}}
    body_query = {"bool": {"must": [must], "filter": _filters(sites or [], since, until)}}
    try:
        pit = es.open_point_in_time(index=alias_name(prefix), keep_alive="2m")["id"]
    except NotFoundError:
        return
    after: list[Any] | None = None
    try:
        while True:
            page = es.search(
                pit={"id": pit, "keep_alive": "2m"},
                query=body_query,
                size=_PAGE,
                source_includes=wanted,
                search_after=after,
                sort=_EXPORT_ORDER,
            )
            hits = page["hits"]["hits"]
            for hit in hits:
                src = hit["_source"]
                yield {"id": hit["_id"], **{k: src.get(k) for k in wanted}}
            if len(hits) < _PAGE:
                return
            pit = page.get("pit_id", pit)
            after = hits[-1]["sort"]
    finally:
        es.close_point_in_time(id=pit)
