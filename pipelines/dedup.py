"""Dedup: the one place that decides, per indexing batch, what each article is: new, an
update of a stored article, unchanged, or another copy of a story already stored.

Its fingerprints (`pipelines/fingerprint.py`) are computed in the extraction workers; its decision
(`resolve`) runs in the index stage, because it needs the whole batch and three round
trips to Elasticsearch, not one per article.

A copy is found, in this order of evidence:
1. the same folded body (`content_hash`);
2. the article names its origin (`(Nguồn: URL)`) and that URL is indexed;
3. the article names its origin in words only (`(Nguồn: Báo Lao Động)`), those words are a
   registry site's title, name or host (the crawl hands the table over), and a stored
   article of that site, published within two days, is similar at the lower
   `NAMED_JACCARD` (its text may have been cut or padded by the republisher); an original
   indexed after such a copy finds it by the words naming its site;
4. near-duplicate text: MinHash signatures of the folded body sharing a band
   (`pipelines/fingerprint.py`), then accepted when the estimated Jaccard similarity
   is at least `NEAR_DUP_JACCARD`. A republished story differs by a trimmed paragraph, a
   source line, a title prefix or boilerplate: still far above the threshold; two
   different stories on one topic share sentences, not most of their shingles.

Every copy gets the story's `cluster` and `duplicate_of` = the story's first-seen article.
A stored article keeps its cluster when it is re-crawled, so clusters never split.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch, helpers

from pipelines.fingerprint import BANDS, fingerprint, similarity
from search import textnorm
from search.article import Article, canonical_url, doc_id
from search.schema import get_docs

log = logging.getLogger(__name__)

NEAR_DUP_JACCARD = 0.5
NAMED_JACCARD = 0.3  # when the copy names the origin's site in words
NAMED_WINDOW_DAYS = 2
# Near-duplicate candidates are looked for among articles published this many days either
# side of the article (copies are republished within days; undated articles are always
# candidates). It keeps the lookup's cost flat as the archive grows: 0 looks everywhere.
NEAR_WINDOW_DAYS = 14


@dataclass
class Decision:
    """What one indexing batch will write, and why."""

    new: list[Article] = field(default_factory=list)
    updated: list[Article] = field(default_factory=list)
    homes: dict[str, str] = field(default_factory=dict)  # updated article id -> the index holding it
    unchanged: int = 0
    duplicates: int = 0


class _Bands:
    """LSH band -> the ids of the latest stories holding it, for up to `limit` bands: two plain
    dicts of strings, the older dropped whole when the newer is full. A plain dict holding only
    strings is one the garbage collector stops walking (an ordered dict of lists, 1.6 million of
    them, made each of its full collections 0.6 s: 6-11 s of every 100,000 articles written,
    bench/archive.py)."""

    def __init__(self, limit: int, per_band: int) -> None:
        self.limit, self.per_band = limit, per_band
        self.newer: dict[str, str] = {}
        self.older: dict[str, str] = {}

    def add(self, band: str, story_id: str) -> None:
        """Remember that `story_id` holds `band` (the band's oldest holders go first)."""
        held = self.newer.get(band) or self.older.get(band)
        self.newer[band] = " ".join([*held.split(" "), story_id][-self.per_band :]) if held else story_id
        if len(self.newer) >= self.limit // 2:
            self.older, self.newer = self.newer, {}

    def get(self, band: str) -> list[str]:
        """The ids of the latest stories holding `band`, oldest first."""
        held = self.newer.get(band) or self.older.get(band)
        return held.split(" ") if held else []

    def __len__(self) -> int:
        return len(self.newer) + len(self.older)


@dataclass
class Recent:
    """Stories this process wrote and a search may not see yet (no refresh per batch)."""

    # Ordered dicts: forgetting the oldest is `popitem(last=False)`, O(1). Popping the first
    # key of a plain dict is not: the scan for it steps over every slot deleted before, which
    # made each article's cost grow with the number indexed (92% of ingest time at 60,000).
    by_hash: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    stories: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)  # id -> story
    by_source: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)  # origin URL -> copy
    firsts: OrderedDict[str, Sequence[int]] = field(default_factory=OrderedDict)  # first-seen id -> signature
    by_site: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # a site's latest stories
    per_site: int = 200
    limit: int = 50_000  # stories remembered (oldest forgotten first: by then searchable)
    per_band: int = 8  # candidates kept per band (template-heavy sites share many bands)
    by_band: _Bands = field(init=False)

    def __post_init__(self) -> None:
        self.by_band = _Bands(self.limit * BANDS, self.per_band)

    def add(self, doc: Article) -> None:
        """Remember a story this process is about to write."""
        signature = tuple(doc.minhash or ())
        story = {
            "id": doc.id,
            "cluster": doc.cluster,
            "first": doc.duplicate_of or doc.id,
            "minhash": signature,
        }
        self.by_hash.setdefault(doc.content_hash or "", story)
        while len(self.by_hash) > self.limit:
            self.by_hash.popitem(last=False)
        if doc.source_url:
            self.by_source.setdefault(doc.source_url, story)
            while len(self.by_source) > self.limit:
                self.by_source.popitem(last=False)
        if doc.duplicate_of is None and doc.id:
            self.firsts[doc.id] = signature
            while len(self.firsts) > self.limit:
                self.firsts.popitem(last=False)
        latest = self.by_site.setdefault(doc.site or "", [])
        latest.append(story)
        if len(latest) > self.per_site:
            del latest[0]
        if not doc.id:
            return
        self.stories[doc.id] = story
        while len(self.stories) > self.limit:
            self.stories.popitem(last=False)
        for band in doc.lsh_bands or []:
            self.by_band.add(band, doc.id)

    def banded(self, bands: list[str]) -> list[dict[str, Any]]:
        """The remembered stories sharing at least one of `bands`, each once."""
        seen: dict[str, dict[str, Any]] = {}
        for band in bands:
            for story_id in self.by_band.get(band):
                story = self.stories.get(story_id)
                if story is not None:
                    seen.setdefault(story_id, story)
        return list(seen.values())


_STORED_FIELDS = ["content_hash", "cluster", "duplicate_of", "indexed_at", "published", "backfill"]
_CANDIDATES_PER_DOC = 5
# Articles the batch's near-duplicate lookup reads per article of the batch before it asks per
# article (bands that many articles share are template text, not a copy).
NEAR_HITS_PER_DOC = 20


def resolve(  # noqa: PLR0917
    es: Elasticsearch,
    index: str,
    docs: list[Article],
    now: str,
    recent: Recent | None = None,
    origins: dict[str, str] | None = None,
    window_days: int = NEAR_WINDOW_DAYS,
) -> Decision:
    """Classify a batch with a fixed number of round trips whatever its size (an mget of its
    ids, a search each for its content hashes, the URLs it names and its LSH bands, an mget of
    the chosen candidates and of their stories' first articles), and two more msearches when
    sites are known by their words (`origins`: folded site title, name
    or host -> site name): copies naming their origin's site, and the origin meeting them.
    Near duplicates are looked for within `window_days` of each article's date."""
    recent = recent if recent is not None else Recent()
    by_id: dict[str, Article] = {}
    for doc in docs:
        assert doc.id is not None, "normalize_article gives every article its id"
        by_id[doc.id] = fingerprint(doc)  # the last fetch of one URL in a batch wins
    sources = {d.id: doc_id(canonical_url(d.source_url)) for d in by_id.values() if d.id and d.source_url}
    found = [
        d for d in get_docs(es, index, [*by_id, *sources.values()], source=_STORED_FIELDS) if d.get("found")
    ]
    stored = {d["_id"]: d["_source"] for d in found}
    decision = Decision(homes={d["_id"]: d["_index"] for d in found if d["_id"] in by_id})
    fresh: list[Article] = []
    for doc_id_, doc in by_id.items():
        old = stored.get(doc_id_)
        if old is None:
            fresh.append(doc)
        elif old.get("content_hash") == doc.content_hash:
            decision.unchanged += 1
        else:
            doc.cluster, doc.duplicate_of = old["cluster"], old.get("duplicate_of")
            doc.indexed_at, doc.modified = old["indexed_at"], doc.modified or now
            doc.published = doc.published or old.get("published")
            doc.backfill = doc.backfill or bool(old.get("backfill"))  # history stays history
            decision.updated.append(doc)
    exact = _first_seen(es, index, {d.content_hash for d in fresh if d.content_hash})
    unmatched = [d for d in fresh if d.content_hash not in exact]
    near = _near_candidates(es, index, unmatched, window_days)
    named = _named_as_source(es, index, unmatched)
    firsts = _first_signatures(es, index, near, recent)
    worded = _named_in_words(es, index, unmatched, origins or {}, recent)
    naming = _copies_naming_site(es, index, unmatched, origins or {})
    for doc in fresh:
        key, hashed = doc.id or "", doc.content_hash or ""
        doc.indexed_at = now
        story = (
            recent.by_hash.get(hashed)
            or exact.get(hashed)
            or _story_of(stored.get(sources.get(key, "")), sources.get(key))
            # A copy that names this article as its origin was indexed first (order-independent).
            or recent.by_source.get(doc.canonical_url or "")
            or named.get(doc.canonical_url or "")
            or _nearest(doc, near.get(key, []) + recent.banded(doc.lsh_bands or []), firsts, recent.firsts)
            or _nearest(doc, worded.get(key, []) + naming.get(key, []), threshold=NAMED_JACCARD)
        )
        if story is not None:
            doc.cluster, doc.duplicate_of = story["cluster"], story["first"]
            decision.duplicates += 1
        else:
            doc.cluster, doc.duplicate_of = doc.content_hash, None
        recent.add(doc)
        decision.new.append(doc)
    return decision


def _story_of(source: dict[str, Any] | None, source_id: str | None) -> dict[str, Any] | None:
    """The story of the article a republished copy names as its source, if indexed."""
    if source is None or source_id is None:
        return None
    return {"cluster": source["cluster"], "first": source.get("duplicate_of") or source_id}


def _nearest(
    doc: Article,
    candidates: list[dict[str, Any]],
    firsts: dict[str, list[int]] | None = None,
    recent_firsts: Mapping[str, Sequence[int]] | None = None,
    threshold: float = NEAR_DUP_JACCARD,
) -> dict[str, Any] | None:
    """The most similar candidate above the threshold whose story's first-seen article is
    similar too: a chain of half-similar texts must not glue different stories together."""
    best, best_score = None, threshold
    for candidate in candidates:
        score = similarity(doc.minhash or [], candidate.get("minhash") or [])
        if score < best_score or candidate["id"] == doc.id:
            continue
        first = candidate["first"]
        signature = (firsts or {}).get(first) or (recent_firsts or {}).get(first)
        if (
            first != candidate["id"]
            and signature is not None
            and similarity(doc.minhash or [], signature) < threshold
        ):
            continue
        best, best_score = candidate, score
    return best


def _named_in_words(
    es: Elasticsearch, index: str, docs: list[Article], origins: dict[str, str], recent: Recent
) -> dict[str, list[dict[str, Any]]]:
    """For articles naming their origin's site in words: that site's articles published
    within two days of them (one msearch) and its latest ones this process wrote, as
    near-duplicate candidates."""
    from pipelines.extraction.body import source_name

    asked: list[tuple[Article, str]] = []
    for doc in docs:
        name = (doc.source_name or source_name(doc.text or "")) if doc.published else None
        site = origins.get(textnorm.fold(name).strip()) if name else None
        if site and site != doc.site:
            asked.append((doc, site))
    if not asked:
        return {}
    searches: list[dict[str, Any]] = []
    for doc, site in asked:
        days = f"{NAMED_WINDOW_DAYS}d"
        window = {"gte": f"{doc.published}||-{days}", "lte": f"{doc.published}||+{days}"}
        searches.append({"index": index})
        searches.append(
            {
                "size": _CANDIDATES_PER_DOC,
                "_source": ["cluster", "duplicate_of", "minhash"],
                "query": {"bool": {"filter": [{"term": {"site": site}}, {"range": {"published": window}}]}},
            }
        )
    responses = es.msearch(searches=searches)["responses"]
    return {
        doc.id or "": _candidates(response) + recent.by_site.get(site, [])
        for (doc, site), response in zip(asked, responses, strict=True)
    }


def _copies_naming_site(
    es: Elasticsearch, index: str, docs: list[Article], origins: dict[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """The other way round: stored articles of other sites, published within two days, whose
    text names this article's site in words (`Nguồn: <title>`), as candidates (one msearch)."""
    names: dict[str, list[str]] = {}
    for words, site in origins.items():
        if " " in words:  # titles; a bare name or host is too easily a word of the text
            names.setdefault(site, []).append(words)
    asked = [doc for doc in docs if doc.published and names.get(doc.site or "")]
    if not asked:
        return {}
    searches: list[dict[str, Any]] = []
    for doc in asked:
        days = f"{NAMED_WINDOW_DAYS}d"
        window = {"gte": f"{doc.published}||-{days}", "lte": f"{doc.published}||+{days}"}
        phrases = [
            {"match_phrase": {"text_fold": f"{lead} {words}"}}
            for words in names[doc.site or ""]
            for lead in ("nguon", "theo")
        ]
        searches.append({"index": index})
        searches.append(
            {
                "size": _CANDIDATES_PER_DOC,
                "_source": ["cluster", "duplicate_of", "minhash"],
                "query": {
                    "bool": {
                        "filter": [{"range": {"published": window}}],
                        "must_not": [{"term": {"site": doc.site}}],
                        "should": phrases,
                        "minimum_should_match": 1,
                    }
                },
            }
        )
    responses = es.msearch(searches=searches)["responses"]
    return {doc.id or "": _candidates(response) for doc, response in zip(asked, responses, strict=True)}


def _candidates(response: dict[str, Any]) -> list[dict[str, Any]]:
    """Stored articles of one msearch answer, as `_nearest` weighs them."""
    return [
        {
            "id": h["_id"],
            "cluster": h["_source"]["cluster"],
            "first": h["_source"].get("duplicate_of") or h["_id"],
            "minhash": h["_source"].get("minhash") or [],
        }
        for h in response.get("hits", {}).get("hits", [])
    ]


def _named_as_source(es: Elasticsearch, index: str, docs: list[Article]) -> dict[str, dict[str, Any]]:
    """For articles a stored copy names as its origin (`(Nguồn: URL)`): that copy's story."""
    urls = sorted({d.canonical_url for d in docs if d.canonical_url})
    if not urls:
        return {}
    hits = es.search(
        index=index,
        size=min(10_000, 5 * len(urls)),
        source_includes=["cluster", "duplicate_of", "source_url"],
        query={"terms": {"source_url": urls}},
        sort=[{"indexed_at": "asc"}],
    )["hits"]["hits"]
    found: dict[str, dict[str, Any]] = {}
    for hit in hits:
        found.setdefault(
            hit["_source"]["source_url"],
            {"cluster": hit["_source"]["cluster"], "first": hit["_source"].get("duplicate_of") or hit["_id"]},
        )
    return found


def _first_signatures(
    es: Elasticsearch, index: str, near: dict[str, list[dict[str, Any]]], recent: Recent
) -> dict[str, list[int]]:
    """The signatures of the first-seen articles of the candidate stories (one mget)."""
    firsts: dict[str, list[int]] = {}
    for candidates in near.values():
        for candidate in candidates:
            if candidate["first"] == candidate["id"]:
                firsts[candidate["id"]] = candidate.get("minhash") or []
    missing = sorted({c["first"] for cs in near.values() for c in cs} - firsts.keys() - recent.firsts.keys())
    if missing:
        for found in get_docs(es, index, missing, source_includes=["minhash"]):
            if found.get("found"):
                firsts[found["_id"]] = found["_source"].get("minhash") or []
    return firsts


def _window(published: str | None, days: int) -> list[dict[str, Any]]:
    """The filter keeping candidates published within `days` of `published` (or undated)."""
    if not published or days <= 0:
        return []
    return _published_in({"gte": f"{published}||-{days}d", "lte": f"{published}||+{days}d"})


def _published_in(span: dict[str, Any]) -> list[dict[str, Any]]:
    """The filter keeping articles published within the range `span`, or undated."""
    return [
        {
            "bool": {
                "should": [
                    {"range": {"published": span}},
                    {"bool": {"must_not": [{"exists": {"field": "published"}}]}},
                ],
                "minimum_should_match": 1,
            }
        }
    ]


def _near_candidates(
    es: Elasticsearch, index: str, docs: list[Article], window_days: int = NEAR_WINDOW_DAYS
) -> dict[str, list[dict[str, Any]]]:
    """Stored articles sharing LSH bands with each doc and published within `window_days` of
    it (or undated), the five sharing most bands first. One terms query for the whole batch
    reads the matching articles' bands from doc values, Python ranks them per doc, and one
    mget reads the chosen few's signatures: a search per article cost a term lookup per band
    and segment each, which grew with the archive (the largest part of ingest time at
    100,000 articles). When the batch's bands match more articles than the query returns
    (bands of template text many articles share), each doc is asked on its own instead."""
    docs = [d for d in docs if d.lsh_bands]
    if not docs:
        return {}
    bands = sorted({band for doc in docs for band in doc.lsh_bands or []})
    cap = min(10_000, NEAR_HITS_PER_DOC * len(docs))
    hits = es.search(
        index=index,
        size=cap,
        source=False,
        track_total_hits=False,
        docvalue_fields=[{"field": "lsh_bands"}, {"field": "published", "format": "epoch_millis"}],
        # The dates first: Lucene asks a query's clauses for their scorers in order and stops at
        # the first that has none in a segment, so a segment holding no article of the window
        # is left before the thousands of band terms are sought in it (the other order sought
        # them in every segment: 47 against 10 ms on a month the batch's window skips, 92
        # against 66 ms on its own window, at a million articles).
        query={"bool": {"filter": [*_span(docs, window_days), {"terms": {"lsh_bands": bands}}]}},
    )["hits"]["hits"]
    if len(hits) >= cap:
        log.debug(
            "near-duplicate lookup: %d bands match more than %d articles; asking per article", len(bands), cap
        )
        return _near_candidates_each(es, index, docs, window_days)
    holders: dict[str, list[int]] = {}
    for number, hit in enumerate(hits):
        for band in hit.get("fields", {}).get("lsh_bands", []):
            holders.setdefault(band, []).append(number)
    chosen: dict[str, list[str]] = {}
    for doc in docs:
        shared: dict[int, int] = {}
        for band in doc.lsh_bands or []:
            for number in holders.get(band, []):
                shared[number] = shared.get(number, 0) + 1
        when = _millis(doc.published) if window_days > 0 else None
        near = [number for number in shared if when is None or _within(hits[number], when, window_days)]
        near.sort(key=lambda number: -shared[number])
        chosen[doc.id or ""] = [hits[number]["_id"] for number in near[:_CANDIDATES_PER_DOC]]
    wanted = sorted({hit_id for ids in chosen.values() for hit_id in ids})
    if not wanted:
        return {}
    found = {
        d["_id"]: d
        for d in get_docs(es, index, wanted, source_includes=["cluster", "duplicate_of", "minhash"])
        if d.get("found")
    }
    return {
        key: _candidates({"hits": {"hits": [found[i] for i in ids if i in found]}})
        for key, ids in chosen.items()
        if ids
    }


def _span(docs: list[Article], days: int) -> list[dict[str, Any]]:
    """The filter keeping candidates published within `days` of any of the batch's dates (or
    undated): none when the batch holds an undated article, which is compared with any date.
    Why it pays: put before the band terms, it makes Lucene check a segment's range of dates
    before it seeks the thousands of band terms in that segment's terms dictionary, so a batch
    of recent articles (a crawl's, a backfill's month) skips every segment written with other
    months; per article the window is applied again in Python (`_within`), since the span of
    a batch is wider than each's."""
    moments = [_millis(doc.published) for doc in docs]
    if days <= 0 or not moments or None in moments:
        return []
    dated = [m for m in moments if m is not None]
    reach = days * 86_400_000
    return _published_in({"gte": min(dated) - reach, "lte": max(dated) + reach, "format": "epoch_millis"})


def _millis(published: str | None) -> int | None:
    """An article's date as epoch milliseconds (Elasticsearch reads a date without an offset as UTC)."""
    if not published:
        return None
    try:
        moment = datetime.fromisoformat(published)
    except ValueError:
        return None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


def _within(hit: dict[str, Any], when: int, days: int) -> bool:
    """Whether a stored article is undated or published within `days` of `when`."""
    dates = hit.get("fields", {}).get("published")
    return not dates or abs(int(float(dates[0])) - when) <= days * 86_400_000


def _near_candidates_each(
    es: Elasticsearch, index: str, docs: list[Article], window_days: int
) -> dict[str, list[dict[str, Any]]]:
    """The same per article (one msearch): a search each, ranked by Elasticsearch's score, so
    bands many articles share weigh little and cannot crowd out a copy."""
    searches: list[dict[str, Any]] = []
    for doc in docs:
        searches.append({"index": index})
        searches.append(
            {
                "size": _CANDIDATES_PER_DOC,
                "_source": ["cluster", "duplicate_of", "minhash"],
                "track_total_hits": False,
                "query": {
                    "bool": {
                        "should": [{"term": {"lsh_bands": band}} for band in doc.lsh_bands or []],
                        "filter": _window(doc.published, window_days),
                        "minimum_should_match": 1,
                    }
                },
            }
        )
    responses = es.msearch(searches=searches)["responses"]
    return {doc.id or "": _candidates(response) for doc, response in zip(docs, responses, strict=True)}


def _first_seen(es: Elasticsearch, index: str, hashes: set[str]) -> dict[str, dict[str, Any]]:
    """For each fingerprint already stored: the story's cluster and first-seen article."""
    if not hashes:
        return {}
    result = es.search(
        index=index,
        size=len(hashes),
        source_includes=["cluster", "duplicate_of"],
        query={"terms": {"content_hash": sorted(hashes)}},
        collapse={"field": "content_hash"},
        sort=[{"indexed_at": "asc"}],
        fields=[{"field": "content_hash"}],
    )
    return {
        hit["fields"]["content_hash"][0]: {
            "id": hit["_id"],
            "cluster": hit["_source"]["cluster"],
            "first": hit["_source"].get("duplicate_of") or hit["_id"],
        }
        for hit in result["hits"]["hits"]
    }


def merge_late_copies(es: Elasticsearch, index: str, ids: list[str]) -> list[tuple[str, str]]:
    """After a crawl's final refresh: the stories it started (`ids`, their first-seen articles)
    that turn out to be copies of a story another crawl started meanwhile join that story.

    Two crawls running at once cannot see each other's unrefreshed writes, so each may take
    the same story for new. The story whose first article was indexed first (then the
    smaller id) keeps its cluster; the other's documents are relabelled (bulk partial
    updates: the stripped distribution has no update-by-query). One mget and one msearch per
    100 stories. Returns the (old, new) clusters."""
    merges: list[tuple[str, str]] = []
    for start in range(0, len(ids), 100):
        docs = [
            d
            for d in get_docs(es, index, ids[start : start + 100], source_includes=_RECHECK)
            if d.get("found") and d["_source"].get("duplicate_of") is None
        ]
        if not docs:
            continue
        searches: list[dict[str, Any]] = []
        for doc in docs:
            source = doc["_source"]
            should: list[dict[str, Any]] = [{"term": {"content_hash": source["content_hash"]}}]
            should += [{"term": {"lsh_bands": band}} for band in source.get("lsh_bands") or []]
            searches += [
                {"index": index},
                {
                    "size": 20,
                    "_source": _RECHECK,
                    "query": {
                        "bool": {
                            "should": should,
                            "minimum_should_match": 1,
                            "must_not": [{"term": {"cluster": source["cluster"]}}],
                        }
                    },
                },
            ]
        responses = es.msearch(searches=searches)["responses"]
        for doc, response in zip(docs, responses, strict=True):
            other = _same_story(doc, response.get("hits", {}).get("hits", []))
            if other is None:
                continue
            mine = {
                "cluster": doc["_source"]["cluster"],
                "first": doc["_id"],
                "started": (doc["_source"]["indexed_at"], doc["_id"]),
            }
            # Whichever crawl looks first, the story started first keeps its cluster.
            earlier, later = (other, mine) if other["started"] < mine["started"] else (mine, other)
            _relabel(es, index, later["cluster"], earlier)
            merges.append((later["cluster"], earlier["cluster"]))
    return merges


_RECHECK = ["content_hash", "minhash", "lsh_bands", "cluster", "duplicate_of", "indexed_at"]


def _same_story(doc: dict[str, Any], hits: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Another story whose first article has `doc`'s text or nearly (the earliest started
    when several), if any."""
    source = doc["_source"]
    best: dict[str, Any] | None = None
    for hit in hits:
        other = hit["_source"]
        if other.get("duplicate_of") is not None:
            continue  # compare with first-seen articles only: no chains
        same = other.get("content_hash") == source["content_hash"]
        near = similarity(source.get("minhash") or [], other.get("minhash") or [])
        started = (other["indexed_at"], hit["_id"])
        if (same or near >= NEAR_DUP_JACCARD) and (best is None or started < best["started"]):
            best = {"cluster": other["cluster"], "first": hit["_id"], "started": started}
    return best


def _relabel(es: Elasticsearch, index: str, cluster: str, target: dict[str, Any]) -> None:
    members = es.search(index=index, size=1000, source=False, query={"term": {"cluster": cluster}})["hits"][
        "hits"
    ]
    actions = [
        {
            "_op_type": "update",
            "_index": hit["_index"],  # the index holding it (an alias over several cannot be written by id)
            "_id": hit["_id"],
            "doc": {"cluster": target["cluster"], "duplicate_of": target["first"]},
        }
        for hit in members
    ]
    helpers.bulk(es, actions)  # searches that must see it (alerts) refresh first
