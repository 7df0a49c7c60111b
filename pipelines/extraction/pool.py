"""Extraction off the reactor: pages go, a few at a time, to a fork-server process pool.

Extraction is CPU-bound; the crawl's reactor thread only fetches and routes. A worker that
dies (a page that crashes the parser) fails only its batch; the next pages get a new pool.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any

from pipelines.extraction import PARENT_VARIABLE
from pipelines.extraction.page import extract_page, for_index, work_budget
from pipelines.extraction.profile import MIN_PAGES, shared_lines
from pipelines.extraction.siterules import ExtractRules
from search import textnorm
from search.article import Article

# body, url, content type, hint date, the bodies of the pages a split article continues on
Page = tuple[bytes, str | None, str | None, str | None, tuple[bytes, ...]]


def extract_batch(
    pages: list[Page],
    rules: ExtractRules | dict[str, Any] | None = None,
    boilerplate: frozenset[str] = frozenset(),
    learn: bool = False,
) -> tuple[list[tuple[bool, Any]], frozenset[str]]:
    """`extract_page` then `for_index` over several pages of one site in one worker task:
    `(True, article or None)` per page, or `(False, "Error: message")` for a page that
    raised. While the site's profile is young (`learn`), lines the batch's pages share are
    left out as the site's (`shared_lines`), so its first pages lose its template lines
    too; those lines' keys are returned with the results, for the profile to learn."""
    results: list[tuple[bool, Any]] = []
    for body, url, content_type, hint_date, parts in pages:
        try:
            with work_budget():
                results.append(
                    (True, extract_page(body, url, content_type, hint_date, rules=rules, parts=parts))
                )
        except Exception as exc:  # noqa: BLE001 - one bad page must not fail its batch
            results.append((False, f"{type(exc).__name__}: {exc}"))
    articles = [article for ok, article in results if ok and article is not None]
    shared: frozenset[str] = frozenset()
    if learn and len(articles) >= MIN_PAGES:  # fewer pages can never share a line often enough
        shared = shared_lines([textnorm.fold(a.text or "") for a in articles])
    template = boilerplate | shared
    for i, (ok, article) in enumerate(results):
        if ok and article is not None:
            try:
                results[i] = (True, for_index(article, template))
            except Exception as exc:  # noqa: BLE001 - one bad page must not fail its batch
                results[i] = (False, f"{type(exc).__name__}: {exc}")
    return results, shared


_pool: ProcessPoolExecutor | None = None
PRELOADED = (
    "pipelines.extraction.lifeline",
    "pipelines.extraction.page",
    "pipelines.extraction.pool",
    "datasketch",
)


def extraction_pool() -> ProcessPoolExecutor:
    """One process pool per crawl process, shared by every site's spider."""
    global _pool
    if _pool is None:
        workers = max(1, min(os.cpu_count() or 2, 4))
        # A fork server imports the extractor once and forks clean workers from it: no fork
        # of the threaded reactor process, and no second import per worker (as spawn would).
        context = multiprocessing.get_context("forkserver")
        # Everything a task uses is imported there: datasketch (with SciPy, for the dedup
        # signatures) and the pool module itself were imported by each worker on its first
        # task, 0.45 s of CPU a worker.
        context.set_forkserver_preload(list(PRELOADED))
        # The fork server checks its parent is still this process (pipelines/extraction/lifeline.py).
        os.environ[PARENT_VARIABLE] = str(os.getpid())
        _pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_start)
    return _pool


def _worker_start() -> None:
    """In each worker: die with the fork server (which dies with the crawl)."""
    from pipelines.extraction.lifeline import SERVER_PID, die_with_parent

    die_with_parent(SERVER_PID)


def _discard_pool(pool: ProcessPoolExecutor) -> None:
    """A worker died (a page crashed the parser): the next batch gets a new pool."""
    global _pool
    if _pool is pool:
        _pool = None
        pool.shutdown(wait=False, cancel_futures=True)


class ExtractionError(Exception):
    """A page the extractor raised on (the message names the error)."""


class PageBatches:
    """Pages go to the pool a few at a time: one task per page cost about 0.2 ms of
    hand-off (pickling, queues, wake-ups) across the two processes, a batch of `size` costs
    that once. A page waits at most `wait` seconds for company, so a slow, polite crawl
    still hands each page on at once."""

    # While a site's profile is young (`learning`), pages wait for a full batch, so its first
    # pages are read together and lose the lines they share (`extract_batch`): up to
    # HOLD_MAX seconds, or until `quiet()` says no more pages are on their way. Too few pages
    # to share a line wait, besides, for the batches already in the pool: the lines those
    # find go with them (up to HOLD_LIMIT seconds; a batch's work is bounded well below).
    HOLD_MAX = 5.0
    HOLD_LIMIT = 60.0
    HOLD_CHECK = 0.05

    def __init__(
        self,
        rules: ExtractRules | dict[str, Any] | None,
        size: int = 8,
        wait: float = 0.002,
        quiet: Callable[[], bool] | None = None,
    ) -> None:
        self.rules, self.size, self.wait, self.quiet = rules, size, wait, quiet
        self.boilerplate: frozenset[str] = frozenset()  # the site's template lines (profile.py)
        self.learning = False
        self.learnt: frozenset[str] = frozenset()  # template lines batches found (extract_batch)
        self.pending: list[tuple[Page, asyncio.Future[Any]]] = []
        self.timer: asyncio.TimerHandle | None = None
        self.in_flight = 0  # batches in the pool, not yet settled

    async def extract(
        self,
        body: bytes,
        url: str | None,
        content_type: str | None,
        hint_date: str | None,
        parts: tuple[bytes, ...] = (),
    ) -> Article | None:
        """The page's article (None when it is no article); ExtractionError if it raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Article | None] = loop.create_future()
        self.pending.append(((body, url, content_type, hint_date, parts), future))
        if len(self.pending) >= self.size:
            self.dispatch()
        elif self.timer is None and self.learning:
            self.timer = loop.call_later(self.HOLD_CHECK, self._hold, loop.time())
        elif self.timer is None:
            self.timer = loop.call_later(self.wait, self.dispatch)
        return await future

    def _hold(self, since: float) -> None:
        """Dispatch the held pages once the batch is full, the site's crawl has nothing more
        on its way, or HOLD_MAX has passed, and no batch whose lines they need is still in
        the pool; otherwise look again shortly."""
        loop = asyncio.get_running_loop()
        self.timer = None
        held = loop.time() - since
        # A batch too small to share a line would go out knowing none of the template: the
        # batches in the pool may be about to learn it (a race a loaded machine loses).
        awaiting = self.in_flight > 0 and len(self.pending) < MIN_PAGES and held < self.HOLD_LIMIT
        quiet = self.quiet is not None and self.quiet()
        if not self.learning or (not awaiting and (quiet or held >= self.HOLD_MAX)):
            self.dispatch()
        elif self.pending:
            self.timer = loop.call_later(self.HOLD_CHECK, self._hold, since)

    def dispatch(self) -> None:
        """Send the pending pages to the pool as one task."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        batch, self.pending = self.pending, []
        if not batch:
            return
        pool = extraction_pool()
        try:
            task = asyncio.wrap_future(
                pool.submit(
                    extract_batch, [page for page, _ in batch], self.rules, self.boilerplate, self.learning
                )
            )
        except BrokenProcessPool as exc:
            _discard_pool(pool)
            for _, future in batch:
                future.set_exception(exc)
            return
        self.in_flight += 1
        task.add_done_callback(partial(self._settle, pool, [future for _, future in batch]))

    def _settle(
        self, pool: ProcessPoolExecutor, futures: list[asyncio.Future[Any]], task: asyncio.Future[Any]
    ) -> None:
        self.in_flight -= 1
        error = BrokenProcessPool("the extraction pool shut down") if task.cancelled() else task.exception()
        if isinstance(error, BrokenProcessPool):
            _discard_pool(pool)
        if error is not None:
            for future in futures:
                if not future.done():
                    future.set_exception(error)
            return
        results, shared = task.result()
        self.learnt |= shared
        self.boilerplate |= shared  # for the batches still held (the pipeline adopts them too)
        for future, (ok, value) in zip(futures, results, strict=True):
            if future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(ExtractionError(value))
