"""`make demo`: serve the bundled sample sites on loopback, crawl them, show search results.

Uses the index prefix `newsmon-demo` (unless NEWSMON_INDEX_PREFIX is set) so the demo
never mixes sample pages into a real archive.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from config.settings import Settings
from crawler.samples.server import serve_sites, write_registry

DEMO_PORTS = {"congdoan-mau": 8731, "ldld-tinh-mau": 8732, "laodongthudo-mau": 8733}
DEMO_QUERIES = ["nợ lương", "no luong", "Nghị quyết 02", "hoà giải"]


def main() -> int:
    os.environ.setdefault("NEWSMON_INDEX_PREFIX", "newsmon-demo")
    settings = Settings()
    newsmon = str(Path(sys.executable).with_name("newsmon"))
    with serve_sites(ports=DEMO_PORTS) as sites:
        registry = write_registry(settings.resolved_data_dir / "demo" / "sites.yaml", sites)
        env = dict(os.environ, NEWSMON_CONFIG=str(registry))
        if settings.managed_es:
            env["NEWSMON_ES_URL"] = settings.effective_es_url
        print(f"Đang thu thập {len(sites)} trang mẫu: " + ", ".join(s.url for s in sites.values()),
              flush=True)
        crawl = subprocess.run([newsmon, "crawl"], env=env, check=False)
        if crawl.returncode != 0:
            return crawl.returncode
    for query in DEMO_QUERIES:
        print(f"\n$ newsmon search {query!r}", flush=True)
        subprocess.run([newsmon, "search", query, "--limit", "3"], env=env, check=False)
    prefix = os.environ["NEWSMON_INDEX_PREFIX"]
    print(f"\nThử thêm: NEWSMON_INDEX_PREFIX={prefix} .venv/bin/newsmon search 'công đoàn'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
