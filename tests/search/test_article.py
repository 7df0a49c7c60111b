"""The declared records: what is indexed is exactly what the mapping knows."""

from __future__ import annotations

import json

from search.article import ARTICLE_FIELDS, Article
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
