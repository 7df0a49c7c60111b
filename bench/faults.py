"""Faults and hostile input against real processes: one row per case, then a total.

Each case runs newsmon's own command against a generated site on loopback and the local
Elasticsearch node (or NEWSMON_ES_URL), causes the fault for real (Elasticsearch
unreachable or refusing writes, the article index closed, SIGKILL by pid at several moments, a
damaged journal row, a damaged journal file, a damaged seen store, a full disk (a real tmpfs,
where mounting is permitted), a gzip bomb, a page of 200,000 elements, hostile queries and
titles, a foreign Host header and a forged CSRF token) and counts what the user would see afterwards:
articles expected / indexed / lost / doubled, the exit status, peak memory where it matters.
Then a fuzz of the query language (10,000 random strings: no traceback, no Elasticsearch
text). Needs Elasticsearch.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import yaml
from pydantic import SecretStr

from config.settings import Settings
from crawler.samples.server import SampleSite, serve_sites
from crawler.samples.sitegen import generate_site
from search.es import make_client
from search.query import QueryError, parse
from search.schema import alias_name, drop_all

NEWSMON = str(Path(sys.executable).with_name("newsmon"))
ARTICLES = 300
Row = dict[str, object]


def _run(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NEWSMON, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


class World:
    """A generated site, its registry, a data directory and an index prefix of its own."""

    def __init__(self, root: Path, site: SampleSite) -> None:
        self.root, self.site = root, site
        self.prefix = f"bench-faults-{uuid.uuid4().hex[:8]}"
        self.data = root / f"data-{self.prefix}"
        registry = root / f"sites-{self.prefix}.yaml"
        registry.write_text(
            yaml.safe_dump(
                {"sites": [{"name": "gen", "url": site.url, "sitemaps": [site.url + "sitemap.xml"]}]}
            )
        )
        self.env = {
            **os.environ,
            "NEWSMON_CONFIG": str(registry),
            "NEWSMON_DATA_DIR": str(self.data),
            "NEWSMON_INDEX_PREFIX": self.prefix,
            "NEWSMON_ES_URL": Settings().effective_es_url,
        }
        self.es = make_client(Settings(es_url=self.env["NEWSMON_ES_URL"]))

    def indexed(self) -> tuple[int, int]:
        """(distinct article URLs indexed, documents that repeat one)."""
        alias = alias_name(self.prefix)
        if not self.es.indices.exists_alias(name=alias):
            return 0, 0
        self.es.indices.refresh(index=alias)
        urls = [
            hit["_source"]["canonical_url"]
            for hit in self.es.search(
                index=alias, size=10_000, source=["canonical_url"], query={"match_all": {}}
            )["hits"]["hits"]
        ]
        return len(set(urls)), len(urls) - len(set(urls))

    def close(self) -> None:
        drop_all(self.es, self.prefix)
        self.es.close()


def _row(case: str, tried: str, world: World, code: int) -> Row:
    found, doubled = world.indexed()
    return {
        "case": case,
        "tried": tried,
        "expected": ARTICLES,
        "indexed": found,
        "lost": ARTICLES - found,
        "doubled": doubled,
        "exit": code,
    }


def es_unreachable(world: World) -> Row:
    down = {**world.env, "NEWSMON_ES_URL": "http://127.0.0.1:9"}
    first = _run(down, "crawl")
    _run(world.env, "crawl")
    return _row(
        "Elasticsearch down during a crawl",
        "crawl, then crawl again once it is back",
        world,
        first.returncode,
    )


def es_refuses_writes(world: World) -> Row:
    from search.schema import setup

    index = setup(world.es, world.prefix)
    world.es.indices.put_settings(index=index, settings={"index.blocks.write": True})
    refused = _run(world.env, "crawl")
    world.es.indices.put_settings(index=index, settings={"index.blocks.write": False})
    _run(world.env, "crawl")
    return _row(
        "index refusing writes (disk watermark)", "crawl blocked, unblock, crawl", world, refused.returncode
    )


def _kill_at(env: dict[str, str], delays: list[float]) -> None:
    for delay in delays:
        crawl = subprocess.Popen(
            [NEWSMON, "crawl"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(delay)
        os.killpg(crawl.pid, signal.SIGKILL)
        crawl.wait()


def sigkill_mid_crawl(world: World) -> Row:
    _kill_at(world.env, [1.5, 2.5, 3.5])
    final = _run(world.env, "crawl")
    return _row("SIGKILL during crawls", "kill at 1.5 s, 2.5 s, 3.5 s, then crawl", world, final.returncode)


def sigkill_mid_replay(world: World) -> Row:
    down = {**world.env, "NEWSMON_ES_URL": "http://127.0.0.1:9"}
    _run(down, "crawl")  # everything goes to the journal
    _kill_at(world.env, [1.0, 1.6, 2.2, 2.8])
    final = _run(world.env, "crawl")
    return _row(
        "SIGKILL while the journal is replayed", "journal 300, kill 4 times, crawl", world, final.returncode
    )


def damaged_journal(world: World) -> Row:
    down = {**world.env, "NEWSMON_ES_URL": "http://127.0.0.1:9"}
    _run(down, "crawl")
    db = sqlite3.connect(world.data / "spool" / "journal.sqlite")
    with db:
        db.execute("UPDATE entries SET doc = '{\"url\": broken' WHERE id = (SELECT min(id) FROM entries)")
    db.close()
    final = _run(world.env, "crawl")
    row = _row("one damaged journal row", "damage a row, crawl", world, final.returncode)
    row["expected"] = ARTICLES - 1  # the damaged one is set aside, reported, kept for a person
    row["lost"] = int(row["expected"]) - int(row["indexed"])  # type: ignore[call-overload]
    return row


def index_closed(world: World) -> Row:
    from search.schema import setup

    index = setup(world.es, world.prefix)
    world.es.indices.close(index=index)
    closed = _run(world.env, "crawl")
    world.es.indices.open(index=index, wait_for_active_shards="1")
    _run(world.env, "crawl")
    return _row("article index closed", "crawl while closed, open, crawl", world, closed.returncode)


def _garbage(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.seek(0)
        handle.write(os.urandom(4096))


def damaged_journal_file(world: World) -> Row:
    down = {**world.env, "NEWSMON_ES_URL": "http://127.0.0.1:9"}
    _run(down, "crawl")  # all 300 wait in the journal
    _garbage(world.data / "spool" / "journal.sqlite")
    final = _run(world.env, "crawl")
    return _row(
        "journal file damaged (300 waiting)", "garbage over journal.sqlite, crawl", world, final.returncode
    )


def damaged_seen_store(world: World) -> Row:
    _run(world.env, "crawl")
    _garbage(world.data / "crawl" / "seen.sqlite")
    refused = _run(world.env, "crawl")
    named = refused.returncode == 1 and "seen.sqlite" in refused.stderr and "Traceback" not in refused.stderr
    (world.data / "crawl" / "seen.sqlite").rename(world.data / "crawl" / "seen.sqlite.aside")
    _run(world.env, "crawl")
    row = _row(
        "seen store damaged",
        "garbage over seen.sqlite, crawl, move it aside, crawl",
        world,
        refused.returncode,
    )
    row["named"] = named
    return row


def full_disk(world: World) -> Row | None:
    """The data directory on a 64 MB tmpfs filled to 4 MB free; None where mount is refused."""
    disk = world.root / f"disk-{world.prefix}"
    disk.mkdir()
    if (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(disk)], capture_output=True, check=False
        ).returncode
        != 0
    ):
        return None
    try:
        env = {**world.env, "NEWSMON_DATA_DIR": str(disk / "data")}
        filler = disk / "filler"
        filler.write_bytes(b"\0" * (60 * 1024 * 1024))
        full = _run(env, "crawl")
        filler.unlink()
        _run(env, "crawl")
        row = _row(
            "data directory on a full disk",
            "crawl on a full tmpfs, free space, crawl",
            world,
            full.returncode,
        )
        row["named"] = "gần đầy" in full.stderr and "Traceback" not in full.stderr
        return row
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def web_attacks(env: dict[str, str]) -> list[Row]:
    """A foreign Host header and a forged CSRF token against the web app (in process)."""
    from fastapi.testclient import TestClient

    from crawler.registry import load_registry
    from crawler.web import make_web_app

    token = "mot-ma-truy-cap-du-dai"
    config = Settings(
        registry=Path(env["NEWSMON_CONFIG"]),
        data_dir=Path(env["NEWSMON_DATA_DIR"]),
        index_prefix=env["NEWSMON_INDEX_PREFIX"],
        es_url=env["NEWSMON_ES_URL"],
        web_token=SecretStr(token),
    )
    app = make_web_app(config, load_registry(config.registry))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        host = client.get("/api/alerts", headers={"Host": "attacker.example"})
        client.cookies.set("newsmon_csrf", "chosen")
        forged = client.post("/login", data={"token": token, "csrf": "chosen", "next": "/"})
    return [
        {
            "case": "foreign Host header (DNS rebinding)",
            "tried": "GET /api/alerts, Host: attacker.example",
            "exit": host.status_code,
            "refused cleanly": host.status_code == 400,
        },
        {
            "case": "planted CSRF cookie and field",
            "tried": "POST /login with cookie = field",
            "exit": forged.status_code,
            "refused cleanly": forged.status_code == 403,
        },
    ]


def pathological_page(root: Path, env: dict[str, str]) -> Row:
    page = root / "deep.html"
    page.write_text("<html><body>" + "<p>x</p>" * 200_000 + "</body></html>", encoding="utf-8")
    started = time.monotonic()
    result = _run(env, "extract", "--json", str(page))
    row = _refusal("page of 200,000 elements", "newsmon extract", result)
    row["refused cleanly"] = "PageTooComplex" in result.stdout and "Traceback" not in result.stderr
    row["seconds"] = round(time.monotonic() - started, 1)
    return row


def _refusal(case: str, tried: str, result: subprocess.CompletedProcess[str], peak_kib: int = 0) -> Row:
    clean = result.returncode in (1, 2) and "Traceback" not in result.stderr + result.stdout
    return {
        "case": case,
        "tried": tried,
        "exit": result.returncode,
        "refused cleanly": clean,
        **({"peak MiB": peak_kib // 1024} if peak_kib else {}),
    }


def hostile_inputs(root: Path, env: dict[str, str]) -> list[Row]:
    bomb = root / "bomb.html.gz"
    bomb.write_bytes(gzip.compress(b" " * (100 * 1024 * 1024)))
    # A fresh wrapper process whose only child is `extract`: its children's peak RSS is extract's.
    wrapper = (
        "import resource, subprocess, sys\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stderr.write(r.stderr)\n"
        "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    measured = subprocess.run(
        [sys.executable, "-c", wrapper, NEWSMON, "extract", "--json", str(bomb)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    code, peak = (int(v) for v in measured.stdout.split()[-2:])
    extract = subprocess.CompletedProcess(measured.args, code, "", measured.stderr)
    rows = [_refusal("gzip bomb to extract", "100 MB of spaces in 100 KB", extract, peak)]
    for case, query in (
        ("330 nested parentheses", "(" * 330 + "lương" + ")" * 330),
        ("5,000 OR terms", " OR ".join(f"tu{n}" for n in range(5000))),
    ):
        rows.append(_refusal(case, "newsmon search", _run(env, "search", query)))
        added = _run(env, "alerts", "add", "--name", "x", "--query", query, "--email", "a@b.vn")
        rows.append(_refusal(case, "newsmon alerts add", added))
    rows.append(
        _refusal(
            "result page 1001", "newsmon search --page 1001", _run(env, "search", "lương", "--page", "1001")
        )
    )
    rows.append(
        _refusal(
            "NEWSMON_ES_URL=garbage",
            "newsmon search",
            _run({**env, "NEWSMON_ES_URL": "garbage"}, "search", "lương"),
        )
    )
    rows.append(
        _refusal(
            "NEWSMON_MAIL_FROM with CR/LF",
            "newsmon alerts list",
            _run({**env, "NEWSMON_MAIL_FROM": "a@b.vn\r\nBcc: x@y.vn"}, "alerts", "list"),
        )
    )
    return rows


def fuzz(cases: int = 10_000) -> Row:
    rng = random.Random(11)
    pieces = ["công", "đoàn", "nợ", "lương", "OR", "or", "-", "(", ")", '"', " ", "\u0300", "\x00", "*", ":"]
    crashed = 0
    for _ in range(cases):
        query = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 40)))
        try:
            parse(query)
        except QueryError:
            continue
        except Exception:  # noqa: BLE001 - counting what would reach the user as a traceback
            crashed += 1
    return {"case": "query language fuzz", "tried": f"{cases:,} random queries", "tracebacks": crashed}


def main() -> None:
    rows: list[Row] = []
    cases: list[Callable[[World], Row | None]] = [
        es_unreachable,
        es_refuses_writes,
        index_closed,
        sigkill_mid_crawl,
        sigkill_mid_replay,
        damaged_journal,
        damaged_journal_file,
        damaged_seen_store,
        full_disk,
    ]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "www" / "gen").mkdir(parents=True)
        with serve_sites(root / "www") as sites:
            site = sites["gen"]
            generate_site(site.root, ARTICLES, site.url.split("/")[2])
            for case in cases:
                world = World(root, site)
                try:
                    found = case(world)
                finally:
                    world.close()
                if found is not None:
                    rows.append(found)
                    print(json.dumps(found, ensure_ascii=False), flush=True)
            env = World(root, site).env
            for row in [*hostile_inputs(root, env), pathological_page(root, env), *web_attacks(env), fuzz()]:
                rows.append(row)
                print(json.dumps(row, ensure_ascii=False), flush=True)
    faults = [r for r in rows if "lost" in r]
    refusals = [r for r in rows if "refused cleanly" in r]
    lost = sum(int(r["lost"]) for r in faults)  # type: ignore[call-overload]
    doubled = sum(int(r["doubled"]) for r in faults)  # type: ignore[call-overload]
    survived = sum(1 for r in faults if r["lost"] == 0 and r["doubled"] == 0 and r.get("named", True))
    clean = sum(1 for r in refusals if r["refused cleanly"])
    tracebacks = sum(int(r.get("tracebacks", 0)) for r in rows)  # type: ignore[call-overload]
    print(
        f"{survived} of {len(faults)} faults survived, {clean} of {len(refusals)} inputs refused cleanly, "
        f"{lost} lost, {doubled} doubled, {tracebacks} fuzz tracebacks"
    )


if __name__ == "__main__":
    main()
