"""The archive at a million articles: ingest rate, disk, heap and answers as the index grows.

A generated Vietnamese archive shaped like a federation's history: 100 sites, six years of
dates, article lengths from 150 to 3,000 words (log-normal, median about 450: most news is
short, a few reports are long), sentences from the sample-site generator mixed with words
drawn from a 40,000-word vocabulary by frequency (Zipf), so texts share the phrases news
shares and not most of their shingles; one article in ten republishes an earlier one within
three days with a republisher's edits (a title prefix, the last paragraph cut, a sentence
changed, a source line). Articles are written in the order of publication, as daily crawls and a
site's backfill month by month write them (`--order random`: each batch spans the six years,
the worst case for the near-duplicate lookup, and the order of the runs before 2026-12-04).

The corpus is generated first, on both cores, into shards of 10,000 articles with their
matching forms and fingerprints (what the crawl's extraction workers hand the index stage),
and kept (`--corpus DIR`), so ingest measures newsmon's own index path only:
`pipelines.index.write_batch` (dedup decision with its lookups, bulk write), 500 at a time.

Prints, per slice (`--slice`, 100,000): articles/s, the share of that time spent in the dedup
decision, Elasticsearch's CPU share of the machine, bytes on disk per article, heap used, and
Elasticsearch's own refresh, merge and throttle times. At each checkpoint (100k, 300k, 1M):
p50/p95/p99 of the query mix through `search.search.search`, the same with the search page's
facets, both through the HTTP API, a CSV export of about 100,000 articles through
`GET /api/export`, and one evaluation of 200 alert rules over the 1,000 articles indexed after
they were added.

Resumable: `--keep` keeps the index; a later run with `--reuse` goes on from what the index
holds (the corpus shards are always kept). Needs Elasticsearch (`newsmon es start`).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import gc
import gzip
import importlib.util
import itertools
import json
import math
import multiprocessing
import os
import random
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from config.settings import Settings
from crawler.run import fewer_collections
from crawler.samples import sitegen
from pipelines import dedup, fingerprint
from pipelines import index as index_stage
from pipelines.index import write_batch
from pipelines.normalize import normalize_article
from search import textnorm
from search.alerts.evaluate import evaluate
from search.alerts.store import AlertStore
from search.article import Article
from search.es import make_client
from search.schema import Layout, alias_name, backing, bulk_load, drop_all
from search.search import search

PREFIX = "newsmon-bench-archive"
SITES = [f"cd-{i:03d}" for i in range(100)]
TITLES = {site: f"Công đoàn {site.upper()}" for site in SITES}
SHARD = 10_000
BATCH = 500
END = datetime(2026, 11, 30, 17, 0)
SPAN = timedelta(days=6 * 365)
DESIGN = 1_000_000  # the corpus a date-ordered run spreads over the six years

_TONES = {
    "a": "aàáảãạ",
    "ă": "ăằắẳẵặ",
    "â": "âầấẩẫậ",
    "e": "eèéẻẽẹ",
    "ê": "êềếểễệ",
    "i": "iìíỉĩị",
    "o": "oòóỏõọ",
    "ô": "ôồốổỗộ",
    "ơ": "ơờớởỡợ",
    "u": "uùúủũụ",
    "ư": "ưừứửữự",
    "y": "yỳýỷỹỵ",
}
_ONSETS = [
    "",
    "b",
    "c",
    "ch",
    "d",
    "đ",
    "g",
    "gi",
    "h",
    "k",
    "kh",
    "l",
    "m",
    "n",
    "ng",
    "nh",
    "ph",
    "qu",
    "r",
    "s",
    "t",
    "th",
    "tr",
    "v",
    "x",
]
_CODAS = ["", "", "c", "ch", "m", "n", "ng", "nh", "p", "t", "i", "o", "u"]


def vocabulary(size: int = 40_000, seed: int = 3) -> list[str]:
    """Vietnamese-looking words of one to three syllables (most of two)."""
    rng = random.Random(seed)
    syllables = sorted(
        {
            onset + tone + coda
            for onset in _ONSETS
            for forms in _TONES.values()
            for tone in forms
            for coda in _CODAS
        }
    )
    words: dict[str, None] = {}
    while len(words) < size:
        length = rng.choices((1, 2, 3), weights=(3, 6, 1))[0]
        words[" ".join(rng.choice(syllables) for _ in range(length))] = None
    return list(words)


class Writer:
    """Texts for one shard: generator sentences and Zipf-drawn words."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = vocabulary()
        weights = (1 / (rank + 1) ** 1.05 for rank in range(len(self.words)))
        self.cumulative = list(itertools.accumulate(weights))

    def sentence(self, year: int) -> str:
        if self.rng.random() < 0.35:
            return sitegen.sentence(self.rng, year)
        picked = self.rng.choices(self.words, cum_weights=self.cumulative, k=self.rng.randrange(8, 26))
        text = " ".join(picked)
        return text[0].upper() + text[1:] + "."

    def paragraphs(self, words: int, year: int) -> list[str]:
        paras: list[str] = []
        while words > 0:
            para: list[str] = []
            size = self.rng.randrange(40, 121)
            while size > 0 and words > 0:
                text = self.sentence(year)
                para.append(text)
                count = text.count(" ") + 1
                size, words = size - count, words - count
            paras.append(" ".join(para))
        return paras


def _article(
    site: str, number: int, title: str, paras: list[str], published: datetime, source_name: str | None = None
) -> Article:
    host = f"{site}.example.vn"
    article = normalize_article(
        Article(
            url=f"https://{host}/tin-tuc/bai-{number}.html",
            site=site,
            title=title,
            text="\n".join(paras),
            published=published.isoformat() + "+07:00",
            source_name=source_name,
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
        ),
        host,
    )
    # What the crawl's extraction workers compute before the index stage sees an article.
    article.title_norm, article.title_fold = textnorm.normalize(title), textnorm.fold(title)
    article.text_norm, article.text_fold = textnorm.normalize(article.text), textnorm.fold(article.text)
    return fingerprint.fingerprint(article)


def _published(rng: random.Random, serial: int, dated: bool) -> datetime:
    """An original's date: in date order, serial's share of the six years (a crawl or a
    backfill's month writes the day's articles together, found up to two days late), or
    anywhere in them."""
    if dated:
        moment = END - SPAN + SPAN * ((serial + 0.5) / DESIGN) - timedelta(minutes=rng.randrange(2 * 24 * 60))
        return moment.replace(second=0, microsecond=0)
    return END - timedelta(minutes=rng.randrange(int(SPAN.total_seconds() // 60)))


def make_shard(args: tuple[Path, int, bool]) -> Path:
    """Generate shard `number` (articles number*SHARD ... +SHARD) into `directory`, its
    originals dated in the order they are written when `dated`."""
    directory, number, dated = args
    path = directory / f"shard-{number:04d}.jsonl.gz"
    if path.exists():
        return path
    rng = random.Random(1000 + number)
    writer = Writer(rng)
    originals: list[tuple[Article, list[str], datetime]] = []
    partial = path.with_suffix(".part")
    with gzip.open(partial, "wt", encoding="utf-8", compresslevel=1) as out:
        for offset in range(SHARD):
            serial = number * SHARD + offset
            site = rng.choice(SITES)
            if offset % 10 == 9 and originals:
                origin, paras, when = rng.choice(originals)
                published = when + timedelta(minutes=rng.randrange(10, 3 * 24 * 60))
                title = rng.choice(["", "[Tin tổng hợp] ", f"{TITLES[site]} - "]) + (origin.title or "")
                paras = list(paras)
                if len(paras) >= 3 and rng.random() < 0.5:
                    paras.pop()
                paras[rng.randrange(len(paras))] += " " + writer.sentence(published.year)
                name = TITLES[origin.site or ""]
                paras.append(rng.choice([f"(Nguồn: {name})", f"Theo {name}"]))
                article = _article(site, serial, title, paras, published, source_name=name)
            else:
                published = _published(rng, serial, dated)
                length = min(3000, max(150, int(rng.lognormvariate(math.log(450), 0.65))))
                paras = writer.paragraphs(length, published.year)
                title = sitegen.sentence(rng, published.year).rstrip(".")
                article = _article(site, serial, title, paras, published)
                originals.append((article, paras, published))
                del originals[:-2000]
            out.write(json.dumps(article.to_dict(), ensure_ascii=False) + "\n")
    partial.rename(path)
    return path


def corpus(directory: Path, docs: int, dated: bool) -> None:
    """Generate the shards a run of `docs` articles needs (both cores; kept for later runs)."""
    directory.mkdir(parents=True, exist_ok=True)
    shards = [
        (directory, n, dated)
        for n in range(math.ceil(docs / SHARD))
        if not (directory / f"shard-{n:04d}.jsonl.gz").exists()
    ]
    if not shards:
        return
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 2) as pool:
        for done, _ in enumerate(pool.imap_unordered(make_shard, shards), 1):
            print(f"\rcorpus: {done}/{len(shards)} shards", end="", flush=True)
    print(
        f"\rcorpus: {len(shards)} shards of {SHARD:,} articles generated in "
        f"{time.perf_counter() - started:.0f} s into {directory}"
    )


def batches(directory: Path, start: int, stop: int) -> Iterator[list[Article]]:
    """Articles start..stop of the corpus, BATCH at a time."""
    batch: list[Article] = []
    for number in range(start // SHARD, math.ceil(stop / SHARD)):
        with gzip.open(directory / f"shard-{number:04d}.jsonl.gz", "rt", encoding="utf-8") as lines:
            for offset, line in enumerate(lines):
                serial = number * SHARD + offset
                if serial < start:
                    continue
                if serial >= stop:
                    break
                batch.append(Article.from_dict(json.loads(line)))
                if len(batch) == BATCH:
                    yield batch
                    batch = []
    if batch:
        yield batch


@functools.cache
def _speed() -> Any:
    """bench/search_speed.py (its HTTP measure, server and percentiles), loaded once."""
    spec = importlib.util.spec_from_file_location("search_speed", Path(__file__).with_name("search_speed.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stats(es: Any) -> dict[str, float]:
    """Elasticsearch's counters that say where indexing time goes."""
    nodes = es.nodes.stats(metric="process,jvm,indices")["nodes"]
    total: dict[str, float] = {
        "cpu_ms": 0,
        "heap": 0,
        "refresh_ms": 0,
        "merge_ms": 0,
        "throttle_ms": 0,
        "index_ms": 0,
        "query_ms": 0,
        "flush_ms": 0,
    }
    for node in nodes.values():
        indices = node["indices"]
        total["cpu_ms"] += node["process"]["cpu"]["total_in_millis"]
        total["heap"] += node["jvm"]["mem"]["heap_used_in_bytes"]
        total["refresh_ms"] += indices["refresh"]["total_time_in_millis"]
        total["merge_ms"] += indices["merges"]["total_time_in_millis"]
        total["throttle_ms"] += indices["merges"]["total_throttled_time_in_millis"]
        total["index_ms"] += indices["indexing"]["index_time_in_millis"]
        total["query_ms"] += indices["search"]["query_time_in_millis"]
        total["flush_ms"] += indices["flush"]["total_time_in_millis"]
    return total


def _disk(es: Any) -> tuple[int, int]:
    stats = es.indices.stats(index=alias_name(PREFIX), metric="store,docs")["_all"]["primaries"]
    return int(stats["store"]["size_in_bytes"]), int(stats["docs"]["count"])


def query_mix() -> list[tuple[str, list[str], str | None, str | None, str, int]]:
    """(query, sites, since, until, sort, page): words, phrases, accent-less, OR, negation,
    site and date filters, date sort, page 10."""
    plain = [
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
        "Khánh Hoà",
        "bảo hiểm xã hội",
        "bao hiem xa hoi",
        "bữa ăn ca",
        "Nguyễn Văn Hùng",
        "nguyen van hung",
        "đình công",
        "dinh cong",
        '"công đoàn cơ sở"',
        "quà Tết",
        "Đồng Nai",
        "Cần Thơ OR Long An",
        "tiền thuê nhà",
        "Trần Thị Thuỷ",
    ]
    mix: list[tuple[str, list[str], str | None, str | None, str, int]] = [
        (q, [], None, None, "relevance", 1) for q in plain
    ]
    mix += [
        ("công đoàn", SITES[:1], None, None, "relevance", 1),
        ("nợ lương", SITES[:3], None, None, "date", 1),
        ("thưởng Tết", [], "2024-01-01", "2024-06-30", "relevance", 1),
        ("đoàn viên", [], "2026-11-01", None, "date", 1),
        ("an toàn", SITES[5:6], "2023-01-01", "2024-12-31", "date", 1),
        ("nhà ở", [], None, "2022-12-31", "relevance", 1),
        ("hoà giải", SITES[:10], None, None, "date", 1),
        ("no luong", [], "2025-06-01", None, "date", 1),
        ("Nghệ An OR Thanh Hoá", SITES[:5], None, None, "relevance", 1),
        ("công nhân -lương", [], "2025-01-01", None, "date", 1),
        ("công đoàn", [], None, None, "relevance", 10),
        ("nợ lương", [], None, None, "date", 10),
    ]
    return mix


def _timed_searches(es: Any, mix: list[Any], rounds: int, facets: bool) -> list[float]:
    def run(item: Any) -> None:
        query, sites, since, until, sort, page = item
        search(
            es,
            PREFIX,
            query,
            sites=sites,
            since=since and date.fromisoformat(since),
            until=until and date.fromisoformat(until),
            sort=sort,
            page=page,
            facets=facets,
        )

    for item in mix:  # warm-up
        run(item)
    found = []
    for _ in range(rounds):
        for item in mix:
            started = time.perf_counter()
            run(item)
            found.append((time.perf_counter() - started) * 1000)
    return found


def _line(name: str, values: list[float]) -> str:
    pct = _speed().percentile
    return ", ".join(
        [
            f"{name}: p50 {pct(values, 0.5):.0f} ms",
            f"p95 {pct(values, 0.95):.0f} ms",
            f"p99 {pct(values, 0.99):.0f} ms",
        ]
    )


def checkpoint(es: Any, speed: Any, total: int, rounds: int) -> None:
    """Answers at this size: the query mix, with facets, over HTTP, a CSV export."""
    es.indices.refresh(index=alias_name(PREFIX))
    mix = query_mix()
    print(f"  at {total:,} articles:")
    print("    " + _line("search (function)", _timed_searches(es, mix, rounds, facets=False)))
    print("    " + _line("search with the page's facets (function)", _timed_searches(es, mix, rounds, True)))
    over_http = speed.http_latencies([m[:5] for m in mix], rounds, PREFIX, SITES)
    print("    " + _line("GET /api/search", over_http[False]))
    print("    " + _line("GET /api/search&facets=true (the search page)", over_http[True]))
    share = min(len(SITES), max(1, math.ceil(len(SITES) * 100_000 / total)))
    path = "/api/export?" + urlencode([("format", "csv"), *[("site", s) for s in SITES[:share]]])
    with speed.served(PREFIX, SITES) as connection:
        started = time.perf_counter()
        connection.request("GET", path)
        answer = connection.getresponse()
        rows = -1  # the heading line
        while chunk := answer.read(1 << 20):
            rows += chunk.count(b"\n")
        seconds = time.perf_counter() - started
    print(
        f"    CSV export of {rows:,} articles ({share} sites): {seconds:.1f} s = {rows / seconds:,.0f} "
        f"articles/s"
    )


def add_rules(store: AlertStore, count: int = 200) -> None:
    """`count` instant rules drawn from the query mix (a fifth of them on two sites)."""
    rng = random.Random(5)
    queries = [m[0] for m in query_mix()]
    for number in range(count):
        sites = rng.sample(SITES, k=2) if number % 5 == 0 else []
        emails = [f"user{number}@cd.example.vn"]
        store.add(f"rule {number}", rng.choice(queries), emails, sites, mode="instant")


def main() -> None:
    """Generate what is missing, ingest slice by slice, measure at each checkpoint."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--slice", type=int, default=100_000, help="print ingest figures every this many")
    parser.add_argument(
        "--checkpoints", default="100000,300000,1000000", help="sizes at which answers are measured"
    )
    parser.add_argument("--rounds", type=int, default=3, help="times each query runs (after a warm-up)")
    parser.add_argument(
        "--order",
        choices=["date", "random"],
        default="date",
        help="date: written in the order of publication, as daily crawls and a site's backfill write"
        " (the default); random: every batch spans the six years (the worst case for the lookups)",
    )
    parser.add_argument(
        "--rollover-docs",
        type=int,
        help="start a new article index every this many articles (default: NEWSMON_ES_ROLLOVER_DOCS's)",
    )
    parser.add_argument(
        "--prefix",
        default="newsmon-bench-archive",
        help="index prefix: two builds kept side by side to compare answers",
    )
    parser.add_argument("--corpus", type=Path, help="default: /var/tmp/newsmon-archive-corpus[-dated]")
    parser.add_argument("--keep", action="store_true", help="keep the index afterwards")
    parser.add_argument("--reuse", action="store_true", help="go on from what a kept index holds")
    parser.add_argument(
        "--answers",
        action="store_true",
        help="with --reuse: only measure the answers (query mix, facets, HTTP, export) at the kept size;"
        " the index is kept",
    )
    args = parser.parse_args()
    global PREFIX
    PREFIX = args.prefix
    dated = args.order == "date"
    args.corpus = args.corpus or Path("/var/tmp/newsmon-archive-corpus" + ("-dated" if dated else ""))
    speed = _speed()
    checkpoints = sorted(int(c) for c in args.checkpoints.split(",") if c and int(c) <= args.docs)
    corpus(args.corpus, args.docs, dated)
    es = make_client(Settings(es_timeout=300))
    layout = Layout.of(Settings())
    if args.rollover_docs:
        layout = dataclasses.replace(layout, rollover_docs=args.rollover_docs)
    cores = os.cpu_count() or 1
    # Time in the dedup decision, and the part of it spent waiting for its lookups (the
    # rest is Python: signatures compared, the in-process memory of recent stories).
    deciding, looking, by_id, comparing = [0.0], [0.0], [0.0], [0.0]
    resolve = index_stage.resolve

    def timed(function: Any, total: list[float]) -> Any:
        def wrapper(*a: Any, **k: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*a, **k)
            finally:
                total[0] += time.perf_counter() - started

        return wrapper

    timed_resolve = timed(resolve, deciding)
    for name in ("_first_seen", "_near_candidates", "_named_as_source", "_first_signatures"):
        setattr(dedup, name, timed(getattr(dedup, name), looking))
    dedup.get_docs = timed(dedup.get_docs, by_id)  # type: ignore[assignment]
    for name in ("fingerprint", "_nearest"):
        setattr(dedup, name, timed(getattr(dedup, name), comparing))
    dedup.Recent.banded = timed(dedup.Recent.banded, comparing)  # type: ignore[method-assign]
    index_stage.resolve = timed_resolve  # type: ignore[assignment]
    fewer_collections()  # as the crawl process that writes the articles does
    collecting, gc_started = [0.0], [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            collecting[0] += time.perf_counter() - gc_started[0]

    gc.callbacks.append(on_gc)
    try:
        done = 0
        if args.reuse and es.indices.exists_alias(name=alias_name(PREFIX)):
            es.indices.refresh(index=alias_name(PREFIX))
            done = int(es.count(index=alias_name(PREFIX))["count"])
            print(f"going on from {done:,} articles in the kept index")
            if args.answers:
                checkpoint(es, speed, done, args.rounds)
                return
        elif args.answers:
            raise SystemExit("--answers measures a kept index, and there is none: build one with --keep")
        else:
            drop_all(es, PREFIX)
        run_started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp, bulk_load(es, PREFIX):
            store = AlertStore(Path(tmp))
            slice_start, slice_wall, slice_stats, deciding[0], looking[0] = done, 0.0, _stats(es), 0.0, 0.0
            by_id[0] = comparing[0] = collecting[0] = 0.0
            slice_clock = time.perf_counter()
            pending = [c for c in checkpoints if c > done]
            for batch in batches(args.corpus, done, args.docs):
                if pending and done + len(batch) > pending[0] - 1000 and not store.rules():
                    add_rules(store)
                    time.sleep(1)  # the rules alert on what is indexed after them
                started = time.perf_counter()
                write_batch(es, PREFIX, batch, layout=layout)
                slice_wall += time.perf_counter() - started
                done += len(batch)
                if done - slice_start >= args.slice or done == args.docs:
                    after, wall = _stats(es), time.perf_counter() - slice_clock
                    size, count = _disk(es)
                    delta = {k: after[k] - slice_stats[k] for k in after}
                    rate = (done - slice_start) / slice_wall
                    print(
                        f"{slice_start:>9,} - {done:>9,}: {rate:,.0f} articles/s "
                        f"(dedup decision {deciding[0] / slice_wall:.0%} of it, its lookups "
                        f"{looking[0] / slice_wall:.0%}, reads by id in and out of them "
                        f"{by_id[0] / slice_wall:.0%}, "
                        f"signatures compared {comparing[0] / slice_wall:.0%}; Python's garbage collector "
                        f"{collecting[0]:.1f} s); Elasticsearch CPU "
                        f"{delta['cpu_ms'] / 1000 / (wall * cores):.0%} of {cores} cores; refresh "
                        f"{delta['refresh_ms'] / 1000:.0f} s, merges {delta['merge_ms'] / 1000:.0f} s "
                        f"(throttled {delta['throttle_ms'] / 1000:.0f} s), indexing "
                        f"{delta['index_ms'] / 1000:.0f} s, queries {delta['query_ms'] / 1000:.0f} s; "
                        f"{size / max(count, 1):,.0f} bytes/article on disk; heap "
                        f"{after['heap'] / 2**20:,.0f} MiB; {len(backing(es, alias_name(PREFIX)))} index(es)",
                        flush=True,
                    )
                    slice_start, slice_wall, slice_stats, deciding[0], looking[0] = done, 0.0, after, 0.0, 0.0
                    by_id[0] = comparing[0] = collecting[0] = 0.0
                    slice_clock = time.perf_counter()
                if pending and done >= pending[0]:
                    es.indices.refresh(index=alias_name(PREFIX))
                    started = time.perf_counter()
                    found = evaluate(es, PREFIX, store.rules(), datetime.now(UTC))
                    evaluated = time.perf_counter() - started
                    checkpoint(es, speed, done, args.rounds)
                    print(
                        f"    200 alert rules over the 1,000 articles indexed after them: "
                        f"{evaluated:.2f} s "
                        f"({sum(len(e.matches) for e in found.values())} rule-story matches)",
                        flush=True,
                    )
                    for rule in store.rules():
                        store.remove(rule.name)
                    pending.pop(0)
                    slice_clock = time.perf_counter()  # answers are not ingest time
                    slice_stats = _stats(es)
            store.close()
        print(f"{done:,} articles; this run took {(time.perf_counter() - run_started) / 60:.0f} min")
    finally:
        # A run that only measured answers never drops what it measured (one did, on
        # 2026-12-03: the million-article index that had taken 24 minutes to build).
        if not args.keep and not args.answers:
            drop_all(es, PREFIX)
        es.close()


if __name__ == "__main__":
    main()
