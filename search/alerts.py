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
from zoneinfo import ZoneInfo

from elasticsearch import Elasticsearch, NotFoundError

from search.index import alias_name
from search.query import compile_query, matching_forms, parse
from search.search import snippet

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MODES = ("instant", "daily")
DIGEST_AT = time(7, 0)
OVERLAP = timedelta(minutes=10)
MAX_PER_RULE = 1000  # stories per rule and run (more than that within the overlap would repeat)
_MSEARCH_CHUNK = 100
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

    def rules(self, mode: str | None = None) -> list[Rule]:
        rows = self.db.execute("SELECT * FROM rules ORDER BY name").fetchall()
        return [r for r in map(_rule, rows) if mode is None or r.mode == mode]

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
                fresh = [m for m in matches if not db.execute(
                    "SELECT 1 FROM ledger WHERE alert = ? AND recipient = ? AND cluster = ?",
                    (rule.name, recipient, m.cluster)).fetchone()]
                if fresh:
                    mail_id = f"{rule.name}|{recipient}|{stamp}"
                    message = render(rule, recipient, fresh, mail_id)
                    db.executemany("INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?)",
                                   [(rule.name, recipient, m.cluster, m.article_id, mail_id, stamp)
                                    for m in fresh])
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


def _rule(row: sqlite3.Row) -> Rule:
    return Rule(row["name"], row["query"], json.loads(row["emails"]), json.loads(row["sites"]), row["mode"],
                row["watermark"], row["last_digest"], row["created_at"])


def _valid_address(address: str) -> bool:
    addr = parseaddr(address)[1]
    return addr == address.strip() and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", addr) is not None


# ------------------------------------------------------------------ evaluation


def _rule_search(rule: Rule, since: str, until: str) -> dict[str, Any]:
    filters: list[dict[str, Any]] = [{"range": {"indexed_at": {"gt": since, "lte": until}}}]
    if rule.sites:
        filters.append({"terms": {"site": rule.sites}})
    return {
        "size": MAX_PER_RULE,
        "query": {"bool": {"must": [compile_query(rule.query)], "filter": filters}},
        "sort": [{"indexed_at": "asc"}],
        "_source": ["cluster", "indexed_at"],
        "collapse": {"field": "cluster"},
    }


@dataclass
class Evaluation:
    """A rule's matches and the watermark to record once they are decided."""

    matches: list[Match]
    watermark: str


def evaluate(es: Elasticsearch, prefix: str, rules: list[Rule], until: datetime) -> dict[str, Evaluation]:
    """Matching stories per rule, indexed after its watermark (minus the overlap) and up to
    `until`; one msearch per chunk of rules. When a rule has more than `MAX_PER_RULE`
    stories, its watermark stops at the last one taken and the next run goes on."""
    index = alias_name(prefix)
    found = {r.name: Evaluation([], until.isoformat()) for r in rules}
    if not rules:
        return found
    try:
        es.indices.refresh(index=index)
    except NotFoundError:
        return found
    for start in range(0, len(rules), _MSEARCH_CHUNK):
        chunk = rules[start:start + _MSEARCH_CHUNK]
        searches: list[dict[str, Any]] = []
        for rule in chunk:
            since = datetime.fromisoformat(rule.watermark) - OVERLAP
            if rule.created_at:  # never what was indexed before the alert existed
                since = max(since, datetime.fromisoformat(rule.created_at))
            searches += [{"index": index}, _rule_search(rule, since.isoformat(), until.isoformat())]
        responses = es.msearch(searches=searches)["responses"]
        for rule, response in zip(chunk, responses, strict=True):
            if "error" in response:
                raise RuntimeError(f"alert {rule.name!r}: Elasticsearch refused the search: "
                                   f"{response['error']}")
            forms = matching_forms(rule.query)
            hits = response["hits"]["hits"]
            if len(hits) == MAX_PER_RULE:
                found[rule.name].watermark = hits[-1]["_source"]["indexed_at"]
            found[rule.name].matches += [Match(h["_id"], h["_source"]["cluster"], forms) for h in hits]
    return found


def enrich(es: Elasticsearch, prefix: str, matches: list[Match]) -> list[Match]:
    """Fill in what a mail shows (title, site, date, link, text, other copies) for the
    stories about to be sent: one mget and one search, instead of fetching it for every
    candidate of every rule."""
    if not matches:
        return matches
    index = alias_name(prefix)
    docs = {d["_id"]: d["_source"] for d in es.mget(
        index=index, ids=[m.article_id for m in matches],
        source=["url", "site", "title", "published", "text"])["docs"] if d.get("found")}
    copies = es.search(index=index, size=min(10_000, 20 * len(matches)), source=["url", "site", "cluster"],
                       query={"terms": {"cluster": sorted({m.cluster for m in matches})}},
                       sort=[{"indexed_at": "asc"}])["hits"]["hits"]
    for match in matches:
        src = docs.get(match.article_id, {})
        match.url, match.site, match.title = src.get("url", ""), src.get("site", ""), src.get("title", "")
        match.published, match.text = src.get("published"), src.get("text", "")
        match.also = [{"url": c["_source"]["url"], "site": c["_source"]["site"]} for c in copies
                      if c["_source"]["cluster"] == match.cluster and c["_id"] != match.article_id]
    return matches


def digest_due(rule: Rule, now: datetime, at: time = DIGEST_AT) -> str | None:
    """The local day whose digest is due now (at or after `at`, not yet sent), else None."""
    local = now.astimezone(VN_TZ)
    day = local.date().isoformat()
    if local.time() >= at and (rule.last_digest or "") < day:
        return day
    return None
