"""Stage 4: write articles to Elasticsearch in batches with the bulk helper.

What Elasticsearch does not acknowledge is never lost: a batch it cannot take (unreachable,
refusing writes) and every item it rejects with a retryable status (429, 5xx, a write
block) go to the journal (`pipelines/journal.py`), replayed by the next crawl before it
fetches anything; an item it rejects for good (a mapping error) is kept in
`spool/rejected.jsonl` and the crawl says so.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ApiError, Elasticsearch, helpers
from elasticsearch import ConnectionError as ESConnectionError
from scrapy.crawler import Crawler

from config.settings import Settings, get_settings
from pipelines.dedup import NEAR_WINDOW_DAYS, Recent, merge_late_copies, resolve
from pipelines.journal import Journal
from search import schema
from search.alerts.ledger import follow_merges
from search.alerts.store import AlertStore
from search.article import Article, parse_moment
from search.es import make_client
from search.locks import named_lock

log = logging.getLogger(__name__)

BATCH_SIZE = 200
# Sent on the reactor thread after each batch is in Elasticsearch or the journal, with the
# batch's page URLs (`urls`): a backfill remembers its articles as fetched only then.
batch_written = object()
_FIELDS = tuple(schema.MAPPING["properties"])
# Batches from every site's crawler in this process go through one lock, so two
# copies of a story in concurrent batches cannot both be taken for the first one.
_write_lock = threading.Lock()
_ready: set[str] = set()
# First-seen stories this process wrote, per index prefix (see `resolve`).
_recent: dict[str, Recent] = {}
# A long write (a backfill, a bulk load) checks the rollover conditions itself every this many
# new articles, rather than waiting for the hourly job: an index that stops growing stops
# merging, so each article costs what it costs in an index of the layout's size, not in the
# whole archive (bench/archive.py).
ROLLOVER_CHECK = 20_000
_unchecked: dict[str, int] = {}


def _es_source(doc: Article) -> dict[str, Any]:
    return schema.with_matching_fields({k: getattr(doc, k) for k in _FIELDS})


@dataclass
class Written:
    """What one batch came to: counts, and the articles Elasticsearch did not take."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    started: list[str] = field(default_factory=list)  # ids of the articles that started a story
    retry: list[tuple[Article, str]] = field(default_factory=list)  # for the journal
    rejected: list[tuple[Article, str]] = field(default_factory=list)  # for good (mapping errors)
    kept: int = 0  # articles that wait in the journal
    taken: int = 0  # articles Elasticsearch acknowledged (or refused for good)


# Statuses and error types after which the same item will be accepted later: overload,
# server errors, and the write blocks a full disk puts on an index (`index.blocks.write`).
_RETRY_STATUS = frozenset({408, 429})
_BLOCK = ("cluster_block_exception", "index_closed_exception", "unavailable_shards_exception")


def _retryable(status: int, error: Any) -> bool:
    kind = error.get("type", "") if isinstance(error, dict) else str(error)
    return status in _RETRY_STATUS or status >= 500 or any(b in kind for b in _BLOCK)


def write_batch(
    es: Elasticsearch,
    prefix: str,
    docs: list[Article],
    origins: dict[str, str] | None = None,
    window_days: int = NEAR_WINDOW_DAYS,
    *,
    layout: schema.Layout | None = None,
) -> Written:
    """Dedup-resolve and bulk-write one batch. Raises when Elasticsearch cannot be reached
    (the caller keeps the whole batch); items it refuses come back in `retry`/`rejected`.
    With a `layout`, a new write index is started once the current one has reached it."""
    # Milliseconds (the date type's resolution): alerts compare indexing times with the
    # moment a rule was added.
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    index = schema.alias_name(prefix)
    with _write_lock:
        if prefix not in _ready:
            schema.setup(es, prefix)
            _ready.add(prefix)
        decision = resolve(es, index, docs, now, _recent.setdefault(prefix, Recent()), origins, window_days)
        by_id = {d.id: d for d in [*decision.new, *decision.updated]}
        actions = [
            {"_op_type": "create", "_index": index, "_id": d.id, "_source": _es_source(d)}
            for d in decision.new
        ] + [
            # Rewritten where it lives: after a rollover the alias writes to the newest index.
            {
                "_op_type": "index",
                "_index": decision.homes.get(d.id or "", index),
                "_id": d.id,
                "_source": _es_source(d),
            }
            for d in decision.updated
        ]
        written = Written(
            new=len(decision.new),
            updated=len(decision.updated),
            unchanged=decision.unchanged,
            duplicates=decision.duplicates,
        )
        # No refresh per batch (it would wait up to a refresh interval each time); the
        # crawl refreshes once at the end, and `_recent` covers what is not searchable yet.
        # Two bulk requests in flight: Elasticsearch indexes them on two write threads while
        # this process encodes the next (one at a time left a core idle; bench/archive.py:
        # 817-877 articles/s one at a time, 1,028-1,243 two).
        for ok, info in helpers.parallel_bulk(
            es,
            actions,
            thread_count=2,
            queue_size=2,
            chunk_size=BATCH_SIZE,
            raise_on_error=False,
            raise_on_exception=True,
        ):
            if ok:
                continue
            op, item = next(iter(info.items()))
            status, error = int(item.get("status", 0)), item.get("error", "")
            if op == "create" and status == 409:
                continue  # written before (a replay after a crash): acknowledged, not a new article
            written.new -= op == "create"
            written.updated -= op == "index"
            doc = by_id[item.get("_id")]
            reason = (
                f"{status} {error.get('type', '') if isinstance(error, dict) else ''}: "
                f"{error.get('reason', '') if isinstance(error, dict) else error}"
            )
            (written.retry if _retryable(status, error) else written.rejected).append((doc, reason))
            log.error("Elasticsearch refused %s (%s)", doc.url, reason)
        if layout is not None:
            _roll_over_when_due(es, prefix, layout, written.new)
    failed = {id(doc) for doc, _ in written.retry + written.rejected}
    written.started = [d.id for d in decision.new if d.duplicate_of is None and d.id and id(d) not in failed]
    return written


def _roll_over_when_due(es: Elasticsearch, prefix: str, layout: schema.Layout, new: int) -> None:
    """Every ROLLOVER_CHECK new articles, start a new write index if the layout says the
    current one is full (under the write lock: no batch of this process is half written)."""
    _unchecked[prefix] = _unchecked.get(prefix, 0) + new
    if _unchecked[prefix] < ROLLOVER_CHECK:
        return
    _unchecked[prefix] = 0
    try:
        answer = schema.rollover(es, prefix, layout)
    except ApiError as exc:  # the hourly job tries again; the articles are written
        log.warning("rollover not checked (%s)", exc)
        return
    if answer.get("rolled_over"):
        log.info("article index %s is full: new articles go to %s", answer["old_index"], answer["new_index"])


# One replay of the journal per process and data directory, however many spiders open.
_replay_lock = threading.Lock()
_replayed: set[str] = set()


class IndexPipeline:
    """Buffers articles and writes them in batches, off the reactor thread: Elasticsearch,
    the journal and the rejected file are only touched from the thread pool, and the
    reactor thread only records what a batch came to."""

    def __init__(self, crawler: Crawler, settings: Settings) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.settings = settings
        self.layout = schema.Layout.of(settings)  # when a long write starts the next index
        # Registry sites by the words a copy may name them with (see dedup `_named_in_words`).
        self.origins: dict[str, str] = dict(crawler.settings.getdict("NEWSMON_ORIGINS"))
        self.journal = Journal(settings.spool_dir, settings.shared_state)
        self.buffer: list[Article] = []
        self.started: list[str] = []  # stories this crawl started: re-checked at its end
        self.lock = asyncio.Lock()
        self.es: Elasticsearch | None = None
        # A backfill's start: what it finds published before is history (`Article.backfill`).
        backfill = crawler.settings.getdict("NEWSMON_BACKFILL")
        self.history_before = datetime.fromisoformat(backfill["started_at"]) if backfill else None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IndexPipeline:
        """newsmon's settings as the crawl runner passed them, else this process's."""
        return cls(crawler, crawler.settings.get("NEWSMON_SETTINGS") or get_settings())

    async def open_spider(self) -> None:
        """Connect, and index what earlier crawls had to keep in the journal."""
        self.es = make_client(self.settings)
        for written in await asyncio.get_running_loop().run_in_executor(None, self._replay):
            self._record(written)
            self.stats.inc_value("newsmon/replayed", written.taken)
        if self.journal.damaged_found:
            self.stats.inc_value("newsmon/errors/journal_damaged", self.journal.damaged_found)

    def _replay(self) -> list[Written]:
        """The journal's articles, written batch by batch; a row goes once acknowledged."""
        key = self.settings.shared_state or str(self.settings.spool_dir)
        done: list[Written] = []
        with _replay_lock:
            if key in _replayed:
                return done
            _replayed.add(key)
            # One replayer at a time across processes (and machines, sharing the journal): a
            # second would write the same articles again as they are being removed.
            lock = named_lock(
                "journal:replay", self.settings.spool_dir / "replay.lock", self.settings.shared_state
            )
            if not lock.acquire():
                log.info("another process is replaying the journal")
                return done
            try:
                for rows in self.journal.batches(BATCH_SIZE):
                    docs = [doc for _, doc in rows]
                    written = self._write_or_keep(docs, journalled=True)
                    if written.kept == len(docs):
                        log.warning("journal not replayed; its articles wait for the next crawl")
                        break
                    waiting = {id(doc) for doc, _ in written.retry}
                    self.journal.remove([row for row, doc in rows if id(doc) not in waiting])
                    done.append(written)
            finally:
                lock.release()
        return done

    async def process_item(self, item: Article) -> Article:
        """Buffer the article; a full buffer is written as one batch."""
        if self.history_before is not None:
            published = parse_moment(item.published)
            item.backfill = published is None or published < self.history_before
        self.buffer.append(item)
        if len(self.buffer) >= BATCH_SIZE:
            await self.flush()
        return item

    async def close_spider(self) -> None:
        """Write the last batch and make the crawl's articles searchable."""
        await self.flush()
        loop = asyncio.get_running_loop()
        if self.es is not None:
            try:
                await loop.run_in_executor(None, self._refresh)
                merged = await loop.run_in_executor(None, self._merge_late_copies)
                self.stats.inc_value("newsmon/merged", merged)
            except (ESConnectionError, ApiError, helpers.BulkIndexError) as exc:
                log.warning("could not finish the crawl's index work: %s", type(exc).__name__)
            self.es.close()
        self.stats.set_value("newsmon/journal_waiting", self.journal.count())
        self.journal.close()

    def _merge_late_copies(self) -> int:
        """Stories another crawl started at the same time are one story (see dedup); returns
        how many were merged."""
        if not self.started or self.es is None:
            return 0
        with _write_lock:
            merges = merge_late_copies(self.es, schema.alias_name(self.settings.index_prefix), self.started)
        if merges:
            store = AlertStore.of(self.settings)
            try:
                follow_merges(store.db, merges)
            finally:
                store.close()
        return len(merges)

    def _refresh(self) -> None:
        """Make this crawl's articles searchable as soon as the command returns."""
        assert self.es is not None
        if self.settings.index_prefix in _ready:
            self.es.indices.refresh(index=schema.alias_name(self.settings.index_prefix))

    async def flush(self) -> None:
        """Write the buffer; what Elasticsearch does not take goes to the journal (or, refused
        for good, to the rejected file)."""
        async with self.lock:
            batch, self.buffer = self.buffer, []
            if batch:
                loop = asyncio.get_running_loop()
                self._record(await loop.run_in_executor(None, self._write_or_keep, batch))
                self.crawler.signals.send_catch_log(batch_written, urls=[doc.url for doc in batch])

    def _write_or_keep(self, docs: list[Article], journalled: bool = False) -> Written:
        """In a pool thread: write `docs`; keep in the journal what Elasticsearch did not take
        (unless they are journalled already), list what it refused for good."""
        assert self.es is not None
        try:
            written = write_batch(
                self.es,
                self.settings.index_prefix,
                docs,
                self.origins,
                self.settings.dedup_window_days,
                layout=self.layout,
            )
        except (ESConnectionError, ApiError, helpers.BulkIndexError) as exc:
            reason = type(exc).__name__
            if not isinstance(exc, ESConnectionError):
                reason += f": {exc}"
            written = Written(retry=[(doc, reason) for doc in docs])
        written.taken = len(docs) - len(written.retry)
        for doc, reason in written.rejected:
            self.journal.reject(doc, reason)
        if written.retry and not journalled:
            self.journal.append([doc for doc, _ in written.retry], written.retry[0][1])
        if written.retry:
            written.kept = len(written.retry)
            log.error(
                "Elasticsearch did not take %d articles (%s); they are kept in %s",
                written.kept,
                written.retry[0][1][:200],
                self.journal.directory,
            )
        return written

    def _record(self, written: Written) -> None:
        """On the reactor thread: what a batch came to, in the crawl's statistics."""
        self.started += written.started
        for key in ("new", "updated", "unchanged", "duplicates"):
            self.stats.inc_value(f"newsmon/{key}", getattr(written, key))
        if written.kept:
            self.stats.inc_value("newsmon/spooled", written.kept)
        if written.rejected:
            self.stats.inc_value("newsmon/errors/rejected", len(written.rejected))
