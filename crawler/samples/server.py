"""Serve the bundled sample sites on 127.0.0.1, one port per site, for the demo and the tests.

`{HOST}` in a page is replaced by the address it is served from, so absolute links
such as `<link rel=canonical>` point back at the loopback site.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import yaml

SITES_DIR = Path(__file__).parent / "sites"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".gz": "application/gzip",
}


@dataclass
class SampleSite:
    """One running site: its name, root directory, server and the paths requested so far."""

    name: str
    root: Path
    server: ThreadingHTTPServer
    requests: list[str] = field(default_factory=list)
    not_modified: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The site's home page address on loopback."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/"


def _redirects(root: Path) -> dict[str, str]:
    """`_redirects.txt` in a site directory: one `path target` pair per line (301)."""
    table = root / "_redirects.txt"
    if not table.exists():
        return {}
    pairs = (line.split() for line in table.read_text(encoding="utf-8").splitlines())
    return {p[0]: p[1] for p in pairs if len(p) == 2}


def _handler(site_ref: list[SampleSite]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real sites serve

        def do_GET(self) -> None:
            site = site_ref[0]
            path = unquote(urlsplit(self.path).path)
            site.requests.append(self.path)
            moved = _redirects(site.root).get(path)
            if moved:
                self.send_response(301)
                self.send_header("Location", moved)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if path.startswith("/lich/") and (site.root / "_calendar").exists():
                self._calendar(urlsplit(self.path).query)
                return
            target = (site.root / path.lstrip("/")).resolve()
            if path.endswith("/") or target.is_dir():  # a section or tag page: its index
                target = target / "index.html"
            if not target.is_relative_to(site.root.resolve()) or not target.is_file():
                self.send_error(404, "Not Found")
                return
            body = target.read_bytes()
            if target.suffix in (".html", ".htm", ".xml", ".rss", ".atom"):
                host = self.headers.get("Host") or site.url.split("/")[2]
                body = body.replace(b"{HOST}", host.encode("ascii", "replace"))
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                site.not_modified.append(self.path)
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", _TYPES.get(target.suffix, "application/octet-stream"))
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", formatdate(target.stat().st_mtime, usegmt=True))
            self.end_headers()
            self.wfile.write(body)

        def _calendar(self, query: str) -> None:
            """A spider trap: every day of an endless calendar links to the next one."""
            day = dict(parse_qsl(query)).get("ngay", "2021-12-01")
            try:
                current = date.fromisoformat(day)
            except ValueError:
                current = date(2021, 12, 1)
            following = current + timedelta(days=1)
            body = (
                f"<html><body><h1>Lịch công tác ngày {current:%d/%m/%Y}</h1>"
                f'<a href="/lich/?ngay={following.isoformat()}">Ngày sau</a></body></html>'
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serve_sites(
    root: Path = SITES_DIR, ports: dict[str, int] | None = None
) -> Iterator[dict[str, SampleSite]]:
    """Serve every site directory under `root` (port 0 = any free port) until the block ends."""
    running: dict[str, SampleSite] = {}
    try:
        for directory in sorted(p for p in root.iterdir() if p.is_dir()):
            ref: list[SampleSite] = []
            server = ThreadingHTTPServer(("127.0.0.1", (ports or {}).get(directory.name, 0)), _handler(ref))
            server.daemon_threads = True
            site = SampleSite(directory.name, directory, server)
            ref.append(site)
            running[site.name] = site
            threading.Thread(target=server.serve_forever, daemon=True).start()
        yield running
    finally:
        for site in running.values():
            site.server.shutdown()
            site.server.server_close()


def write_registry(path: Path, sites: dict[str, SampleSite]) -> Path:
    """A sites.yaml pointing newsmon at the running sample sites."""
    doc = {"sites": [{"name": s.name, "url": s.url} for s in sites.values()]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
