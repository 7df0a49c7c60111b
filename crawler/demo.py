"""`make demo`: serve the bundled sample sites on loopback, crawl them (which runs a demo
alert; its mail goes to the outbox as an `.eml` file), show search results.

Uses the index prefix `newsmon-demo` (unless NEWSMON_INDEX_PREFIX is set) and its own
state directory `$NEWSMON_DATA_DIR/demo/`, so the demo never mixes sample pages, alerts or
mails into a real archive.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from config.settings import get_settings
from crawler.samples.server import serve_sites, write_registry

DEMO_PORTS = {"congdoan-mau": 8731, "ldld-tinh-mau": 8732, "laodongthudo-mau": 8733}
DEMO_QUERIES = ["nợ lương", "no luong", "Nghị quyết 02", "hoà giải"]


def main() -> int:
    """Serve the samples, crawl them, show results; the exit status of the crawl."""
    os.environ.setdefault("NEWSMON_INDEX_PREFIX", "newsmon-demo")
    settings = get_settings()
    newsmon = str(Path(sys.executable).with_name("newsmon"))
    with serve_sites(ports=DEMO_PORTS) as sites:
        registry = write_registry(settings.resolved_data_dir / "demo" / "sites.yaml", sites)
        demo_dir = settings.resolved_data_dir / "demo"
        env = dict(os.environ, NEWSMON_CONFIG=str(registry), NEWSMON_DATA_DIR=str(demo_dir))
        env.pop("NEWSMON_SMTP_HOST", None)
        if settings.managed_es:
            env["NEWSMON_ES_URL"] = settings.effective_es_url
        subprocess.run(
            [
                newsmon,
                "alerts",
                "add",
                "--name",
                "Nợ lương (demo)",
                "--query",
                'nợ lương OR "trả lương"',
                "--email",
                "demo@localhost.localdomain",
            ],
            env=env,
            check=False,
            capture_output=True,
        )  # exists already on a second run
        print(
            f"Đang thu thập {len(sites)} trang mẫu: " + ", ".join(s.url for s in sites.values()), flush=True
        )
        crawl = subprocess.run([newsmon, "crawl"], env=env, check=False)
        if crawl.returncode != 0:
            return crawl.returncode
    for query in DEMO_QUERIES:
        print(f"\n$ newsmon search {query!r}", flush=True)
        subprocess.run([newsmon, "search", query, "--limit", "3"], env=env, check=False)
    mails = sorted((demo_dir / "outbox").glob("*.eml"))
    if mails:
        print(f"\nThư cảnh báo (không có SMTP nên ghi vào hộp thư đi): {mails[-1]}")
    prefix = os.environ["NEWSMON_INDEX_PREFIX"]
    demo_env = f"NEWSMON_INDEX_PREFIX={prefix} NEWSMON_DATA_DIR={demo_dir} NEWSMON_CONFIG={registry}"
    print(
        "\nHai bước tiếp theo:\n"
        f"  1. Xem kho mẫu trên ứng dụng web: {demo_env} .venv/bin/newsmon serve\n"
        "     rồi mở http://127.0.0.1:8000/ (Ctrl-C để dừng)\n"
        "  2. Thêm một trang thật: .venv/bin/newsmon sites discover https://ten-trang.vn/ --add\n"
        "     rồi .venv/bin/newsmon crawl --site <tên trang>  (README.md: “Add a site”)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
