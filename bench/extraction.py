"""Extraction quality and speed: bare trafilatura vs newsmon's extractor, side by side.

Runs both on the public article-extraction benchmark (../shared/eval/...), writes their
predictions, scores them with the shared scorer (the leaderboard's metric) and prints
F1/P/R/accuracy and pages per second (one process each, same pages, same order).
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trafilatura

from pipelines.extract import extract_page

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
BENCH = SHARED / "eval" / "article-extraction-benchmark"
SCORER = SHARED / "tools" / "eval_extraction.py"


def bare(html: bytes, url: str | None) -> str:
    return trafilatura.extract(html.decode("utf-8", "replace"), url=url) or ""


def ours(html: bytes, url: str | None) -> str:
    article = extract_page(html, url, "text/html; charset=utf-8", min_chars=0)
    return article["text"] if article else ""


def run(name: str, fn, pages: dict[str, bytes], gold: dict, out: Path) -> float:
    preds = {}
    start = time.perf_counter()
    for key, html in pages.items():
        preds[key] = {"articleBody": fn(html, gold[key].get("url"))}
    elapsed = time.perf_counter() - start
    out.write_text(json.dumps(preds, ensure_ascii=False), encoding="utf-8")
    print(f"{name}: {len(pages)} pages in {elapsed:.2f} s = {len(pages) / elapsed:.1f} pages/s")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=0, help="only the first N pages")
    args = parser.parse_args()
    gold = json.loads((BENCH / "ground-truth.json").read_text(encoding="utf-8"))
    keys = sorted(gold)[: args.limit or None]
    pages = {k: gzip.decompress((BENCH / "html" / f"{k}.html.gz").read_bytes()) for k in keys}
    with tempfile.TemporaryDirectory() as tmp:
        base, mine = Path(tmp) / "trafilatura.json", Path(tmp) / "newsmon.json"
        ours(pages[keys[0]], None)  # warm-up: imports, caches
        t_bare = run("trafilatura (defaults)", bare, pages, gold, base)
        t_ours = run("newsmon", ours, pages, gold, mine)
        print(f"time per page, newsmon / trafilatura: {t_ours / t_bare:.2f}")
        gold_path = Path(tmp) / "gold.json"
        gold_path.write_text(json.dumps({k: gold[k] for k in keys}), encoding="utf-8")
        subprocess.run([sys.executable, str(SCORER), "--gold", str(gold_path), str(base), str(mine),
                        "--n-bootstrap", "200"], check=True)


if __name__ == "__main__":
    main()
