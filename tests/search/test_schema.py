"""Index as code: idempotent setup behind the alias, id from the canonical URL, migration."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch

from search import schema
from search.article import Article, canonical_url, doc_id

pytestmark = pytest.mark.es


def test_setup_is_idempotent_and_strict(es: Elasticsearch, env: dict[str, str]) -> None:
    prefix = env["NEWSMON_INDEX_PREFIX"]
    first = schema.setup(es, prefix)
    assert schema.setup(es, prefix) == first == schema.index_name(prefix)
    assert list(es.indices.get_alias(name=schema.alias_name(prefix))) == [first]
    mapping = es.indices.get_mapping(index=first)[first]["mappings"]
    assert mapping["dynamic"] == "strict"
    with pytest.raises(Exception, match="strict_dynamic_mapping"):
        es.index(index=schema.alias_name(prefix), id="x", document={"surprise": 1})


def test_url_variants_share_one_document_id() -> None:
    variants = [
        "https://www.LaoDongThuDo.vn/cong-doan/bai-viet-123.html?utm_source=fb&fbclid=abc#top",
        "https://laodongthudo.vn/cong-doan/bai-viet-123.html",
        "https://m.laodongthudo.vn/cong-doan/bai-viet-123.html/",
        "https://laodongthudo.vn/m/cong-doan/bai-viet-123.html?zarsrc=30",
    ]
    assert len({doc_id(canonical_url(u)) for u in variants}) == 1
    assert canonical_url("https://a.vn/x?b=2&a=1") == canonical_url("https://a.vn/x?a=1&b=2")
    assert canonical_url("https://a.vn/x?id=1") != canonical_url("https://a.vn/x?id=2")


def test_migration_copies_documents_and_flips_the_alias(es: Elasticsearch, env: dict[str, str]) -> None:
    prefix = env["NEWSMON_INDEX_PREFIX"]
    old = schema.index_name(prefix, 0)
    es.indices.create(
        index=old,
        mappings={"dynamic": False, "properties": {"url": {"type": "keyword"}}},
        aliases={schema.alias_name(prefix): {}},
    )
    es.index(
        index=old,
        id="a1",
        document={
            "url": "https://a.vn/x-1.html",
            "title": "Hoà giải",
            "text": "Nợ lương",
            "site": "a",
            "obsolete": 1,
        },
        refresh=True,
    )
    current = schema.setup(es, prefix)
    assert list(es.indices.get_alias(name=schema.alias_name(prefix))) == [current]
    doc = es.get(index=schema.alias_name(prefix), id="a1")["_source"]
    assert doc["title"] == "Hoà giải"
    assert "obsolete" not in doc
    # The derived matching fields were recomputed during the copy.
    hits = es.search(index=current, query={"match_phrase": {"text_fold": "no luong"}})
    assert hits["hits"]["total"]["value"] == 1


def test_a_rejected_document_is_an_error_not_a_new_article(es: Elasticsearch, env: dict[str, str]) -> None:
    from pipelines.index import write_batch
    from pipelines.normalize import normalize_article

    good, bad = (
        normalize_article(
            Article(
                url=f"https://a.example.vn/bai-{n}-1001.html",
                site="a",
                title=f"Tin {n}",
                text=f"Nội dung bài số {n} về công đoàn.",
                fetched_at=stamp,
            ),
            "a.example.vn",
        )
        for n, stamp in ((1, "2021-12-08T09:00:00+00:00"), (2, "not a date"))
    )
    written = write_batch(es, env["NEWSMON_INDEX_PREFIX"], [good, bad])
    assert written.new == 1
    assert [doc.url for doc, _ in written.rejected] == [bad.url]  # a mapping error: never retried
    assert "fetched_at" in written.rejected[0][1]
    assert written.retry == []
