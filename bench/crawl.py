"""Crawl throughput: fetching, extraction and newsmon's whole crawl, on one generated site.

Generates a local site of N article pages (realistic Vietnamese pages, paginated
listings, a gzipped sitemap; `crawler/samples/sitegen.py`), serves it on loopback and
reports, in one run:
  (a) Scrapy-only fetch rate: the same sitemap crawl with no pipelines;
  (b) extraction-only rate: newsmon's extractor over the same pages in 2 processes;
      (the pages: about 30 KB each, a 500-800 word article in a CMS layout);
  (c) newsmon's end-to-end crawl -> index rate (`run_crawl`, real Elasticsearch);
  (c) / min(a, b) (target >= 0.8), and the crawl's peak RSS (main process and largest
  extraction worker). Then a second crawl of the unchanged site and its request count
  as a share of the first's (target <= 10 %).
Politeness throttling is off for (a) and (c) alike (loopback site, same concurrency),
so the numbers measure newsmon, not the delays it adds for real sites.

Needs Elasticsearch (NEWSMON_ES_URL, or the local node `newsmon es start`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import yaml
from elasticsearch import Elasticsearch

from config.settings import Settings
from crawler.samples.server import serve_sites
from crawler.samples.sitegen import generate_site
from pipelines.extraction.page import extract_page
from search.es import make_client
from search.schema import drop_all

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "newsmon-bench"

FAST = {
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "CONCURRENT_REQUESTS": 16,
    "LOG_LEVEL": "ERROR",
}

FETCH_ONLY = """
import json, resource, sys
from scrapy import Request, Spider
from scrapy.crawler import CrawlerProcess
from crawler.discovery import sitemap_body, sitemap_entries
from crawler.run import scrapy_settings_for

def cpu():
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime

class FetchOnly(Spider):
    name = "fetch-only"
    async def start(self):
        self.cpu_at_start = cpu()  # the crawl's own CPU, without imports and start-up
        yield Request(sys.argv[1], callback=self.sitemap)
    def sitemap(self, response):
        kind, entries = sitemap_entries(sitemap_body(response, 10**8))
        for entry in entries:
            yield Request(entry.url, callback=self.sitemap if kind == "sitemapindex" else self.page)
    def page(self, response):
        pass

overrides = json.loads(sys.argv[2])
overrides.update(ITEM_PIPELINES={}, HTTPCACHE_ENABLED=False)
process = CrawlerProcess(scrapy_settings_for(overrides))
crawler = process.create_crawler(FetchOnly)
process.crawl(crawler)
process.start()
stats = crawler.stats.get_stats()
print(json.dumps({"pages": stats.get("response_received_count", 0), "seconds": stats["elapsed_time_seconds"],
                  "cpu": cpu() - crawler.spider.cpu_at_start}))
"""

NEWSMON_CRAWL = """
import json, os, resource, sys
from pathlib import Path
from config.settings import get_settings
from crawler.registry import load_registry
from crawler.run import run_crawl
from pipelines.extraction import pool as extract

def worker_usage(pid):
    # The workers are children of the fork server, not of this process: RUSAGE_CHILDREN
    # never sees them, so their CPU and peak RSS are read from /proc before shutdown.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return cpu, int(status["VmHWM"].split()[0])

summary = run_crawl(load_registry(Path(sys.argv[1])), get_settings(), json.loads(sys.argv[2]))
workers = [worker_usage(pid) for pid in (extract._pool._processes if extract._pool else {})]
if extract._pool is not None:
    extract._pool.shutdown()
me = resource.getrusage(resource.RUSAGE_SELF)
summary["_rss_kb"] = {"main": me.ru_maxrss, "largest_worker": max((kb for _, kb in workers), default=0)}
summary["_cpu_s"] = {"main": me.ru_utime + me.ru_stime, "workers": sum(cpu for cpu, _ in workers)}
print(json.dumps(summary))
"""


def _python(code: str, *args: str, env: dict[str, str]) -> dict:
    """Run `code` as a script in its own process (a Twisted reactor runs once per process;
    Scrapy reads callbacks' source, so the code goes to a file, not `-c`)."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(code)
    try:
        result = subprocess.run(
            [sys.executable, script.name, *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        os.unlink(script.name)
    if os.environ.get("BENCH_DEBUG"):
        print(result.stderr[-5000:])
    if result.returncode:
        sys.exit(f"benchmark step failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _es_cpu(es: Elasticsearch) -> float:
    """Elasticsearch's own CPU seconds so far (all nodes), from its node stats."""
    nodes = es.nodes.stats(metric="process")["nodes"].values()
    return sum(node["process"]["cpu"]["total_in_millis"] for node in nodes) / 1000


def _extract_one(path: str) -> bool:
    return extract_page(Path(path).read_bytes(), "http://bench.local/" + path) is not None


def _bare_one(path: str) -> bool:
    """Bare trafilatura (its defaults) on the same page: the baseline of extraction cost."""
    import trafilatura

    return trafilatura.extract(Path(path).read_bytes(), url="http://bench.local/" + path) is not None


def _cpu_of(fn, paths: list[str]) -> tuple[int, float, float]:
    """(pages extracted, seconds, CPU seconds) of `fn` over `paths` in 2 processes."""
    before, start = _children_cpu(), time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        done = sum(pool.map(fn, paths, chunksize=16))
    return done, time.perf_counter() - start, _children_cpu() - before


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=2000)
    args = parser.parse_args()
    es = make_client(Settings())
    try:
        _run(args.pages, es)
    finally:
        drop_all(es, PREFIX)
        es.close()


def _run(pages: int, es: Elasticsearch) -> None:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        (tmp / "www" / "bench").mkdir(parents=True)
        env = {
            **os.environ,
            "NEWSMON_DATA_DIR": str(tmp / "data"),
            "NEWSMON_INDEX_PREFIX": PREFIX,
            "PYTHONPATH": str(ROOT),
        }
        with serve_sites(tmp / "www") as sites:
            site = sites["bench"]
            host = site.url.split("/")[2]
            articles = generate_site(site.root, pages, host)
            registry = tmp / "sites.yaml"
            registry.write_text(
                yaml.safe_dump(
                    {"sites": [{"name": "bench", "url": site.url, "sitemaps": [site.url + "sitemap.xml"]}]}
                )
            )
            print(f"site: {len(articles)} articles on {site.url}")

            server_a = _own_cpu()
            fetch = _python(
                FETCH_ONLY,
                site.url + "sitemap.xml",
                json.dumps(FAST),
                env={**env, "NEWSMON_ALLOW_PRIVATE_HOSTS": "true"},
            )
            server_a = _own_cpu() - server_a
            rate_a = fetch["pages"] / fetch["seconds"]
            print(
                f"(a) Scrapy fetch only:      {fetch['pages']} pages in {fetch['seconds']:.1f} s "
                f"= {rate_a:.0f} pages/s (CPU: crawl process {fetch['cpu']:.1f} s, "
                f"loopback web server {server_a:.1f} s)"
            )

            paths = [str(site.root / a.path) for a in articles]
            bare_done, _, bare_cpu = _cpu_of(_bare_one, paths)
            extracted, seconds_b, workers_b = _cpu_of(_extract_one, paths)
            rate_b = extracted / seconds_b
            print(
                f"(b) extraction, 2 processes: {extracted} pages in {seconds_b:.1f} s "
                f"= {rate_b:.0f} pages/s (CPU {workers_b:.1f} s)"
            )
            print(
                f"    CPU per page: newsmon {1000 * workers_b / len(paths):.1f} ms, bare trafilatura "
                f"{1000 * bare_cpu / len(paths):.1f} ms ({bare_done} pages with a body): "
                f"x{workers_b / bare_cpu:.2f} (target <= 1.2)"
            )

            site.requests.clear()
            es_cpu, server_cpu = _es_cpu(es), _own_cpu()
            crawl = _python(NEWSMON_CRAWL, str(registry), json.dumps(FAST), env=env)
            server_cpu = _own_cpu() - server_cpu  # before the stats call below adds its own
            es_cpu = _es_cpu(es) - es_cpu
            first_requests = len(site.requests)
            summary = crawl["bench"]
            rate_c = summary["new"] / summary["duration_s"]
            print(
                f"(c) newsmon crawl -> index:  {summary['new']} articles in {summary['duration_s']:.1f} s "
                f"= {rate_c:.0f} articles/s"
            )
            print(f"(c) / min(a, b) = {rate_c / min(rate_a, rate_b):.2f}  (target >= 0.8)")
            # (c) must do the work of (a) and of (b) for every page, plus indexing, on the same
            # two cores: the sum of their measured CPU per page bounds it, however well overlapped.
            per_page = (
                (fetch["cpu"] + server_a) / fetch["pages"]
                + workers_b / extracted
                + es_cpu / max(summary["new"], 1)
            )
            ceiling = (os.cpu_count() or 1) / per_page
            print(
                f"    CPU ceiling for (c) on {os.cpu_count()} cores: {ceiling:.0f} articles/s "
                f"= {ceiling / min(rate_a, rate_b):.2f} x min(a, b) (CPU of (a) + (b) + indexing per page, "
                f"{per_page * 1000:.2f} ms)"
            )
            cpu = crawl["_cpu_s"]
            print(
                f"    CPU seconds during (c): crawl process {cpu['main']:.1f}, extraction workers "
                f"{cpu['workers']:.1f}, Elasticsearch {es_cpu:.1f}, loopback web server {server_cpu:.1f} "
                f"(2 cores: {2 * summary['duration_s']:.1f} available)"
            )
            rss = crawl["_rss_kb"]
            print(
                f"peak RSS of the crawl: main process {rss['main'] / 1024:.0f} MiB, "
                f"largest extraction worker {rss['largest_worker'] / 1024:.0f} MiB"
            )

            site.requests.clear()
            again = _python(NEWSMON_CRAWL, str(registry), json.dumps(FAST), env=env)["bench"]
            print(
                f"second crawl: {len(site.requests)} requests vs {first_requests} "
                f"({len(site.requests) / first_requests:.1%}, target <= 10 %); new {again['new']}, "
                f"known and skipped {again['seen_skipped']}"
            )


if __name__ == "__main__":
    main()
