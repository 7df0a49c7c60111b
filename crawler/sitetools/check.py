"""`newsmon sites check`: can newsmon read each site now? One reactor run probes every site
(`spiders/check.py`), then the fetched articles are extracted here, and each site gets one
line per check, labelled in Vietnamese for the people who maintain the registry."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from config.settings import Settings
from crawler.fetch import run_spider
from crawler.registry import Site
from crawler.spiders.check import CheckSpider, Probe
from pipelines.extraction.page import MIN_BODY_CHARS, extract_page
from search.article import same_site, to_iso
from search.web.format import moment

KINDS = {
    "robots": "robots.txt",
    "feed": "RSS/Atom",
    "sitemap": "sitemap",
    "listing": "trang danh sách",
    "home": "trang chủ",
    "article": "bài viết",
}


@dataclass
class Check:
    """One check of one site."""

    label: str
    url: str
    ok: bool
    detail: str


@dataclass
class SiteCheck:
    """Every check of a site; `readable` when at least one article extracted with a title and
    a body over the floor."""

    site: str
    readable: bool = False
    moved_to: str | None = None
    checks: list[Check] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def check_sites(sites: list[Site], config: Settings) -> list[SiteCheck]:
    """Probe the sites live (one Scrapy run) and judge what came back."""
    crawler = run_spider(CheckSpider, config, sites=sites)
    spider = crawler.spider
    assert isinstance(spider, CheckSpider)
    stats = crawler.stats.get_stats() if crawler.stats else {}
    results = []
    for site in sites:
        probes = [p for p in spider.probes if p.site == site.name]
        results.append(_judge(site, probes, stats))
    return results


def _judge(site: Site, probes: list[Probe], stats: dict[str, Any]) -> SiteCheck:
    result = SiteCheck(site.name)
    for probe in probes:
        label = KINDS[probe.kind]
        moved = probe.final_url and not any(same_site(probe.final_url, h) for h in site.hosts)
        if moved and probe.kind in ("home", "feed", "sitemap", "listing"):
            result.moved_to = result.moved_to or probe.final_url
        if probe.error is not None:
            ok = probe.kind == "robots"  # no robots.txt at all is allowed
            result.checks.append(Check(label, probe.url, ok, f"không tải được: {probe.error}"))
        elif probe.kind == "robots":
            found = probe.status is not None and probe.status < 400
            detail = "có" if found else f"không có (HTTP {probe.status})"
            result.checks.append(Check(label, probe.url, True, detail))
        elif probe.kind == "article":
            result.checks.append(_article(probe, site, result))
        elif probe.status is not None and probe.status >= 400:
            result.checks.append(Check(label, probe.url, False, f"trả lời HTTP {probe.status}"))
        else:
            count = len(probe.articles)
            detail = (
                f"HTTP {probe.status}, {count} địa chỉ bài viết"
                if count
                else f"HTTP {probe.status} nhưng không có địa chỉ bài viết nào"
            )
            result.checks.append(Check(label, probe.url, count > 0, detail))
    if not any(p.kind == "article" for p in probes):
        result.checks.append(Check("bài viết", site.url, False, "không tìm được bài viết nào để đọc thử"))
    if stats.get("newsmon/challenges"):
        passed = not stats.get("newsmon/errors/challenge")
        result.checks.append(
            Check(
                "thử thách JavaScript (cookie)",
                site.url,
                passed,
                "đã vượt qua" if passed else "không vượt qua được",
            )
        )
    if result.moved_to:
        result.checks.append(
            Check(
                "chuyển địa chỉ",
                site.url,
                False,
                f"trang đã chuyển hẳn sang {result.moved_to}: cập nhật url hoặc aliases",
            )
        )
    return result


def _article(probe: Probe, site: Site, result: SiteCheck) -> Check:
    if probe.status is not None and probe.status >= 400:
        return Check("bài viết", probe.url, False, f"trả lời HTTP {probe.status}")
    try:
        article = extract_page(
            probe.body, probe.final_url or probe.url, probe.content_type, rules=site.extract
        )
    except ValueError as exc:
        return Check("bài viết", probe.url, False, f"không đọc được: {exc}")
    if article is None or not article.title or len(article.text or "") < MIN_BODY_CHARS:
        return Check("bài viết", probe.url, False, "không lấy được tiêu đề và nội dung")
    result.readable = True
    date = moment(to_iso(article.published)) or "KHÔNG CÓ NGÀY"
    first = (article.text or "").strip().splitlines()[0][:80]
    size = f"{len(article.text or ''):,}".replace(",", ".")
    detail = f"“{article.title[:80]}” · {date} · {size} ký tự · {first}"
    return Check("bài viết", probe.url, bool(article.published), detail)
