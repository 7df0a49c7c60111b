"""The reference in docs/ says what the code does: its tables are the settings class and the
site model as `make docs` writes them, and every NEWSMON_* variable the code reads is there."""

from __future__ import annotations

import re

import pytest

from config.settings import PROJECT_ROOT
from crawler.docs import DOCS, TABLES, rewritten

# Names in the `NEWSMON_` namespace that are Scrapy setting keys handed to a crawl, never
# environment variables a user sets.
SCRAPY_KEYS = {
    "NEWSMON_BACKFILL",
    "NEWSMON_ORIGINS",
    "NEWSMON_PROGRESS",
    "NEWSMON_SEEN_DB",
    "NEWSMON_SETTINGS",
}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_the_generated_tables_equal_the_code(name: str) -> None:
    source, make = TABLES[name]
    text = (DOCS / name).read_text(encoding="utf-8")
    assert rewritten(text, source, make()) == text, f"docs/{name} is stale: run `make docs`"


def test_every_variable_the_code_reads_is_documented() -> None:
    reference = (DOCS / "configuration.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`(NEWSMON_[A-Z_]+)`", reference))
    read = set()
    for package in ("config", "crawler", "pipelines", "search"):
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            read |= set(re.findall(r"NEWSMON_[A-Z][A-Z_]*[A-Z]", path.read_text(encoding="utf-8")))
    assert read - SCRAPY_KEYS - documented == set()
    assert "NEWSMON_ES_TIMEOUT" in documented
    assert "NEWSMON_ES_HEAP" in documented
