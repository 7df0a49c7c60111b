"""The archive over several indices (rollover) and its snapshots: one URL stays one document,
copies still join their story across indices, search and story pages see every index, a
rollover under load loses nothing, and a snapshot brings back the same archive."""

from __future__ import annotations

import json
import threading

import pytest
from elasticsearch import Elasticsearch

from config.settings import Settings
from pipelines import index as index_stage
from pipelines.dedup import merge_late_copies
from pipelines.index import write_batch
from search.article import Article
from search.backup import repository_name
from search.schema import Layout, alias_name, backing, bulk_load, drop_all, rollover, write_index
from search.search import search, story
from tests.pipelines.test_dedup import STORY, _article
from tests.support import index_corpus, run_cli

pytestmark = pytest.mark.es


def _others(n: int) -> Article:
    words = f"Bài riêng số {n} nói về bữa ăn ca của công nhân nhà máy số {n} ở khu công nghiệp."
    return _article("cd", f"rieng-{n}", f"Bữa ăn ca ở nhà máy số {n}", [words * 6])


def test_after_a_rollover_one_url_stays_one_document_and_copies_join_across_indices(
    es: Elasticsearch, env: dict[str, str]
) -> None:
    prefix = env["NEWSMON_INDEX_PREFIX"]
    original = _article("nld", "hoi-nghi", "Hội nghị trực tuyến quán triệt Nghị quyết", STORY)
    write_batch(es, prefix, [original, *(_others(n) for n in range(5))])
    first = write_index(es, prefix)
    answer = rollover(es, prefix, Layout(), force=True)
    assert answer["rolled_over"]
    assert answer["old_index"] == first
    assert list(backing(es, alias_name(prefix))) == [first, answer["new_index"]]
    assert write_index(es, prefix) == answer["new_index"]

    # The original again, edited: rewritten where it lives, not added to the new index.
    edited = _article(
        "nld", "hoi-nghi", "Hội nghị trực tuyến quán triệt Nghị quyết (cập nhật)", [*STORY, "Cập nhật."]
    )
    copy = _article(
        "ldld",
        "hoi-nghi",
        "[Tin tổng hợp] Hội nghị quán triệt Nghị quyết",
        ["Tin từ Ban Tuyên giáo.", *STORY],
    )
    written = write_batch(es, prefix, [edited, copy, _others(9)])
    assert (written.new, written.updated, written.duplicates) == (2, 1, 1)
    es.indices.refresh(index=alias_name(prefix))
    assert es.count(index=alias_name(prefix))["count"] == 8  # 6 + the copy + one more, the edit in place
    old = es.search(index=first, query={"ids": {"values": [original.id]}})["hits"]["hits"]
    assert old
    assert old[0]["_source"]["title"].endswith("(cập nhật)")

    # Search and the story page read both indices: the copy (new index) shows its original (old one).
    found = search(es, prefix, "quán triệt nghị quyết")
    assert found["total"] == 1
    hit = found["hits"][0]
    assert hit["url"] == original.url
    assert [d["url"] for d in hit["duplicates"]] == [copy.url]
    page = story(es, prefix, copy.id or "")
    assert page is not None
    assert [c["url"] for c in page["copies"]] == [original.url, copy.url]
    assert search(es, prefix, "bữa ăn ca")["total"] == 6


def test_a_late_copy_in_an_older_index_is_relabelled_where_it_lives(
    es: Elasticsearch, env: dict[str, str]
) -> None:
    """Two crawls took the same story for new; the story started later lives in the index
    written before a rollover, and joins the earlier one there."""
    prefix = env["NEWSMON_INDEX_PREFIX"]
    alias = alias_name(prefix)
    original = _article("nld", "hoi-nghi", "Hội nghị trực tuyến quán triệt Nghị quyết", STORY)
    write_batch(es, prefix, [original])
    es.indices.refresh(index=alias)
    first = write_index(es, prefix)
    rollover(es, prefix, Layout(), force=True)
    # A copy another process wrote as a story of its own, started before the original's.
    copy = _article("cdn", "hoi-nghi", "Quán triệt Nghị quyết", ["Tin từ Ban Tuyên giáo.", *STORY])
    fields = ("url", "canonical_url", "site", "title", "text", "content_hash", "minhash", "lsh_bands")
    es.index(
        index=alias,
        id=copy.id,
        document={k: getattr(copy, k) for k in fields}
        | {"cluster": copy.content_hash, "indexed_at": "2020-01-01T01:00:00.000+00:00"},
        refresh=True,
    )
    merges = merge_late_copies(es, alias, [original.id or ""])
    assert merges == [(original.content_hash, copy.content_hash)]
    es.indices.refresh(index=alias)
    moved = es.search(index=alias, query={"ids": {"values": [original.id]}})["hits"]["hits"]
    assert [hit["_index"] for hit in moved] == [first]
    assert (moved[0]["_source"]["cluster"], moved[0]["_source"]["duplicate_of"]) == (
        copy.content_hash,
        copy.id,
    )


def test_a_rollover_under_load_loses_and_doubles_nothing(es: Elasticsearch, env: dict[str, str]) -> None:
    prefix = env["NEWSMON_INDEX_PREFIX"]
    articles = [_others(n) for n in range(1200)]
    errors: list[BaseException] = []

    def load() -> None:
        try:
            for start in range(0, len(articles), 40):
                write_batch(es, prefix, articles[start : start + 40])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    write_batch(es, prefix, articles[:40])  # the index exists before the writer starts
    writer = threading.Thread(target=load)
    writer.start()
    rolled = []
    while writer.is_alive() and len(rolled) < 3:
        rolled.append(rollover(es, prefix, Layout(), force=True)["new_index"])
    writer.join()
    assert not errors
    alias = alias_name(prefix)
    es.indices.refresh(index=alias)
    assert len(backing(es, alias)) == 1 + len(rolled) >= 2
    assert es.count(index=alias)["count"] == len(articles)
    ids = es.search(
        index=alias, size=0, aggs={"ids": {"cardinality": {"field": "url", "precision_threshold": 4000}}}
    )
    assert ids["aggregations"]["ids"]["value"] == len(articles)


def test_rollover_waits_for_its_conditions(es: Elasticsearch, env: dict[str, str]) -> None:
    prefix = env["NEWSMON_INDEX_PREFIX"]
    write_batch(es, prefix, [_others(n) for n in range(3)])
    es.indices.refresh(index=alias_name(prefix))
    roll = run_cli("es", "rollover", "--json", env={**env, "NEWSMON_ES_ROLLOVER_DOCS": "4"})
    assert roll.returncode == 0, roll.stderr
    assert json.loads(roll.stdout)["rolled_over"] is False
    write_batch(es, prefix, [_others(3)])
    es.indices.refresh(index=alias_name(prefix))
    roll = run_cli("es", "rollover", "--json", env={**env, "NEWSMON_ES_ROLLOVER_DOCS": "4"})
    assert json.loads(roll.stdout)["rolled_over"] is True
    assert json.loads(roll.stdout)["new_index"].endswith("-v1-000002")


def test_a_long_write_starts_the_next_index_itself_and_keeps_it_relaxed_until_the_end(
    es: Elasticsearch, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backfill does not wait for the hourly rollover: it checks the layout every
    ROLLOVER_CHECK new articles, and the index it goes on in is refreshed as lazily as the
    one it left until the load ends."""
    prefix = env["NEWSMON_INDEX_PREFIX"]
    alias = alias_name(prefix)
    monkeypatch.setattr(index_stage, "ROLLOVER_CHECK", 20)
    layout = Layout(rollover_docs=10)

    def refresh_of(index: str) -> str:
        answer = es.indices.get_settings(index=index, name="index.refresh_interval", include_defaults=True)
        found = answer[index].get("settings", {}).get("index", {}).get("refresh_interval")
        return str(found or answer[index]["defaults"]["index"]["refresh_interval"])

    with bulk_load(es, prefix):
        write_batch(es, prefix, [_others(n) for n in range(15)], layout=layout)
        es.indices.refresh(index=alias)  # what the relaxed refresh does every 30 s
        assert len(backing(es, alias)) == 1  # 15 new articles: not checked yet
        write_batch(es, prefix, [_others(n) for n in range(15, 25)], layout=layout)
        first, second = backing(es, alias)
        assert write_index(es, prefix) == second
        write_batch(es, prefix, [_others(n) for n in range(25, 30)], layout=layout)
        assert refresh_of(second) == refresh_of(first) == "30s"
    assert refresh_of(first) == refresh_of(second) == "1s"
    assert es.count(index=first)["count"] == 25
    assert es.count(index=second)["count"] == 5
    assert es.count(index=alias)["count"] == 30


@pytest.fixture
def snapshot_env(env: dict[str, str]) -> dict[str, str]:
    """The local node's snapshot folder as the repository (in its `path.repo`)."""
    from search.node import LocalNode

    if not Settings().managed_es:
        pytest.skip("NEWSMON_ES_URL names a cluster whose path.repo these tests do not know")
    return {**env, "NEWSMON_ES_SNAPSHOT_DIR": str(LocalNode(Settings()).snapshots)}


def test_a_snapshot_restores_the_same_archive(es: Elasticsearch, snapshot_env: dict[str, str]) -> None:
    prefix = snapshot_env["NEWSMON_INDEX_PREFIX"]
    alias = alias_name(prefix)
    index_corpus(es, prefix)
    rollover(es, prefix, Layout(), force=True)
    write_batch(es, prefix, [_others(n) for n in range(4)])
    es.indices.refresh(index=alias)

    def archive() -> tuple[int, dict[str, int], list[str]]:
        clusters = es.search(index=alias, size=0, aggs={"c": {"terms": {"field": "cluster", "size": 100}}})
        return (
            es.count(index=alias)["count"],
            {b["key"]: b["doc_count"] for b in clusters["aggregations"]["c"]["buckets"]},
            list(backing(es, alias)),
        )

    before = archive()
    name = f"{prefix}-test"
    taken = run_cli("es", "snapshot", name, "--json", env=snapshot_env)
    assert taken.returncode == 0, taken.stderr
    assert json.loads(taken.stdout)["indices"] == sorted(before[2])
    # Another archive whose prefix starts the same takes a later snapshot in the same folder:
    # neither dropping this archive nor restoring its "latest" may touch that one.
    other = {**snapshot_env, "NEWSMON_INDEX_PREFIX": f"{prefix}-archive"}
    index_corpus(es, other["NEWSMON_INDEX_PREFIX"])
    assert run_cli("es", "snapshot", f"{prefix}-zz-later", env=other).returncode == 0
    drop_all(es, prefix)
    assert not backing(es, alias)
    assert es.count(index=alias_name(other["NEWSMON_INDEX_PREFIX"]))["count"] > 0
    refused = run_cli("es", "restore", name, env=snapshot_env)
    assert refused.returncode == 2
    assert "--yes" in refused.stderr
    restored = run_cli("es", "restore", "latest", "--yes", "--json", env=snapshot_env)
    assert restored.returncode == 0, restored.stderr
    assert archive() == before
    assert write_index(es, prefix) == before[2][-1]
    assert search(es, prefix, "công đoàn")["total"] > 0
    listed = run_cli("es", "snapshot", "--list", "--json", env=snapshot_env)
    assert name in [s["snapshot"] for s in json.loads(listed.stdout)]
    repository = repository_name(snapshot_env["NEWSMON_ES_SNAPSHOT_DIR"])
    es.snapshot.delete(repository=repository, snapshot=f"{name},{prefix}-zz-later")
    drop_all(es, other["NEWSMON_INDEX_PREFIX"])


def test_unknown_snapshot_is_named_with_those_there_are(
    snapshot_env: dict[str, str], es: Elasticsearch
) -> None:
    index_corpus(es, snapshot_env["NEWSMON_INDEX_PREFIX"])
    missing = run_cli("es", "restore", "khong-co", "--yes", env=snapshot_env)
    assert missing.returncode == 1
    assert "không có bản sao lưu 'khong-co'" in missing.stderr
    assert es.count(index=alias_name(snapshot_env["NEWSMON_INDEX_PREFIX"]))["count"] > 0  # nothing dropped


def test_several_cluster_addresses_are_read_and_a_wrong_one_named() -> None:
    settings = Settings(es_url="http://10.0.0.1:9200, http://10.0.0.2:9200")
    assert settings.es_urls == ["http://10.0.0.1:9200", "http://10.0.0.2:9200"]
    assert Settings(es_url=None, es_nodes=3, es_port=9250).es_urls[-1] == "http://127.0.0.1:9252"
    with pytest.raises(ValueError, match=r"10\.0\.0\.2:9200"):
        Settings(es_url="http://10.0.0.1:9200,10.0.0.2:9200")


def test_a_layout_sets_shards_and_replicas_of_new_indices() -> None:
    assert Layout().index_settings()["auto_expand_replicas"] == "0-1"
    chosen = Layout(shards=3, replicas=1).index_settings()
    assert (chosen["number_of_shards"], chosen["number_of_replicas"]) == (3, 1)
    assert "auto_expand_replicas" not in chosen
    assert Layout.of(Settings(es_shards=2, es_rollover_size="10gb")).rollover_size == "10gb"
