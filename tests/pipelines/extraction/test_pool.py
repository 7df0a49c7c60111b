"""Pages handed to the extraction processes in batches: each page gets its own outcome,
and a dead worker costs only the pages it held, never the rest of the crawl."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import pytest

from pipelines.extraction import pool as extract
from pipelines.extraction.pool import ExtractionError, PageBatches
from tests.support import SAMPLE_SITES

SAMPLES = SAMPLE_SITES / "congdoan-mau"
ARTICLE = next((SAMPLES / "quan-he-lao-dong").glob("cong-doan-det-may-*-651300.htm"))
CONTACT = SAMPLES / "lien-he.html"


@pytest.fixture(autouse=True)
def own_pool() -> Iterator[None]:
    """Each test starts without a pool and leaves none running."""
    extract._pool = None
    yield
    if extract._pool is not None:
        extract._pool.shutdown(cancel_futures=True)
        extract._pool = None


async def _outcomes(batches: PageBatches, pages: list[tuple[Any, str]]) -> list[Any]:
    return await asyncio.gather(
        *(batches.extract(body, url, "text/html; charset=utf-8", None) for body, url in pages),
        return_exceptions=True,
    )


def test_each_page_of_a_batch_gets_its_own_outcome() -> None:
    article, contact = ARTICLE.read_bytes(), CONTACT.read_bytes()
    pages = [
        (article, "http://congdoan.example.vn/a-651300.htm"),
        (contact, "http://congdoan.example.vn/lien-he"),
        (None, "http://congdoan.example.vn/broken-651301.htm"),
    ]  # no body: the extractor raises
    # 3 pages, batches of 2: one batch dispatched when full, the last page by the timer.
    results = asyncio.run(_outcomes(PageBatches(None, size=2), pages))
    assert results[0].title.startswith("Công đoàn Dệt may đối thoại")
    assert results[0].url == pages[0][1]
    assert results[0].minhash  # the later stages' fields come back with the article
    assert results[0].text_fold
    assert results[1] is None  # the contact page is no article
    assert isinstance(results[2], ExtractionError)
    assert "TypeError" in str(results[2])


def test_a_killed_worker_fails_only_its_pages_and_the_next_pages_get_a_new_pool() -> None:
    article = ARTICLE.read_bytes()
    pages = [(article, f"http://congdoan.example.vn/a-{n}.htm") for n in range(64)]

    async def scenario() -> tuple[list[Any], list[Any]]:
        batches = PageBatches(None, size=64)
        held = asyncio.gather(
            *(batches.extract(body, url, None, None) for body, url in pages), return_exceptions=True
        )
        await asyncio.sleep(0)  # the 64th page fills the batch: it is in the pool now
        pool = extract._pool
        assert pool is not None
        for pid in list(pool._processes):  # a page that crashes the parser kills its worker
            os.kill(pid, signal.SIGKILL)
        lost = await held
        assert extract._pool is not pool  # the broken pool was let go
        return lost, await _outcomes(batches, pages[:3])

    lost, after = asyncio.run(scenario())
    assert all(isinstance(result, BrokenProcessPool) for result in lost)
    assert [result.url for result in after] == [url for _, url in pages[:3]]


def test_a_young_sites_last_few_pages_wait_for_the_lines_the_batch_before_them_finds() -> None:
    hotline = "Đường dây nóng bảo vệ quyền lợi đoàn viên, người lao động: 1900 1234 (miễn phí)."
    html = (
        "<html><head><meta charset='utf-8'><title>Bài số {n}</title></head><body><article>"
        "<h1>Bài số {n}: công đoàn chăm lo cho người lao động</h1><div>{body}<p>{line}</p>"
        "</div></article></body></html>"
    )

    def page(n: int) -> tuple[bytes, str]:
        body = "".join(
            f"<p>Đoạn {i} của bài số {n}: công đoàn cơ sở chăm lo đời sống đoàn viên, người "
            f"lao động, tổ chức đối thoại định kỳ tại doanh nghiệp trong quý {n}.</p>"
            for i in range(3)
        )
        return html.format(
            n=n, body=body, line=hotline
        ).encode(), f"https://cd.example.vn/bai-{n}-100{n}.html"

    async def scenario() -> list[Any]:
        # The crawl has nothing more on its way: the last three pages would go out at once,
        # three pages that cannot show a line shared, while the first eight are still in a
        # pool that is starting up.
        batches = PageBatches(None, size=8, quiet=lambda: True)
        batches.learning = True
        return await _outcomes(batches, [page(n) for n in range(11)])

    results = asyncio.run(scenario())
    assert all(result is not None and not isinstance(result, Exception) for result in results)
    assert [n for n, result in enumerate(results) if "Đường dây nóng" in result.text] == []


def _imported_by_then() -> set[str]:
    import sys

    return set(sys.modules)


def test_a_worker_starts_with_everything_its_tasks_import() -> None:
    """The fork server imports what a task needs once; a worker that imported it again on
    its first task paid half a second of CPU, in every worker of every crawl."""
    first_task = extract.extraction_pool().submit(_imported_by_then).result(timeout=60)
    assert set(extract.PRELOADED) <= first_task
    assert "datasketch.minhash" in first_task
