"""Keyword alerts: rules, their evaluation, and the ledger that makes every story reach a
person once per alert.

State lives in SQLite under `$NEWSMON_DATA_DIR/alerts.sqlite`:
- `rules`: name, query (validated by the shared query compiler), recipients, sites, mode
  (`instant` after each crawl, `daily` digest), and the indexing-time watermark up to
  which the rule has been evaluated;
- `ledger`: one row per (alert, recipient, story cluster) ever decided, primary key on
  those three, inserted in the same transaction as the mail that carries it;
- `mails`: rendered messages waiting for delivery (`search/mail.py`), kept until an SMTP
  server (or the outbox) has taken them, retried with back-off.

Candidates are chosen by when newsmon indexed an article (`indexed_at`), not when it was
published, so a late-discovered old article alerts once and a re-crawl (which keeps
`indexed_at`) never alerts again. Each evaluation re-reads a short overlap before the
watermark, so an article indexed just before a run but not yet searchable is still seen;
the ledger removes the repeats. All rules are evaluated in one `msearch` per chunk.
"""

from __future__ import annotations

import gc
import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from config.settings import VN_TZ
from search.article import doc_id
from search.query import compile_query, matching_forms, parse
from search.schema import alias_name
from search.search import snippet

MODES = ("instant", "daily")
OVERLAP = timedelta(minutes=10)
MAIL_STORIES = 100  # stories per mail; more (a new site's first crawl) go out in numbered parts
PAGE_SIZE = 1000  # articles per rule and request; a rule with more gets further pages
_MSEARCH_CHUNK = 100
# `status` keeps every response in place; shard failures and timeouts must be seen (a partial
# answer would move the watermark past articles never looked at).
_MSEARCH_FIELDS = ["responses.hits.hits.fields", "responses.hits.hits.sort", "responses.error",
                   "responses.status", "responses._shards.failed", "responses.timed_out"]
_NAME = re.compile(r"^[\w][\w .()-]{0,79}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rules (
    name TEXT PRIMARY KEY, query TEXT NOT NULL, emails TEXT NOT NULL, sites TEXT NOT NULL,
    mode TEXT NOT NULL, created_at TEXT NOT NULL, watermark TEXT NOT NULL, last_digest TEXT
);
CREATE TABLE IF NOT EXISTS ledger (
    alert TEXT NOT NULL, recipient TEXT NOT NULL, cluster TEXT NOT NULL, article_id TEXT NOT NULL,
    mail_id TEXT NOT NULL, decided_at TEXT NOT NULL, PRIMARY KEY (alert, recipient, cluster)
);
CREATE TABLE IF NOT EXISTS mails (
    mail_id TEXT PRIMARY KEY, alert TEXT NOT NULL, recipient TEXT NOT NULL, message BLOB NOT NULL,
    created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_try TEXT NOT NULL,
    sent_at TEXT, last_error TEXT
);
"""


class AlertError(ValueError):
    """A rule cannot be added or found; the message is meant for the user."""


@dataclass(frozen=True)
class Rule:
    name: str
    query: str
    emails: list[str]
    sites: list[str]
    mode: str
    watermark: str
    last_digest: str | None = None
    created_at: str | None = None


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
    also: list[dict[str, str]] = field(default_factory=list)

    @property
    def snippet(self) -> str:
        """Computed when a mail is rendered, not for every candidate."""
        return snippet(self.text, self.forms)


def _now() -> datetime:
    return datetime.now(UTC)


class AlertStore:
    """Rules, ledger and mail queue in one SQLite file."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(data_dir / "alerts.sqlite", timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.db:
            yield self.db

    # -------------------------------------------------------------- rules

    def add(self, name: str, query: str, emails: list[str], sites: list[str], *, mode: str,
            now: datetime | None = None) -> Rule:
        """Validate and store a rule; it alerts on what is indexed from now on."""
        if not _NAME.match(name):
            raise AlertError(f"alert name {name!r}: use letters, digits, spaces, '-', '.', '(' or ')' "
                             "(at most 80 characters, no line breaks)")
        parse(query)  # QueryError with a clear message when malformed
        if mode not in MODES:
            raise AlertError(f"--mode must be one of {', '.join(MODES)}")
        if not emails:
            raise AlertError("give at least one --email")
        for address in emails:
            if not _valid_address(address):
                raise AlertError(f"not an e-mail address: {address!r}")
        stamp = (now or _now()).isoformat()
        try:
            with self.transaction() as db:
                db.execute("INSERT INTO rules VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                           (name, query, json.dumps(emails), json.dumps(sites), mode, stamp, stamp))
        except sqlite3.IntegrityError:
            raise AlertError(f"an alert named {name!r} exists already") from None
        return self.get(name)

    def get(self, name: str) -> Rule:
        row = self.db.execute("SELECT * FROM rules WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise AlertError(f"no alert named {name!r}")
        return _rule(row)

    def rules(self) -> list[Rule]:
        return [_rule(row) for row in self.db.execute("SELECT * FROM rules ORDER BY name")]

    def remove(self, name: str) -> None:
        self.get(name)
        with self.transaction() as db:
            db.execute("DELETE FROM rules WHERE name = ?", (name,))

    # -------------------------------------------------------------- decisions

    def decide(self, rule: Rule, matches: list[Match], render: Any, *, watermark: str,
               now: datetime, digest_day: str | None = None) -> int:
        """For each recipient, the stories not yet sent: ledger rows and the mail carrying
        them, in one transaction (so a crash leaves either both or neither). Returns how
        many mails were queued. The rule's watermark moves in the same transaction."""
        queued = 0
        stamp = now.isoformat()
        with self.transaction() as db:
            for recipient in rule.emails:
                sent = _ledgered(db, rule.name, recipient, [m.cluster for m in matches])
                fresh = [m for m in matches if m.cluster not in sent]
                parts = [fresh[i:i + MAIL_STORIES] for i in range(0, len(fresh), MAIL_STORIES)]
                for number, part in enumerate(parts, start=1):
                    mail_id = f"{rule.name}|{recipient}|{stamp}" + (f"|{number}" if len(parts) > 1 else "")
                    message = render(rule, recipient, part, mail_id, (number, len(parts)))
                    db.executemany("INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?)",
                                   [(rule.name, recipient, m.cluster, m.article_id, mail_id, stamp)
                                    for m in part])
                    db.execute("INSERT INTO mails (mail_id, alert, recipient, message, created_at, next_try) "
                               "VALUES (?, ?, ?, ?, ?, ?)",
                               (mail_id, rule.name, recipient, message, stamp, stamp))
                    queued += 1
            db.execute("UPDATE rules SET watermark = ?, last_digest = COALESCE(?, last_digest) "
                       "WHERE name = ?", (watermark, digest_day, rule.name))
        return queued

    def due_mails(self, now: datetime) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM mails WHERE sent_at IS NULL AND next_try <= ? "
                               "ORDER BY created_at", (now.isoformat(),)).fetchall()

    def pending_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM mails WHERE sent_at IS NULL").fetchone()[0])

    def mark_sent(self, mail_id: str, now: datetime) -> None:
        with self.transaction() as db:
            db.execute("UPDATE mails SET sent_at = ?, last_error = NULL WHERE mail_id = ?",
                       (now.isoformat(), mail_id))

    def mark_failed(self, mail_id: str, attempts: int, error: str, now: datetime) -> None:
        """Retry later: 1, 2, 4 ... minutes, at most 6 hours."""
        delay = timedelta(minutes=min(2 ** attempts, 360))
        with self.transaction() as db:
            db.execute("UPDATE mails SET attempts = ?, last_error = ?, next_try = ? WHERE mail_id = ?",
                       (attempts + 1, error[:500], (now + delay).isoformat(), mail_id))


def _ledgered(db: sqlite3.Connection, alert: str, recipient: str, clusters: list[str]) -> set[str]:
    """Which of `clusters` this recipient already got from this alert (a query per 500,
    not one per story)."""
    sent: set[str] = set()
    for start in range(0, len(clusters), 500):
        chunk = clusters[start:start + 500]
        marks = ", ".join("?" * len(chunk))  # placeholders only: the values are bound
        query = f"SELECT cluster FROM ledger WHERE alert = ? AND recipient = ? AND cluster IN ({marks})"  # noqa: S608
        sent.update(row[0] for row in db.execute(query, (alert, recipient, *chunk)))
    return sent


def _rule(row: sqlite3.Row) -> Rule:
    return Rule(row["name"], row["query"], json.loads(row["emails"]), json.loads(row["sites"]), row["mode"],
                row["watermark"], row["last_digest"], row["created_at"])


def _valid_address(address: str) -> bool:
    addr = parseaddr(address)[1]
    return addr == address.strip() and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", addr) is not None


# ------------------------------------------------------------------ evaluation


def _rule_search(rule: Rule, since: str, until: str, after: list[Any] | None) -> dict[str, Any]:
    # `gte`: indexing times have millisecond resolution, so an article indexed in the same
    # millisecond a rule was added must count (a repeat is removed by the ledger).
    filters: list[dict[str, Any]] = [{"range": {"indexed_at": {"gte": since, "lte": until}}}]
    if rule.sites:
        filters.append({"terms": {"site": rule.sites}})
    body: dict[str, Any] = {
        "size": PAGE_SIZE,
        "query": {"bool": {"must": [compile_query(rule.query)], "filter": filters}},
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
                more += _evaluate_chunk(es, index, pending[start:start + _MSEARCH_CHUNK], until, found)
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


def _evaluate_chunk(es: Elasticsearch, index: str, chunk: list[tuple[Rule, list[Any] | None]],
                    until: datetime, found: dict[str, Evaluation]) -> list[tuple[Rule, list[Any] | None]]:
    """One msearch; returns the rules that have another page to fetch."""
    searches: list[dict[str, Any]] = []
    for rule, after in chunk:
        since = datetime.fromisoformat(rule.watermark) - OVERLAP
        if rule.created_at:  # never what was indexed before the alert existed
            since = max(since, datetime.fromisoformat(rule.created_at))
        searches += [{"index": index}, _rule_search(rule, since.isoformat(), until.isoformat(), after)]
    responses = es.msearch(searches=searches, filter_path=_MSEARCH_FIELDS)["responses"]
    more: list[tuple[Rule, list[Any] | None]] = []
    for (rule, _), response in zip(chunk, responses, strict=True):
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


def enrich(es: Elasticsearch, prefix: str, matches: list[Match],
           details: Details | None = None) -> list[Match]:
    """Fill in what a mail shows (title, site, date, link, text, other copies) for the
    stories about to be sent: one mget and one search for what `details` does not hold yet,
    instead of fetching it for every candidate of every rule."""
    if not matches:
        return matches
    details = details if details is not None else Details()
    index = alias_name(prefix)
    missing = [m.article_id for m in matches if m.article_id not in details.docs]
    if missing:
        found = es.mget(index=index, ids=list(dict.fromkeys(missing)),
                        source=["url", "site", "title", "published", "text"])["docs"]
        details.docs.update({d["_id"]: d["_source"] if d.get("found") else {} for d in found})
    clusters = sorted({m.cluster for m in matches} - details.copies.keys())
    if clusters:
        for cluster in clusters:
            details.copies[cluster] = []
        hits = es.search(index=index, size=min(10_000, 20 * len(clusters)),
                         source_includes=["url", "site", "cluster"],
                         query={"terms": {"cluster": clusters}}, sort=[{"indexed_at": "asc"}])["hits"]["hits"]
        for hit in hits:
            details.copies[hit["_source"]["cluster"]].append(
                {"id": hit["_id"], "url": hit["_source"]["url"], "site": hit["_source"]["site"]})
    for match in matches:
        src = details.docs.get(match.article_id, {})
        match.url, match.site, match.title = src.get("url", ""), src.get("site", ""), src.get("title", "")
        match.published, match.text = src.get("published"), src.get("text", "")
        match.also = [{"url": c["url"], "site": c["site"]} for c in details.copies[match.cluster]
                      if c["id"] != match.article_id]
    return matches


def digest_due(rule: Rule, now: datetime, at: time) -> str | None:
    """The local day whose digest is due now (at or after `at`, not yet sent), else None."""
    local = now.astimezone(VN_TZ)
    day = local.date().isoformat()
    if local.time() >= at and (rule.last_digest or "") < day:
        return day
    return None
