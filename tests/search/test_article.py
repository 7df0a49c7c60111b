"""The declared records: what is indexed is exactly what the mapping knows."""

from __future__ import annotations

import json

import pytest

from search.article import ARTICLE_FIELDS, Article, parse_moment
from search.schema import MAPPING


def test_article_fields_are_the_mapping_plus_the_document_id() -> None:
    # A field added on one side only would be dropped silently (or refused by `strict`).
    assert set(ARTICLE_FIELDS) - {"id"} == set(MAPPING["properties"])


def test_an_article_survives_the_spool_round_trip() -> None:
    article = Article(
        url="https://a.vn/x-1.html",
        title="Hoà giải",
        text="Nợ lương",
        tags=["lao động"],
        minhash=[1, 2, 3],
        lsh_bands=["0:ab"],
    )
    again = Article.from_dict(json.loads(json.dumps({**article.to_dict(), "retired_field": 1})))
    assert again == article


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        ("2026-12-03T09:15:00+07:00", "2026-12-03T09:15:00+07:00"),
        ("2026-12-03T02:15:00Z", "2026-12-03T02:15:00+00:00"),
        # A PHP template's "Y-m-dTH:i:s" prints the zone where the T belongs.
        ("2026-12-03ICT09:15:00", "2026-12-03T09:15:00+07:00"),
        ("2026-12-03+0709:15:00", "2026-12-03T09:15:00+07:00"),
        ("2026-12-03UTC02:15:00", "2026-12-03T02:15:00+00:00"),
        ("2026-12-03XYZ09:15", "2026-12-03T09:15:00+07:00"),  # a name of no known offset: local
        ("03/12/2026 09:15", "2026-12-03T09:15:00+07:00"),
    ],
)
def test_a_declared_moment_keeps_its_time(value: str, moment: str) -> None:
    """The time a page declares is kept however the template wrote it (was: midnight)."""
    parsed = parse_moment(value)
    assert parsed is not None
    assert parsed.isoformat() == moment
