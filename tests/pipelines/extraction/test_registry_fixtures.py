"""Site rules earn their place: every registry site that carries `extract:` rules has a stored
page under tests/fixtures/pages/<site>/ whose expected article the rules produce and the
generic path does not (in the manner of Fundus's publisher coverage test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.registry import Site, load_registry
from pipelines.extraction.page import extract_page
from tests.support import FIXTURE_PAGES, FIXTURE_REGISTRY, ROOT

_CHECKED = ("title", "text", "published", "author")


def rule_coverage_problems(sites: list[Site], pages: Path) -> list[str]:
    """What is wrong with the fixtures of the rules-carrying `sites` (empty when nothing)."""
    problems = []
    for site in (s for s in sites if s.extract is not None):
        stored = sorted((pages / site.name).glob("*.html"))
        if not stored:
            problems.append(f"{site.name}: carries extract rules but has no page under {pages / site.name}")
        for page in stored:
            expected = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
            ruled = extract_page(page.read_bytes(), expected["url"], rules=site.extract)
            generic = extract_page(page.read_bytes(), expected["url"])
            wrong = [k for k in _CHECKED if ruled is None or getattr(ruled, k) != expected[k]]
            if wrong:
                problems.append(f"{page.name}: with the rules, {', '.join(wrong)} differ from the expected")
            if generic is not None and all(getattr(generic, k) == expected[k] for k in _CHECKED):
                problems.append(f"{page.name}: the generic path gets it right; the rules are not needed")
    return problems


@pytest.mark.parametrize(
    "registry",
    [ROOT / "config" / "sites.yaml", FIXTURE_REGISTRY],
    ids=["config/sites.yaml", "tests/fixtures/sites.yaml"],
)
def test_every_site_rule_is_proved_by_a_stored_page(registry: Path) -> None:
    assert rule_coverage_problems(load_registry(registry), FIXTURE_PAGES) == []


def test_a_rule_without_a_page_or_one_the_page_does_not_need_is_reported(tmp_path: Path) -> None:
    sites = load_registry(FIXTURE_REGISTRY)
    assert rule_coverage_problems(sites, tmp_path)[0].startswith("congdoan-tinh-cu: carries extract rules")
    needless = Site(name="laodongthudo", url="https://laodongthudo.vn/", extract={"drop": ["div.none"]})
    assert "the rules are not needed" in rule_coverage_problems([needless], FIXTURE_PAGES)[0]


# Shipped sites (config/sites.yaml) with no stored page under tests/fixtures/pages/<name>/:
# nothing was fetched from any real site (registry/ notes say what each note saw), and the
# pages stored for nld and laodongthudo are templates of our own written after their notes.
# Adding a page moves a site off this list; adding a site puts it on the list or needs a page.
WITHOUT_PAGE = {
    "laodong",
    "congdoan",
    "laodongcongdoan",
    "congdoanvietnam-laodong",
    "ldld-nghean",
    "ldld-bentre",
    "ldld-danang",
    "ldld-binhduong",
    "ldld-cantho",
    "ldld-haiphong",
    "ldld-hungyen",
    "cdgd-vietnam",
    "cd-vatm",
}


def test_every_shipped_site_has_a_page_newsmon_reads_or_is_listed_without_one() -> None:
    shipped = {s.name for s in load_registry(ROOT / "config" / "sites.yaml")}
    stored = {d.name for d in FIXTURE_PAGES.iterdir() if any(d.glob("*.html"))}
    assert shipped >= WITHOUT_PAGE, "a listed site is no longer shipped"
    assert not WITHOUT_PAGE & stored, "a listed site has a page now: take it off the list"
    assert shipped - WITHOUT_PAGE == shipped & stored, "a shipped site has no page and is not in the list"
    for name in shipped & stored:
        for page in sorted((FIXTURE_PAGES / name).glob("*.html")):
            expected = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
            article = extract_page(page.read_bytes(), expected["url"])
            assert article is not None, page
            assert {k: getattr(article, k) for k in _CHECKED} == {k: expected[k] for k in _CHECKED}, page
