"""A line that repeats across a site's pages is the template's: learnt as pages arrive, kept
between crawls, left out of later bodies, never stripping a page down to nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from crawler.samples.server import SampleSite
from crawler.samples.sitegen import generate_site, write_indexes
from pipelines.extraction.profile import MIN_PAGES, SiteProfile, line_key, strip_lines
from search import textnorm
from tests.support import host_of, run_cli, site_registry

HOTLINE = "Đường dây nóng bảo vệ quyền lợi đoàn viên, người lao động: 1900 1234 (miễn phí)."


def _page(n: int) -> str:
    return f"Tin riêng số {n} về hoạt động công đoàn cơ sở trong tháng này.\n{HOTLINE}"


def test_a_line_on_enough_pages_becomes_boilerplate_and_is_remembered(
    tmp_path: Path, engine: str | None
) -> None:
    profile = SiteProfile(tmp_path / "profiles.sqlite", "cd", engine)
    learnt = [profile.add_page(textnorm.fold(_page(n))) for n in range(MIN_PAGES + 3)]
    assert learnt.index(True) == MIN_PAGES - 1  # on the fifth page
    profile.save()
    # Another machine (another data directory) sharing the database starts from it.
    elsewhere = tmp_path / "elsewhere" / "profiles.sqlite"
    again = SiteProfile(elsewhere if engine else tmp_path / "profiles.sqlite", "cd", engine)
    assert again.pages == MIN_PAGES + 3
    assert line_key(textnorm.fold(HOTLINE)) in again.known
    assert SiteProfile(tmp_path / "profiles.sqlite", "other", engine).known == frozenset()
    text = _page(99)
    kept, folded = strip_lines(text, textnorm.fold(text), again.known)
    assert kept == "Tin riêng số 99 về hoạt động công đoàn cơ sở trong tháng này."
    assert folded == textnorm.fold(kept)


def test_a_batch_of_a_sites_first_pages_loses_the_lines_they_share() -> None:
    from pipelines.extraction.pool import extract_batch

    html = (
        "<html><head><meta charset='utf-8'><title>Bài số {n} | Trang</title></head><body><article>"
        "<h1>Bài số {n}: công đoàn chăm lo cho người lao động</h1><div>{body}<p>{line}</p>"
        "</div></article></body></html>"
    )

    def body(n: int) -> str:
        return "".join(
            f"<p>Đoạn {i} của bài số {n}: công đoàn cơ sở chăm lo đời sống đoàn viên, người "
            f"lao động, tổ chức đối thoại định kỳ tại doanh nghiệp trong quý {n}.</p>"
            for i in range(3)
        )

    pages = [
        (
            html.format(n=n, body=body(n), line=HOTLINE).encode(),
            f"https://cd.example.vn/bai-so-{n}-100{n}.html",
            None,
            None,
            (),
        )
        for n in range(MIN_PAGES + 1)
    ]
    together, shared = extract_batch(pages, learn=True)  # a young profile: the batch learns
    assert shared == {line_key(textnorm.fold(HOTLINE))}
    assert all(ok and article is not None for ok, article in together)
    assert not any("Đường dây nóng" in article.text for _, article in together)
    alone, _ = extract_batch(pages[: MIN_PAGES - 1], learn=True)  # too few pages to tell
    assert all("Đường dây nóng" in article.text for _, article in alone)


@pytest.mark.es
def test_the_template_line_leaves_the_bodies_of_a_crawled_site(
    site: SampleSite, env: dict[str, str], es: Elasticsearch
) -> None:
    articles = generate_site(site.root, 30, host_of(site))
    for article in articles:  # the site's template puts its hotline inside every article's content
        page = site.root / article.path
        page.write_text(
            page.read_text(encoding="utf-8").replace(
                '<div class="content">', f'<div class="content"><p>{HOTLINE}</p>'
            ),
            encoding="utf-8",
        )
    site_registry(env, site, sitemaps=["/sitemap.xml"])
    assert run_cli("crawl", env=env).returncode == 0
    docs = [json.loads(line) for line in run_cli("export", env=env).stdout.splitlines()]
    assert len(docs) == 30
    with_line = [d for d in docs if "Đường dây nóng" in d["text"]]
    assert with_line == []  # a new site's first pages are read together: its template shows at once

    more = generate_site(site.root / "_more", 33, host_of(site))[30:]  # three new articles, same template
    for article in more:
        target = site.root / article.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            (site.root / "_more" / article.path)
            .read_text(encoding="utf-8")
            .replace('<div class="content">', f'<div class="content"><p>{HOTLINE}</p>'),
            encoding="utf-8",
        )
    write_indexes(site.root, [*articles, *more], host_of(site))
    assert run_cli("crawl", env=env).returncode == 0
    docs = {d["url"]: d for d in map(json.loads, run_cli("export", env=env).stdout.splitlines())}
    new = [docs[site.url + a.path] for a in more]
    assert all("Đường dây nóng" not in d["text"] for d in new)  # the next crawl knows the template
    assert all(len(d["text"]) > 200 for d in new)
