"""Extraction on realistic Vietnamese page templates: `tests/fixtures/pages/<site>/<page>.html`
with the expected article in `<page>.json` (and the site's rules in `tests/fixtures/sites.yaml`
when the generic path needs one). Each template carries the noise of a real CMS: header clocks,
sidebars with dates, inline related boxes, captions, comments, injected spam, windows-1258,
NFD text and old-style tone marks."""

from __future__ import annotations

import gzip
import json
import os
import unicodedata
from pathlib import Path

import pytest

from pipelines.extraction.cleanup import is_spam_text
from pipelines.extraction.page import extract_page
from tests.support import FIXTURE_PAGES, FIXTURE_REGISTRY, fixture_rules, run_cli

FIXTURES = FIXTURE_PAGES
PAGES = sorted(FIXTURES.glob("*/*.html"))


def test_there_are_at_least_six_site_templates() -> None:
    assert len({p.parent.name for p in PAGES}) >= 6


@pytest.mark.parametrize("page", PAGES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture_page_extracts_as_expected(page: Path) -> None:
    expected = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    article = extract_page(page.read_bytes(), expected["url"], rules=fixture_rules(page))
    assert article is not None
    for key in ("title", "author", "published", "modified", "tags", "language"):
        assert getattr(article, key) == expected[key], key
    if "canonical_url" in expected:
        assert article.canonical_url == expected["canonical_url"]
    assert article.text.split("\n") == expected["text"].split("\n")
    assert unicodedata.is_normalized("NFC", article.text)
    assert unicodedata.is_normalized("NFC", article.title)
    for noise in expected.get("absent", []):
        assert noise not in article.text, noise
        assert noise not in article.title, noise
    assert not is_spam_text(article.text)
    assert not is_spam_text(article.title)


def test_old_cms_needs_its_site_rule() -> None:
    """Without `extract.title`, the section name would be filed as the headline: the cell
    holding it is named by nothing (a cell whose class or id says "title" is found without a
    rule, as on the ldld-tinh-bang template)."""
    page = FIXTURES / "congdoan-tinh-cu" / "nhiem-vu-trong-tam.html"
    url = "https://ldldtinh.example.vn/default.aspx?cat=1&id=1205"
    generic = extract_page(page.read_bytes(), url)
    ruled = extract_page(page.read_bytes(), url, rules=fixture_rules(page))
    assert generic is not None
    assert ruled is not None
    assert ruled.title == "Nhiệm vụ trọng tâm của tổ chức công đoàn năm 2019"
    assert generic.title != ruled.title


def test_old_style_tone_marks_are_kept_as_published() -> None:
    page = FIXTURES / "congdoan-tinh-cu" / "nhiem-vu-trong-tam.html"
    article = extract_page(page.read_bytes(), None, rules=fixture_rules(page))
    assert article is not None
    assert "hoà giải" in article.text
    assert "Thuỷ Nguyên" in article.text
    assert "sức khoẻ" in article.text


def test_extract_command_reads_files_gzip_and_site_rules_one_line_per_input(tmp_path: Path) -> None:
    """`newsmon extract --json`: input order kept, gzip read, the registry site's rules used,
    a failing input reported in its own line while the others go on."""
    old_cms = FIXTURES / "congdoan-tinh-cu" / "nhiem-vu-trong-tam.html"
    packed = tmp_path / "page.html.gz"
    packed.write_bytes(gzip.compress(old_cms.read_bytes()))
    env = {**os.environ, "NEWSMON_CONFIG": str(FIXTURE_REGISTRY), "NEWSMON_DATA_DIR": str(tmp_path / "data")}
    missing = tmp_path / "missing.html"
    result = run_cli(
        "extract",
        "--json",
        "--url",
        "https://ldldtinh.example.vn/default.aspx?cat=1&id=1205",
        str(packed),
        str(missing),
        str(old_cms),
        env=env,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["input"] for line in lines] == [str(packed), str(missing), str(old_cms)]
    expected = json.loads(old_cms.with_suffix(".json").read_text(encoding="utf-8"))
    for line in (lines[0], lines[2]):
        assert line["title"] == expected["title"]
        assert line["published"] == expected["published"]
        assert line["text"] == expected["text"]
        assert set(line) == {
            "input",
            "url",
            "canonical_url",
            "title",
            "author",
            "published",
            "text",
            "tags",
            "language",
        }
    assert set(lines[1]) == {"input", "error"}
