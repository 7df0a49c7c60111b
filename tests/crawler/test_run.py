"""The crawl summary's extraction health, and the flag when a site's health falls."""

from __future__ import annotations

import json
from pathlib import Path

from crawler.run import earlier_health, flag_health_drop, summarize
from crawler.state import read_runs


def test_health_is_the_share_of_article_pages_read_completely() -> None:
    summary = summarize({"newsmon/health/pages": 8, "newsmon/health/complete": 6})
    assert summary["health"] == 0.75
    assert summary["article_pages"] == 8
    assert "health" not in summarize({})


def test_a_drop_below_the_usual_health_is_flagged_a_small_one_or_a_small_sample_is_not() -> None:
    fallen = {"health": 0.4, "article_pages": 20}
    flag_health_drop(fallen, [1.0, 0.95, 1.0])
    assert "thường 100%" in fallen["warning"]
    for summary, earlier in (
        ({"health": 0.9, "article_pages": 20}, [1.0, 1.0]),
        ({"health": 0.0, "article_pages": 2}, [1.0]),
        ({"health": 0.2, "article_pages": 20}, []),
    ):
        flag_health_drop(summary, earlier)
        assert "warning" not in summary


def test_earlier_health_reads_the_run_log_and_skips_damaged_or_small_runs(tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    runs = [{"site": "a", "health": h, "article_pages": 10} for h in (0.5, 0.9, 1.0, 1.0, 1.0, 0.95)]
    runs.append({"site": "b", "health": 0.1, "article_pages": 1})
    log.write_text("\n".join(json.dumps(r) for r in runs) + '\n{"site": "a", "hea', encoding="utf-8")
    assert earlier_health(read_runs(log)) == {"a": [0.9, 1.0, 1.0, 1.0, 0.95]}
    assert earlier_health(read_runs(tmp_path / "none.jsonl")) == {}
