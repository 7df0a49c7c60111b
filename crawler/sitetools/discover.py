"""`newsmon sites discover URL`: a ready registry entry for a site nobody has described yet,
from one run of `spiders/discover.py`, its article URLs' common shape, and three articles
extracted to show that newsmon can read it."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from lxml import html as lxml_html

from config.settings import Settings
from crawler.fetch import run_spider
from crawler.registry import RegistryError, Site, load_registry
from crawler.spiders.discover import DiscoverSpider, Found
from pipelines.extraction.page import extract_page
from pipelines.extraction.xpath import string
from search.article import in_vietnam_time, site_host
from search.textnorm import fold

MAX_SOURCES = 5  # of each kind in the entry: the first found are the site's main ones
_SHAPES = [  # (name, how a last path segment looks, the pattern's tail for it)
    ("slug-id.ext", re.compile(r"^[a-z0-9-]+-[a-z]?\d+\.([a-z]{2,4})$"), r"[a-z0-9-]+-[a-z]?\d+\.{ext}"),
    ("slug-id", re.compile(r"^[a-z0-9-]+-\d+/?$"), r"[a-z0-9-]+-\d+/?"),
    ("slug.ext", re.compile(r"^[a-z0-9-]+\.([a-z]{2,4})$"), r"[a-z0-9-]+\.{ext}"),
    ("long-slug", re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+){4,}/?$"), r"[a-z0-9]+(?:-[a-z0-9]+){4,}/?"),
]


def article_pattern(urls: list[str], host: str) -> str | None:
    """The `article_url` regex most of `urls` share (80 %), or None when they share none."""
    if not urls:
        return None
    base = r"^https?://(?:www\.)?" + re.escape(host) + r"/(?:[^/?#]+/)*"
    for _, shape, tail in _SHAPES:
        endings: Counter[str] = Counter()
        for url in urls:
            last = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] + ("/" if url.endswith("/") else "")
            found = shape.match(last)
            if found:
                endings[found.group(1) if found.groups() else ""] += 1
        if not endings:
            continue
        ending, count = endings.most_common(1)[0]
        pattern = base + tail.format(ext=re.escape(ending)) + "$"
        if count >= 0.8 * len(urls) and sum(bool(re.match(pattern, u)) for u in urls) >= 0.8 * len(urls):
            return pattern
    return None


def discover(home: str, config: Settings) -> Found:
    """Run discovery on the site (one Scrapy run, the crawl's settings)."""
    spider = run_spider(DiscoverSpider, config, home=home).spider
    assert isinstance(spider, DiscoverSpider)
    return spider.found


_SEPARATOR = re.compile(r"\s+[-|–—:»]\s+")


def _title_of(body: bytes) -> tuple[str, str]:
    """A page's `og:site_name` and `<title>` ('' when absent or unreadable)."""
    try:
        doc = lxml_html.fromstring(body)
    except (ValueError, lxml_html.etree.ParserError):
        return "", ""
    name = " ".join(string(doc, 'string(//meta[@property="og:site_name"]/@content)').split())
    return name, " ".join(string(doc, "string(//title)").split())


def site_title(bodies: list[bytes]) -> str | None:
    """The site's own name, from its home page first then its articles: `og:site_name`, else
    the part of the `<title>` that repeats across pages ("Tin mới nhất - Công đoàn X" and
    "Bài A - Công đoàn X" give "Công đoàn X"), else the home page title's last part."""
    titles = [_title_of(body) for body in bodies]
    for name, _ in titles:
        if len(name) >= 2:
            return name[:200]
    parts = [list(dict.fromkeys(p for p in _SEPARATOR.split(title) if p)) for _, title in titles if title]
    counts = Counter(part for page in parts for part in page)
    shared = [part for part, count in counts.most_common() if count >= 2 and len(part) >= 2]
    if shared:
        return shared[0][:200]
    if parts and len(parts[0]) > 1:
        return parts[0][-1][:200]
    return None


def _name(host: str, title: str | None) -> str:
    """A registry name: the host as letters and dashes, or the folded title when the host is
    only an address (`127.0.0.1`, `localhost`)."""
    bare = host.split(":", maxsplit=1)[0].lower()
    words = fold(title or "") if re.fullmatch(r"[\d.]+|localhost|\[[0-9a-f:]+\]", bare) else bare
    return re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")[:60] or "site"


def entry_for(found: Found, *, name: str | None = None, title: str | None = None) -> dict[str, Any]:
    """The registry entry discovery suggests, with the given name and title if any (validated
    by the caller)."""
    url = found.final_home or found.home
    host = site_host(url)
    bodies = [found.home_body] + [body for body, _ in found.pages.values()] if found.home_body else []
    title = title or site_title(bodies) or host
    entry: dict[str, Any] = {"name": name or _name(host, title), "title": title, "url": url}
    for key, values in (("feeds", found.feeds), ("sitemaps", found.sitemaps), ("listings", found.listings)):
        if values:
            entry[key] = list(dict.fromkeys(values))[:MAX_SOURCES]
    pattern = article_pattern(found.articles, host)
    if pattern:
        entry["article_url"] = pattern
    return entry


def tried_articles(found: Found) -> list[dict[str, Any]]:
    """The fetched articles as extracted: title, date (Vietnam time), first line, or why not."""
    rows: list[dict[str, Any]] = []
    for url, (body, kind) in found.pages.items():
        try:
            article = extract_page(body, url, kind)
        except ValueError as exc:
            rows.append({"url": url, "error": str(exc)})
            continue
        if article is None:
            rows.append({"url": url, "error": "không lấy được nội dung"})
            continue
        first = (article.text or "").strip().splitlines()[0][:120] if article.text else ""
        rows.append(
            {
                "url": url,
                "title": article.title,
                "published": in_vietnam_time(article.published),
                "first_line": first,
                "chars": len(article.text or ""),
            }
        )
    return rows


def add_to_registry(path: Path, entry: dict[str, Any]) -> Site:
    """Append `entry` to the registry file (nothing else in it changes); the whole file must
    still validate, else it is left as it was and RegistryError says why."""
    original = path.read_text(encoding="utf-8")
    known = {site.name for site in load_registry(path)}
    base, number = entry["name"], 2
    while entry["name"] in known:
        entry["name"], number = f"{base}-{number}", number + 1
    block = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=200)
    text = (
        original
        + ("" if original.endswith("\n") else "\n")
        + "".join(f"  {line}\n" for line in block.splitlines())
    )
    path.write_text(text, encoding="utf-8")
    try:
        sites = load_registry(path)
    except RegistryError:
        path.write_text(original, encoding="utf-8")
        raise
    return next(site for site in sites if site.name == entry["name"])
