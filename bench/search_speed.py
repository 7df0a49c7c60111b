"""Search latency and bulk indexing throughput on a synthetic Vietnamese corpus.

Generates N articles (default 100,000) from the sample-site generator's sentence templates
with varied provinces, people, numbers, dates and sites (a tenth of them republished
copies with a source line), indexes them through newsmon's own bulk path
(`pipelines.index.write_batch`: dedup resolution, near-duplicate lookup, bulk helper), then
runs a mix of 50 queries (words, phrases, accent-less, OR, negation, site and date
filters, date sort) through `search.search.search` and prints p50/p95/p99 latency.

Needs Elasticsearch (NEWSMON_ES_URL, or the local node `newsmon es start`). The corpus
goes to the index prefix `newsmon-bench-search` and is deleted at the end unless --keep.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import yaml

from config.settings import Settings
from crawler.samples import sitegen
from pipelines.index import write_batch
from pipelines.normalize import normalize_article
from search import textnorm
from search.article import Article
from search.es import make_client
from search.schema import drop_all
from search.search import search

PREFIX = "newsmon-bench-search"
SITES = [f"ldld-{i:02d}" for i in range(40)]
QUERIES = [
    "công đoàn",
    "nợ lương",
    '"nợ lương"',
    "no luong",
    "thưởng Tết",
    "thuong tet",
    '"thỏa ước lao động tập thể"',
    "thoa uoc",
    "an toàn vệ sinh lao động",
    "nhà ở công nhân",
    "đoàn viên -Tết",
    '"khu công nghiệp" -"nhà ở"',
    "Nghệ An OR Thanh Hoá",
    "(Bắc Ninh OR Hải Phòng) đối thoại",
    "hoà giải",
    "hòa giải",
    "thuỷ",
    "Khánh Hoà",
    "bảo hiểm xã hội",
    "bao hiem xa hoi",
    "bữa ăn ca",
    "thời giờ làm thêm",
    '"trao bằng khen"',
    "biểu dương",
    "Nguyễn Văn Hùng",
    "nguyen van hung",
    "Trần Thị Thuỷ",
    "Lê Minh Tuấn OR Phạm Thu Hà",
    "công nhân -lương",
    "doanh nghiệp đơn hàng",
    "đình công",
    "dinh cong",
    "kết nạp đoàn viên mới",
    "quà Tết",
    "Đồng Nai",
    "Bình Dương công nhân",
    "Cần Thơ OR Long An",
    "tiền thuê nhà",
    "tien thue nha",
    '"công đoàn cơ sở"',
]
FILTERED = [  # (query, sites, since, until, sort)
    ("công đoàn", SITES[:1], None, None, "relevance"),
    ("nợ lương", SITES[:3], None, None, "date"),
    ("thưởng Tết", [], "2021-01-01", "2021-06-30", "relevance"),
    ("đoàn viên", [], "2021-11-01", None, "date"),
    ("an toàn", SITES[5:6], "2020-01-01", "2021-12-31", "date"),
    ("nhà ở", [], None, "2020-12-31", "relevance"),
    ("hoà giải", SITES[:10], None, None, "date"),
    ("no luong", [], "2021-06-01", None, "date"),
    ("Nghệ An OR Thanh Hoá", SITES[:5], None, None, "relevance"),
    ("công nhân -lương", [], "2021-01-01", None, "date"),
]


def corpus(count: int, seed: int = 11):
    """Synthetic articles, in batches of 500 (the shape the crawl's index stage sees): each
    paragraph a few random sentences from subject/action/object pools, so unrelated
    articles share phrases but not most of their text; every tenth one republishes an
    earlier article of its batch with a source line (a near-duplicate)."""
    rng = random.Random(seed)
    start = datetime(2021, 12, 8, 8, 0)
    batch = []
    for index in range(count):
        published = start - timedelta(minutes=rng.randrange(0, 3 * 365 * 24 * 60))

        paras = [
            " ".join(sitegen.sentence(rng, published.year) for _ in range(rng.randrange(2, 4)))
            for _ in range(5)
        ]
        site = rng.choice(SITES)
        title = sitegen.sentence(rng, published.year).rstrip(".")
        if index % 10 == 9 and batch:
            origin = batch[rng.randrange(len(batch))]
            title = "[Tin tổng hợp] " + (origin.title or "")
            paras = [*origin.text.split("\n"), "(Nguồn: báo Lao Động)"]
        article = normalize_article(
            Article(
                url=f"https://{site}.example.vn/tin-tuc/bai-{index}.html",
                site=site,
                title=title,
                text="\n".join(paras),
                published=published.isoformat() + "+07:00",
                fetched_at="2021-12-08T09:00:00+00:00",
            ),
            f"{site}.example.vn",
        )
        article.title_norm, article.title_fold = textnorm.normalize(title), textnorm.fold(title)
        article.text_norm, article.text_fold = textnorm.normalize(article.text), textnorm.fold(article.text)
        batch.append(article)
        if len(batch) == 500:
            yield batch
            batch = []
    if batch:
        yield batch


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@contextmanager
def served(prefix: str, sites: list[str]) -> Iterator[http.client.HTTPConnection]:
    """The web app over `prefix`, served by uvicorn in a subprocess (its own CPU time, as in
    `newsmon serve`), and one keep-alive connection to it once it answers."""
    with tempfile.TemporaryDirectory() as tmp:
        registry = Path(tmp) / "sites.yaml"
        registry.write_text(
            yaml.safe_dump({"sites": [{"name": s, "url": f"https://{s}.example.vn/"} for s in sites]}),
            encoding="utf-8",
        )
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {
            **os.environ,
            "NEWSMON_INDEX_PREFIX": prefix,
            "NEWSMON_CONFIG": str(registry),
            "NEWSMON_DATA_DIR": tmp,
        }
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "crawler.web:from_environment",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        server = subprocess.Popen(command, env=env)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    connection.request("GET", "/api/sites")
                    connection.getresponse().read()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    connection.close()
                    time.sleep(0.2)
            yield connection
        finally:
            connection.close()
            server.terminate()
            server.wait(timeout=30)


def http_latencies(
    mix: list, rounds: int, prefix: str = PREFIX, sites: list[str] = SITES
) -> dict[bool, list[float]]:
    """Each query of the mix through GET /api/search of the served web app, after a warm-up
    round: without facets (the API's default) and with them (what the search page asks for)."""
    with served(prefix, sites) as connection:
        paths = []
        for query, chosen, since, until, sort in mix:
            params = [("q", query), *[("site", s) for s in chosen], ("sort", sort)]
            params += [("since", since)] if since else []
            params += [("until", until)] if until else []
            paths.append("/api/search?" + urlencode(params))
        latencies: dict[bool, list[float]] = {False: [], True: []}
        for facets, found in latencies.items():
            for round_ in range(rounds + 1):
                for path in paths:
                    t0 = time.perf_counter()
                    connection.request("GET", path + ("&facets=true" if facets else ""))
                    answer = connection.getresponse()
                    answer.read()
                    if answer.status != 200:
                        raise RuntimeError(f"{path}: HTTP {answer.status}")
                    if round_:  # the first round warms up
                        found.append((time.perf_counter() - t0) * 1000)
        return latencies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5, help="times each query runs (after a warm-up)")
    parser.add_argument("--keep", action="store_true", help="keep the corpus index afterwards")
    parser.add_argument("--reuse", action="store_true", help="query a corpus kept by --keep, index nothing")
    args = parser.parse_args()
    es = make_client(Settings(es_timeout=120))
    try:
        indexed, started = 0, time.perf_counter()
        for batch in corpus(0 if args.reuse else args.docs):
            counts = write_batch(es, PREFIX, batch)
            indexed += counts.new
        seconds = time.perf_counter() - started
        es.indices.refresh(index=f"{PREFIX}-articles")
        if args.reuse:
            indexed = int(es.count(index=f"{PREFIX}-articles")["count"])
        else:
            print(
                f"indexed {indexed} articles in {seconds:.1f} s = {indexed / seconds:.0f} docs/s "
                f"(bulk path with dedup and near-duplicate lookup; fingerprints and matching forms "
                f"computed as the crawl's workers would)"
            )
        mix = [(q, [], None, None, "relevance") for q in QUERIES] + FILTERED
        for query, sites, since, until, sort in mix:  # warm-up
            search(
                es,
                PREFIX,
                query,
                sites=sites,
                since=since and date.fromisoformat(since),
                until=until and date.fromisoformat(until),
                sort=sort,
            )
        latencies = []
        for _ in range(args.rounds):
            for query, sites, since, until, sort in mix:
                t0 = time.perf_counter()
                search(
                    es,
                    PREFIX,
                    query,
                    sites=sites,
                    since=since and date.fromisoformat(since),
                    until=until and date.fromisoformat(until),
                    sort=sort,
                )
                latencies.append((time.perf_counter() - t0) * 1000)
        print(
            f"{len(mix)} queries x {args.rounds} rounds on {indexed} articles: "
            f"p50 {percentile(latencies, 0.5):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms, "
            f"p99 {percentile(latencies, 0.99):.1f} ms, mean {statistics.mean(latencies):.1f} ms "
            f"(target p95 <= 50 ms)"
        )
        faceted = []
        for _ in range(args.rounds):
            for query, sites, since, until, sort in mix:
                t0 = time.perf_counter()
                search(
                    es,
                    PREFIX,
                    query,
                    sites=sites,
                    since=since and date.fromisoformat(since),
                    until=until and date.fromisoformat(until),
                    sort=sort,
                    facets=True,
                )
                faceted.append((time.perf_counter() - t0) * 1000)
        print(
            f"the same with facets (what `search --json` adds): p50 {percentile(faceted, 0.5):.1f} ms, "
            f"p95 {percentile(faceted, 0.95):.1f} ms"
        )
        over_http = http_latencies(mix, args.rounds)
        cases = ((False, "", latencies), (True, ", facets=true (the search page)", faceted))
        for facets, label, baseline in cases:
            found = over_http[facets]
            p50, p95 = percentile(found, 0.5), percentile(found, 0.95)
            print(
                f"through the web app's HTTP API (GET /api/search{label}; uvicorn in its own process, one "
                f"keep-alive client): p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
                f"p99 {percentile(found, 0.99):.1f} ms (target p95 <= 60 ms; "
                f"x{p95 / percentile(baseline, 0.95):.2f} the function's p95)"
            )
    finally:
        if not args.keep:
            drop_all(es, PREFIX)
        es.close()


if __name__ == "__main__":
    main()
