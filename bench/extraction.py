"""Extraction quality and speed: bare trafilatura vs newsmon's extractor, side by side.

1. The public article-extraction benchmark (../shared/eval/...): both extractors on the
   same pages in the same order, one process, best of `--repeat` timed passes; predictions
   scored by the shared scorer (the leaderboard's metric): F1/P/R/accuracy, pages/s.
2. newsmon's Vietnamese fixture pages (tests/fixtures/pages): body F1/P/R/accuracy with
   the same scorer, and how many pages get the publication date *and time* exactly right.
3. The vn-dev world (../shared/eval/vn-dev): every gold story from its stored page (the
   last day's version), body F1/P/R, title exact, date+time exact and shown in +07:00.

`--processes`: the same benchmark pages as whole processes, `newsmon extract --json FILES`
against a Python process that imports trafilatura and extracts the same files (start-up
and imports included: what a person running the command waits for), best of `--repeat`.

`--gate` (run by .ci/run, seconds): newsmon alone, one pass, and exit 1 when a score falls
below its pinned floor (`FLOORS`). A floor is raised when a change earns it, and lowered
only on purpose, in the same commit as the change that costs it, saying why.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import trafilatura

from crawler.registry import load_registry
from pipelines.extraction.page import extract_page
from pipelines.extraction.siterules import ExtractRules
from search.article import Article, to_iso

ROOT = Path(__file__).resolve().parent.parent
# The shared evaluation folder sits beside the checkout; NEWSMON_SHARED_DIR points elsewhere.
SHARED = Path(os.environ.get("NEWSMON_SHARED_DIR") or ROOT.parent / "shared")
BENCH = SHARED / "eval" / "article-extraction-benchmark"
SCORER = SHARED / "tools" / "eval_extraction.py"
FIXTURES = ROOT / "tests" / "fixtures" / "pages"
FIXTURE_REGISTRY = ROOT / "tests" / "fixtures" / "sites.yaml"

# Pinned floors for --gate. Measured 2026-12-02 after ranked dates, closing lines, doubled
# blocks and split titles: benchmark F1 0.972, P 0.975; fixtures 1.000 and every date;
# vn-dev stored pages F1 0.996, titles and dates all; vn-dev2 (see docs/benchmarks.md).
FLOORS = {
    "benchmark f1": 0.970,
    "benchmark precision": 0.973,
    "fixtures f1": 0.999,
    "fixtures dates": 1.0,
    "vn-dev f1": 0.99,
    "vn-dev titles": 0.99,
    "vn-dev dates": 0.99,
    "vn-dev2 f1": 0.99,
    "vn-dev2 titles": 0.99,
    "vn-dev2 dates": 0.99,
}

Extractor = Callable[[bytes, "str | None"], str]


def fixture_rules(page: Path) -> ExtractRules | None:
    """The rules tests/fixtures/sites.yaml gives the template a stored page belongs to."""
    site = next((s for s in load_registry(FIXTURE_REGISTRY) if s.name == page.parent.name), None)
    return site.extract if site is not None else None


def bare(html: bytes, url: str | None) -> str:
    return trafilatura.extract(html.decode("utf-8", "replace"), url=url) or ""


def ours(html: bytes, url: str | None) -> str:
    article = extract_page(html, url, "text/html; charset=utf-8", min_chars=0)
    return article.text if article else ""


def timed(
    name: str, fn: Extractor, pages: dict[str, bytes], urls: dict[str, str | None], repeat: int
) -> tuple[dict[str, dict[str, str]], float]:
    best = float("inf")
    preds: dict[str, dict[str, str]] = {}
    for _ in range(repeat):
        start = time.perf_counter()
        preds = {key: {"articleBody": fn(html, urls[key])} for key, html in pages.items()}
        best = min(best, time.perf_counter() - start)
    print(f"{name}: {len(pages)} pages, best of {repeat}: {best:.2f} s = {len(pages) / best:.1f} pages/s")
    return preds, best


def score(tmp: Path, gold: dict[str, dict[str, str]], runs: dict[str, dict[str, dict[str, str]]]) -> None:
    gold_path = tmp / "gold.json"
    gold_path.write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
    paths = []
    for name, preds in runs.items():
        path = tmp / f"{name}.json"
        path.write_text(json.dumps(preds, ensure_ascii=False), encoding="utf-8")
        paths.append(str(path))
    subprocess.run(
        [sys.executable, str(SCORER), "--gold", str(gold_path), *paths, "--n-bootstrap", "200"], check=True
    )


def benchmark(tmp: Path, limit: int, repeat: int) -> None:
    gold = json.loads((BENCH / "ground-truth.json").read_text(encoding="utf-8"))
    keys = sorted(gold)[: limit or None]
    pages = {k: gzip.decompress((BENCH / "html" / f"{k}.html.gz").read_bytes()) for k in keys}
    urls = {k: gold[k].get("url") for k in keys}
    ours(pages[keys[0]], None)  # warm-up: imports, caches
    base, t_bare = timed("trafilatura (defaults)", bare, pages, urls, repeat)
    mine, t_ours = timed("newsmon", ours, pages, urls, repeat)
    print(f"time per page, newsmon / trafilatura: {t_ours / t_bare:.2f}")
    score(tmp, {k: gold[k] for k in keys}, {"trafilatura": base, "newsmon": mine})


def fixture_runs() -> Iterator[tuple[str, bytes, dict[str, Any], Article | None]]:
    """Each fixture page: its key, bytes, expected article and what newsmon makes of it."""
    for page in sorted(FIXTURES.glob("*/*.html")):
        expected = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
        html = page.read_bytes()
        yield (
            f"{page.parent.name}/{page.stem}",
            html,
            expected,
            extract_page(html, expected["url"], rules=fixture_rules(page)),
        )


def fixtures(tmp: Path) -> None:
    print(f"\nVietnamese fixture pages ({FIXTURES.relative_to(ROOT)}):")
    gold, base, mine = {}, {}, {}
    dates = {"trafilatura": 0, "newsmon": 0}
    for key, html, expected, article in fixture_runs():
        gold[key] = {"articleBody": expected["text"]}
        doc = trafilatura.bare_extraction(html, url=expected["url"], with_metadata=True)
        base[key] = {"articleBody": doc.text if doc else ""}
        mine[key] = {"articleBody": article.text if article else ""}
        bare_date = to_iso(doc.date) if doc and doc.date else None
        dates["trafilatura"] += bare_date == expected["published"]
        dates["newsmon"] += bool(article) and article.published == expected["published"]
    for name, right in dates.items():
        print(f"{name}: publication date and time exact on {right}/{len(gold)} pages")
    score(tmp, gold, {"trafilatura-vi": base, "newsmon-vi": mine})


def _scorer() -> Callable[..., tuple[dict[str, float], list[dict[str, object]]]]:
    spec = importlib.util.spec_from_file_location("eval_extraction", SCORER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.evaluate  # type: ignore[no-any-return]


def gate() -> int:
    """newsmon's scores against the pinned floors; 1 when one is below."""
    found: dict[str, float] = {}
    if SCORER.exists() and BENCH.exists():
        evaluate = _scorer()
        gold = json.loads((BENCH / "ground-truth.json").read_text(encoding="utf-8"))
        preds = {
            k: {
                "articleBody": ours(
                    gzip.decompress((BENCH / "html" / f"{k}.html.gz").read_bytes()), gold[k].get("url")
                )
            }
            for k in sorted(gold)
        }
        metrics, _ = evaluate(gold, preds, n_bootstrap=0)
        found["benchmark f1"], found["benchmark precision"] = metrics["f1"], metrics["precision"]
    else:
        print(f"public benchmark not found under {SHARED}: its floors are not checked")
        evaluate = None
    gold, mine, right = {}, {}, 0
    for key, _, expected, article in fixture_runs():
        gold[key] = {"articleBody": expected["text"]}
        mine[key] = {"articleBody": article.text if article else ""}
        right += bool(article) and article.published == expected["published"]
    if not gold:
        print(f"no fixture pages under {FIXTURES}: the gate's own corpus is missing")
        return 1
    found["fixtures dates"] = right / len(gold)
    # The fixtures are this repository's own corpus: scored by the shared scorer when it is
    # there, else by a token F1 of our own, so the gate never passes without checking them.
    found["fixtures f1"] = (
        evaluate(gold, mine, n_bootstrap=0)[0]["f1"] if evaluate is not None else token_f1(gold, mine)
    )
    for name, world in WORLDS.items():
        if evaluate is not None and (world / "gold.jsonl").exists():
            found.update(_vn_dev_scores(evaluate, name, world))
    failed = 0
    for name, value in found.items():
        ok = value >= FLOORS[name]
        failed += not ok
        print(f"{name}: {value:.3f} (floor {FLOORS[name]:.3f}) {'ok' if ok else 'BELOW THE FLOOR'}")
    return 1 if failed else 0


def token_f1(gold: dict[str, dict[str, str]], predicted: dict[str, dict[str, str]]) -> float:
    """Mean over pages of the F1 of the body's whitespace tokens (a multiset overlap)."""
    scores = []
    for key, expected in gold.items():
        want = Counter(expected["articleBody"].split())
        got = Counter(predicted.get(key, {}).get("articleBody", "").split())
        common = sum((want & got).values())
        if not want or not got or not common:
            scores.append(float(not want and not got))
            continue
        precision, recall = common / sum(got.values()), common / sum(want.values())
        scores.append(2 * precision * recall / (precision + recall))
    return sum(scores) / len(scores)


# The public offline worlds whose stored pages the report scores and the gate holds.
WORLDS = {"vn-dev": SHARED / "eval" / "vn-dev", "vn-dev2": SHARED / "eval" / "vn-dev2"}


def _vn_dev_page(world: Path, story: dict[str, str], charset: str) -> tuple[bytes, str] | None:
    """A story's stored page (its last day's version) and content type."""
    site_dir = world / "sites" / story["site"]
    path = story["url"].split("/", 3)[3]
    for day in ("day2", "base", "day1"):
        for name in (path, path.rstrip("/") + "/index.html", path + "__noslash.html"):
            if (site_dir / day / name).is_file():
                return (site_dir / day / name).read_bytes(), f"text/html; charset={charset}"
    return None


def vn_dev_runs(world: Path) -> Iterator[tuple[dict[str, Any], bytes | None, Article | None]]:
    """Each gold story of a world, its stored page (None when missing) and newsmon's article."""
    routes = json.loads((world / "sites" / "routes.json").read_text(encoding="utf-8"))["sites"]
    for line in (world / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        story = json.loads(line)
        found = _vn_dev_page(world, story, routes[story["site"]]["charset"])
        if found is None:
            yield story, None, None
        else:
            yield story, found[0], extract_page(found[0], story["url"], found[1])


def vn_dev(tmp: Path, name: str, world: Path) -> None:
    """A world's gold stories, extracted from its stored pages (no crawl)."""
    if not (world / "gold.jsonl").exists():
        print(f"\n{name} not found under {SHARED}: skipped")
        return
    gold, mine, base = {}, {}, {}
    hits = {"title": 0, "published": 0, "+07:00": 0, "missing": 0}
    misses: list[str] = []
    for story, html, article in vn_dev_runs(world):
        gold[story["id"]] = {"articleBody": story["text"]}
        mine[story["id"]] = {"articleBody": article.text if article else ""}
        bare_text = (trafilatura.extract(html, url=story["url"]) or "") if html else ""
        base[story["id"]] = {"articleBody": bare_text}
        if html is None:
            hits["missing"] += 1
            continue
        if article is None:
            misses.append(f"{story['id']}: no article")
            continue
        hits["title"] += article.title == story["title"]
        hits["published"] += article.published is not None and datetime.fromisoformat(
            article.published
        ) == datetime.fromisoformat(story["published"])
        hits["+07:00"] += article.published == story["published"]
        if article.title != story["title"]:
            misses.append(f"{story['id']}: title {article.title!r}")
        if article.published != story["published"]:
            misses.append(f"{story['id']}: published {article.published} (gold {story['published']})")
    print(
        f"\n{name} ({len(gold)} gold stories, stored pages, no crawl): title exact {hits['title']}, "
        f"date+time exact {hits['published']}, shown in +07:00 {hits['+07:00']}, page not found "
        f"{hits['missing']}"
    )
    for line in misses:
        print("  " + line)
    score(tmp, gold, {f"trafilatura-{name}": base, f"newsmon-{name}": mine})


def _vn_dev_scores(
    evaluate: Callable[..., tuple[dict[str, float], object]], name: str, world: Path
) -> dict[str, float]:
    gold, mine, titles, dates = {}, {}, 0, 0
    for story, _, article in vn_dev_runs(world):
        gold[story["id"]] = {"articleBody": story["text"]}
        mine[story["id"]] = {"articleBody": article.text if article else ""}
        titles += bool(article) and article.title == story["title"]
        dates += bool(article) and article.published == story["published"]
    return {
        f"{name} f1": evaluate(gold, mine, n_bootstrap=0)[0]["f1"],
        f"{name} titles": titles / len(gold),
        f"{name} dates": dates / len(gold),
    }


# Bare trafilatura as a whole process: import it, extract each file given, print the texts.
_BARE_PROCESS = """
import json, sys
import trafilatura
for path in sys.argv[1:]:
    text = trafilatura.extract(open(path, "rb").read().decode("utf-8", "replace"))
    print(json.dumps({"path": path, "text": text or ""}, ensure_ascii=False))
"""


def processes(tmp: Path, limit: int, repeat: int) -> None:
    """Whole-process time of `newsmon extract` and of bare trafilatura on the benchmark pages."""
    gold = json.loads((BENCH / "ground-truth.json").read_text(encoding="utf-8"))
    keys = sorted(gold)[: limit or None]
    files = []
    for key in keys:
        path = tmp / f"{key}.html"
        path.write_bytes(gzip.decompress((BENCH / "html" / f"{key}.html.gz").read_bytes()))
        files.append(str(path))
    newsmon = str(Path(sys.executable).parent / "newsmon")
    runs = {
        "bare trafilatura": [sys.executable, "-c", _BARE_PROCESS, *files],
        "newsmon extract": [newsmon, "extract", "--json", *files],
    }
    best: dict[str, float] = {}
    for _ in range(repeat):
        for name, command in runs.items():  # alternated, so a slow moment hits both
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - start)
    for name, seconds in best.items():
        print(f"{name}: {len(files)} pages as one process, best of {repeat}: {seconds:.2f} s")
    started = {}
    for name, command in {
        "bare trafilatura": [sys.executable, "-c", "import trafilatura"],
        "newsmon extract": [newsmon, "extract", "--help"],
    }.items():
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        started[name] = time.perf_counter() - start
    print(
        f"whole process: newsmon x{best['newsmon extract'] / best['bare trafilatura']:.2f} of bare "
        f"trafilatura's time (target <= 1.10); start-up alone {started['newsmon extract']:.2f} s "
        f"against {started['bare trafilatura']:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=0, help="only the first N benchmark pages")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the best counts")
    parser.add_argument("--gate", action="store_true", help="check the pinned floors only (CI)")
    parser.add_argument("--vn-dev", action="store_true", help="only the public worlds' stored pages")
    parser.add_argument("--processes", action="store_true", help="whole-process time against trafilatura's")
    args = parser.parse_args()
    if args.processes:
        with tempfile.TemporaryDirectory() as tmp:
            processes(Path(tmp), args.limit, args.repeat)
        return
    if args.gate:
        sys.exit(gate())
    if args.vn_dev:
        with tempfile.TemporaryDirectory() as tmp:
            for name, world in WORLDS.items():
                vn_dev(Path(tmp), name, world)
        return
    with tempfile.TemporaryDirectory() as tmp:
        benchmark(Path(tmp), args.limit, args.repeat)
        fixtures(Path(tmp))
        for name, world in WORLDS.items():
            vn_dev(Path(tmp), name, world)


if __name__ == "__main__":
    main()
