"""Stage 4: write articles to Elasticsearch in batches with the bulk helper.

If Elasticsearch cannot be reached, the batch is appended to the spool
(`$NEWSMON_DATA_DIR/spool/articles.jsonl`) and indexed at the start of the next run:
an outage never loses an article.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elasticsearch import ApiError, Elasticsearch, helpers
from elasticsearch import ConnectionError as ESConnectionError
from scrapy.crawler import Crawler

from config.settings import Settings, get_settings
from pipelines.dedup import Recent, resolve
from search import schema
from search.article import Article
from search.es import make_client

log = logging.getLogger(__name__)

BATCH_SIZE = 200
_FIELDS = tuple(schema.MAPPING["properties"])
# Batches from every site's crawler in this process go through one lock, so two
# copies of a story in concurrent batches cannot both be taken for the first one.
_write_lock = threading.Lock()
_ready: set[str] = set()
# First-seen stories this process wrote, per index prefix (see `resolve`).
_recent: dict[str, Recent] = {}


class Spool:
    """Articles waiting for Elasticsearch, one JSON document per line."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "articles.jsonl"

    def append(self, docs: list[Article]) -> None:
        """Add articles at the end of the spool."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            for doc in docs:
                fh.write(json.dumps(doc.to_dict(), ensure_ascii=False) + "\n")

    def take(self) -> list[Article]:
        """Read and remove the spooled articles (the caller re-spools what fails again)."""
        if not self.path.exists():
            return []
        taking = self.path.with_suffix(".taking")
        self.path.rename(taking)
        docs = [Article.from_dict(json.loads(line))
                for line in taking.read_text(encoding="utf-8").splitlines() if line]
        taking.unlink()
        return docs


def _es_source(doc: Article) -> dict[str, Any]:
    return schema.with_matching_fields({k: getattr(doc, k) for k in _FIELDS})


def write_batch(es: Elasticsearch, prefix: str, docs: list[Article]) -> dict[str, int]:
    """Dedup-resolve and bulk-write one batch; returns outcome counts."""
    # Milliseconds (the date type's resolution): alerts compare indexing times with the
    # moment a rule was added.
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    index = schema.alias_name(prefix)
    with _write_lock:
        if prefix not in _ready:
            schema.setup(es, prefix)
            _ready.add(prefix)
        decision = resolve(es, index, docs, now, _recent.setdefault(prefix, Recent()))
        actions = [
            {"_op_type": "create", "_index": index, "_id": d.id, "_source": _es_source(d)}
            for d in decision.new
        ] + [
            {"_op_type": "index", "_index": index, "_id": d.id, "_source": _es_source(d)}
            for d in decision.updated
        ]
        errors = {"create": 0, "index": 0}
        # No refresh per batch (it would wait up to a refresh interval each time); the
        # crawl refreshes once at the end, and `_recent` covers what is not searchable yet.
        for ok, info in helpers.streaming_bulk(es, actions, raise_on_error=False, raise_on_exception=True,
                                               chunk_size=BATCH_SIZE):
            if not ok:
                errors[next(iter(info))] += 1
                log.error("indexing failed: %s", info)
    return {"new": len(decision.new) - errors["create"], "updated": len(decision.updated) - errors["index"],
            "unchanged": decision.unchanged, "duplicates": decision.duplicates,
            "index_errors": sum(errors.values())}


class IndexPipeline:
    """Buffers articles and writes them in batches, off the reactor thread."""

    def __init__(self, crawler: Crawler, settings: Settings) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.settings = settings
        self.spool = Spool(settings.spool_dir)
        self.buffer: list[Article] = []
        self.lock = asyncio.Lock()
        self.es: Elasticsearch | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IndexPipeline:
        """newsmon's settings as the crawl runner passed them, else this process's."""
        return cls(crawler, crawler.settings.get("NEWSMON_SETTINGS") or get_settings())

    async def open_spider(self) -> None:
        """Connect, and take back what an earlier crawl had to spool."""
        self.es = make_client(self.settings)
        self.buffer.extend(self.spool.take())

    async def process_item(self, item: Article) -> Article:
        """Buffer the article; a full buffer is written as one batch."""
        self.buffer.append(item)
        if len(self.buffer) >= BATCH_SIZE:
            await self.flush()
        return item

    async def close_spider(self) -> None:
        """Write the last batch and make the crawl's articles searchable."""
        await self.flush()
        if self.es is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(None, self._refresh)
            except (ESConnectionError, ApiError) as exc:
                log.warning("could not refresh the index at the end of the crawl: %s", exc)
            self.es.close()

    def _refresh(self) -> None:
        """Make this crawl's articles searchable as soon as the command returns."""
        assert self.es is not None
        if self.settings.index_prefix in _ready:
            self.es.indices.refresh(index=schema.alias_name(self.settings.index_prefix))

    async def flush(self) -> None:
        """Write the buffer: dedup decision and bulk write, or the spool when that fails."""
        async with self.lock:
            batch, self.buffer = self.buffer, []
            if not batch:
                return
            loop = asyncio.get_running_loop()
            try:
                counts = await loop.run_in_executor(None, self._write, batch)
            except (ESConnectionError, ApiError, helpers.BulkIndexError) as exc:
                # Never lose an article: whatever went wrong, the batch waits in the spool.
                self.spool.append(batch)
                self.stats.inc_value("newsmon/spooled", len(batch))
                log.error("Elasticsearch failed (%s: %s); %d articles kept in %s",
                          type(exc).__name__, exc, len(batch), self.spool.path)
                return
            for key, value in counts.items():
                self.stats.inc_value(f"newsmon/{key}", value)

    def _write(self, batch: list[Article]) -> dict[str, int]:
        assert self.es is not None
        return write_batch(self.es, self.settings.index_prefix, batch)
