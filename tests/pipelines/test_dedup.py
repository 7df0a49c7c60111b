"""Near-duplicate clustering: a story republished with changes is one cluster; two different
stories on one topic are not; search shows the story once with its copies."""

from __future__ import annotations

import itertools

import pytest
from elasticsearch import Elasticsearch

from pipelines import dedup
from pipelines import index as index_stage
from pipelines.dedup import NAMED_JACCARD, NEAR_DUP_JACCARD
from pipelines.fingerprint import fingerprint, similarity
from pipelines.index import write_batch
from pipelines.normalize import normalize_article
from search.article import Article
from search.schema import alias_name
from search.search import search

pytestmark = pytest.mark.es

STORY = [
    "Sáng 6-12, Đoàn Chủ tịch Tổng LĐLĐ Việt Nam tổ chức hội nghị trực tuyến học tập, quán triệt Nghị quyết "
    "Đại hội XIII Công đoàn Việt Nam tới hơn 10.000 điểm cầu trên cả nước.",
    "Chủ tịch Tổng LĐLĐ Việt Nam cho biết Nghị quyết đề ra ba khâu đột phá: đổi mới nội dung, phương thức "
    "hoạt động; nâng cao chất lượng đội ngũ cán bộ; ứng dụng chuyển đổi số trong quản lý đoàn viên.",
    "Với khâu đột phá thứ hai, tổ chức Công đoàn tập trung đào tạo cán bộ công đoàn cơ sở có kỹ năng thương "
    "lượng, đối thoại, đủ bản lĩnh bảo vệ quyền lợi hợp pháp, chính đáng của người lao động.",
    "Tại TP HCM, hội nghị được kết nối tới 312 điểm cầu ở các khu chế xuất, khu công nghiệp; nhiều cán bộ "
    "công đoàn cơ sở cho rằng cách học tập trực tuyến giúp nắm bắt Nghị quyết nhanh, tiết kiệm chi phí.",
    "Hội nghị cũng giới thiệu chương trình hành động thực hiện Nghị quyết với 12 nhóm nhiệm vụ, trong đó "
    "phát triển đoàn viên ở doanh nghiệp ngoài nhà nước được giao chỉ tiêu cụ thể cho từng địa phương.",
    "Kết luận hội nghị, lãnh đạo Tổng LĐLĐ yêu cầu các cấp công đoàn xây dựng kế hoạch cụ thể, hoàn thành "
    "trước ngày 31-12 và báo cáo kết quả về Ban Tuyên giáo.",
]
BONUS_A = [
    "LĐLĐ tỉnh Bình Dương vừa tổng hợp tình hình thưởng Tết Nhâm Dần 2022 tại các doanh nghiệp trên địa bàn.",
    "Theo đó, mức thưởng cao nhất thuộc về một doanh nghiệp vốn đầu tư nước ngoài ngành điện tử với 300 "
    "triệu đồng, mức thưởng bình quân khoảng 1,2 tháng lương.",
    "Công đoàn các khu công nghiệp đã làm việc với 215 doanh nghiệp để đề nghị công bố sớm kế hoạch thưởng.",
    "LĐLĐ tỉnh đề nghị các công đoàn cơ sở giám sát việc chi trả, kịp thời báo cáo những nơi nợ lương.",
]
BONUS_B = [
    "LĐLĐ tỉnh Bình Dương vừa tổng hợp tình hình thưởng Tết Nhâm Dần 2022 tại các doanh nghiệp trên địa bàn.",
    "Công ty TNHH May mặc Phú Lợi thông báo thưởng Tết cho 4.000 công nhân mỗi người một tháng lương và quà "
    "trị giá 500.000 đồng, chi trả trước ngày 20 tháng Chạp.",
    "Chủ tịch công đoàn cơ sở cho biết doanh nghiệp đã bố trí xe đưa công nhân về quê ăn Tết miễn phí.",
    "Nhiều công nhân phấn khởi vì mức thưởng năm nay cao hơn năm trước dù đơn hàng giảm.",
]


def _article(
    site: str, slug: str, title: str, paragraphs: list[str], source_url: str | None = None
) -> Article:
    article = normalize_article(
        Article(
            url=f"https://{site}.example.vn/{slug}-1001.html",
            site=site,
            title=title,
            text="\n".join(paragraphs),
            published="2021-12-06T10:05:00+07:00",
            source_url=source_url,
            fetched_at="2021-12-06T11:00:00+00:00",
        ),
        f"{site}.example.vn",
    )
    return fingerprint(article)


def _corpus() -> dict[str, Article]:
    original = _article("nld", "hoi-nghi", "Hội nghị trực tuyến quán triệt Nghị quyết Đại hội XIII", STORY)
    return {
        "original": original,
        # Trimmed last paragraph, a title prefix, a source line naming no indexed URL.
        "trimmed": _article(
            "ldld",
            "hoi-nghi",
            "[Tin tổng hợp] Hội nghị trực tuyến quán triệt Nghị quyết",
            [*STORY[:-1], "(Theo Báo Người Lao Động)"],
        ),
        # Different boilerplate around the same text.
        "boilerplate": _article(
            "cdn",
            "hoi-nghi",
            "Quán triệt Nghị quyết Đại hội XIII Công đoàn",
            ["Tin từ Ban Tuyên giáo.", *STORY, "Bản quyền thuộc Công đoàn ngành."],
        ),
        "bonus_a": _article("ldld", "thuong-tet-a", "Bình Dương: thưởng Tết cao nhất 300 triệu", BONUS_A),
        "bonus_b": _article("ldld", "thuong-tet-b", "Bình Dương: công nhân Phú Lợi được thưởng", BONUS_B),
    }


def test_signatures_separate_copies_from_near_misses() -> None:
    corpus = _corpus()
    same = {("original", "trimmed"), ("original", "boilerplate"), ("trimmed", "boilerplate")}
    for a, b in itertools.combinations(corpus, 2):
        score = similarity(corpus[a].minhash, corpus[b].minhash)
        if (a, b) in same:
            assert score >= NEAR_DUP_JACCARD, (a, b, score)
        else:
            assert score < NEAR_DUP_JACCARD / 2, (a, b, score)


@pytest.mark.parametrize("batches", [1, 3], ids=["one batch", "three batches, no refresh"])
def test_copies_share_a_cluster_and_near_misses_do_not(
    es: Elasticsearch, env: dict[str, str], batches: int
) -> None:
    prefix = env["NEWSMON_INDEX_PREFIX"]
    corpus = _corpus()
    docs = list(corpus.values())
    size = -(-len(docs) // batches)
    for start in range(0, len(docs), size):
        write_batch(es, prefix, docs[start : start + size])
    es.indices.refresh(index=alias_name(prefix))
    stored = {name: es.get(index=alias_name(prefix), id=doc.id)["_source"] for name, doc in corpus.items()}
    original_id = corpus["original"].id
    assert stored["original"]["duplicate_of"] is None
    for copy in ("trimmed", "boilerplate"):
        assert stored[copy]["cluster"] == stored["original"]["cluster"]
        assert stored[copy]["duplicate_of"] == original_id
    assert stored["bonus_a"]["cluster"] != stored["bonus_b"]["cluster"]
    assert stored["bonus_a"]["cluster"] != stored["original"]["cluster"]

    result = search(es, prefix, "quán triệt nghị quyết")
    assert result["total"] == 1
    assert {d["site"] for d in result["hits"][0]["duplicates"]} | {result["hits"][0]["site"]} == {
        "nld",
        "ldld",
        "cdn",
    }


def test_source_line_joins_the_named_article(es: Elasticsearch, env: dict[str, str]) -> None:
    prefix = env["NEWSMON_INDEX_PREFIX"]
    original = _article("nld", "tin-goc", "Công nhân được hỗ trợ tiền thuê nhà", STORY[:2])
    write_batch(es, prefix, [original])
    rewritten = _article(
        "ldld",
        "tin-lai",
        "Hỗ trợ tiền thuê nhà cho công nhân",
        ["Bài viết lại bằng lời của biên tập viên địa phương, không trùng câu nào."],
        source_url=original.url,
    )
    write_batch(es, prefix, [rewritten])
    stored = es.get(index=alias_name(prefix), id=rewritten.id)["_source"]
    assert stored["duplicate_of"] == original.id


@pytest.mark.parametrize("refresh", [True, False], ids=["copy searchable", "copy only in this process"])
def test_a_copy_indexed_before_the_original_it_names_joins_its_story(
    es: Elasticsearch, env: dict[str, str], refresh: bool
) -> None:
    prefix = env["NEWSMON_INDEX_PREFIX"]
    original = _article("nld", "tin-goc", "Công nhân được hỗ trợ tiền thuê nhà", STORY[:2])
    copy = _article(
        "ldld",
        "tin-lai",
        "Hỗ trợ tiền thuê nhà cho công nhân",
        ["Bài viết lại bằng lời của biên tập viên địa phương, không trùng câu nào."],
        source_url=original.url + "?utm_source=zalo",
    )  # named in another spelling
    write_batch(es, prefix, [copy])
    if refresh:
        es.indices.refresh(index=alias_name(prefix))
        from pipelines import index as index_stage

        index_stage._recent.pop(prefix, None)  # another process indexed the copy
    write_batch(es, prefix, [original])
    es.indices.refresh(index=alias_name(prefix))
    stored = {d.id: es.get(index=alias_name(prefix), id=d.id)["_source"] for d in (original, copy)}
    assert stored[original.id]["cluster"] == stored[copy.id]["cluster"]


def test_a_chain_of_half_similar_texts_does_not_glue_two_stories(
    es: Elasticsearch, env: dict[str, str]
) -> None:
    prefix = env["NEWSMON_INDEX_PREFIX"]
    other = [
        f"Đoạn khác số {n}: công đoàn cơ sở tổ chức hội nghị người lao động tại nhà máy số {n} với "
        f"nhiều kiến nghị về tiền lương, thời giờ làm việc và an toàn lao động năm {2000 + n}."
        for n in range(6)
    ]
    first = _article("a", "tin-a", "Tin A", STORY)
    second = _article("b", "tin-b", "Tin B", [*STORY[:4], *other[:3]])  # close to the first
    third = _article("c", "tin-c", "Tin C", [*STORY[2:4], *other[:3]])  # close to the second only
    assert similarity(first.minhash, second.minhash) >= NEAR_DUP_JACCARD
    assert similarity(second.minhash, third.minhash) >= NEAR_DUP_JACCARD
    assert similarity(first.minhash, third.minhash) < NEAR_DUP_JACCARD
    for doc in (first, second, third):
        write_batch(es, prefix, [doc])
    es.indices.refresh(index=alias_name(prefix))
    cluster = {
        d.id: es.get(index=alias_name(prefix), id=d.id)["_source"]["cluster"] for d in (first, second, third)
    }
    assert cluster[second.id] == cluster[first.id]
    assert cluster[third.id] != cluster[first.id]


def test_stories_started_by_two_crawls_at_once_become_one_and_the_ledger_follows(
    es: Elasticsearch, env: dict[str, str], tmp_path
) -> None:
    from pipelines.dedup import Recent, merge_late_copies, resolve
    from search.alerts.ledger import follow_merges
    from search.alerts.store import AlertStore
    from search.schema import setup

    prefix = env["NEWSMON_INDEX_PREFIX"]
    index = setup(es, prefix)
    es.indices.put_settings(index=index, settings={"index.refresh_interval": "-1"})
    corpus = _corpus()
    first, copy = corpus["original"], corpus["boilerplate"]
    # Two processes, each with its own memory, neither seeing the other's unrefreshed write.
    for second, doc in enumerate((first, copy)):
        decision = resolve(es, alias_name(prefix), [doc], f"2021-12-06T11:00:0{second}.000+00:00", Recent())
        assert decision.duplicates == 0
        es.index(
            index=alias_name(prefix),
            id=doc.id,
            document={
                k: getattr(doc, k)
                for k in (
                    "url",
                    "canonical_url",
                    "site",
                    "title",
                    "text",
                    "content_hash",
                    "cluster",
                    "duplicate_of",
                    "indexed_at",
                    "minhash",
                    "lsh_bands",
                )
            },
        )
    store = AlertStore(tmp_path)
    with store.db:
        store.db.execute(
            "INSERT INTO ledger VALUES ('Tin', 'a@cd.vn', ?, ?, 'm1', 'now')", (copy.cluster, copy.id)
        )
    es.indices.refresh(index=alias_name(prefix))
    merges = merge_late_copies(es, alias_name(prefix), [copy.id])  # the later crawl's end-of-run check
    assert merges == [(copy.cluster, first.cluster)]
    follow_merges(store.db, merges)
    stored = es.get(index=alias_name(prefix), id=copy.id)["_source"]
    assert (stored["cluster"], stored["duplicate_of"]) == (first.cluster, first.id)
    sent = {row[0] for row in store.db.execute("SELECT cluster FROM ledger WHERE alert = 'Tin'")}
    assert first.cluster in sent  # who got the copy's story has got the merged story
    es.indices.refresh(index=alias_name(prefix))
    assert merge_late_copies(es, alias_name(prefix), [first.id]) == []  # the earlier story stays put
    store.close()


def test_a_copy_naming_its_origin_in_words_joins_it_at_a_lower_similarity(
    es: Elasticsearch, env: dict[str, str]
) -> None:
    prefix = env["NEWSMON_INDEX_PREFIX"]
    origins = {"bao nguoi lao dong": "nld", "nld": "nld"}
    original = _article("nld", "hoi-nghi", "Hội nghị trực tuyến quán triệt Nghị quyết", STORY)
    write_batch(es, prefix, [original], origins)
    # The republisher kept half the story and wrote the rest itself: too little for a join
    # on similarity alone.
    own = [
        "Ban Thường vụ LĐLĐ huyện đã cử 40 cán bộ tham dự tại điểm cầu của huyện ủy.",
        "Các đồng chí dự hội nghị ghi nhận nhiều ý kiến về việc chăm lo đời sống công nhân khu trọ.",
    ]
    kept = STORY[:3]
    named = _article(
        "ldld",
        "hoi-nghi-huyen",
        "Cán bộ huyện dự hội nghị quán triệt",
        [*kept, *own, "(Nguồn: Báo Người Lao Động)"],
    )
    unnamed = _article("cdn", "hoi-nghi-huyen", "Cán bộ huyện dự hội nghị quán triệt", [*kept, *own])
    wrong_site = _article(
        "cdx",
        "hoi-nghi-huyen",
        "Cán bộ huyện dự hội nghị quán triệt",
        [*kept, *own, "(Nguồn: Báo Lao Động Thủ Đô)"],
    )
    assert NAMED_JACCARD <= similarity(named.minhash or [], original.minhash or []) < NEAR_DUP_JACCARD
    write_batch(es, prefix, [named, unnamed, wrong_site], origins)
    stored = {
        doc.site: es.get(index=alias_name(prefix), id=doc.id)["_source"]
        for doc in (named, unnamed, wrong_site)
    }
    assert stored["ldld"]["duplicate_of"] == original.id
    assert stored["cdn"]["cluster"] != original.cluster
    assert stored["cdx"]["cluster"] != original.cluster
    # The other way round: the copy first, then its original meets it.
    late_original = _article("nld", "tin-goc-muon", "Hội nghị ở huyện", [*BONUS_B, *STORY[3:]])
    late_copy = _article(
        "ldld", "tin-lai-som", "Hội nghị ở huyện (tin lại)", [*BONUS_B, *own, "(Theo Báo Người Lao Động)"]
    )
    alike = similarity(late_copy.minhash or [], late_original.minhash or [])
    assert NAMED_JACCARD <= alike < NEAR_DUP_JACCARD
    write_batch(es, prefix, [late_copy], origins)
    es.indices.refresh(index=alias_name(prefix))
    write_batch(es, prefix, [late_original], origins)
    first = es.get(index=alias_name(prefix), id=late_copy.id)["_source"]
    assert es.get(index=alias_name(prefix), id=late_original.id)["_source"]["cluster"] == first["cluster"]
    # An unrelated story of the named site is not joined, however it names its origin.
    source_line = "(Nguồn: Báo Người Lao Động)"
    other = _article("ldld", "thuong-tet", "Bình Dương: thưởng Tết", [*BONUS_A, source_line])
    write_batch(es, prefix, [other], origins)
    assert es.get(index=alias_name(prefix), id=other.id)["_source"]["duplicate_of"] is None


def _original_stored(es: Elasticsearch, prefix: str) -> dict[str, Article]:
    """The corpus, its original indexed and known only to Elasticsearch (as to another process)."""
    corpus = _corpus()
    write_batch(es, prefix, [corpus["original"]])
    es.indices.refresh(index=alias_name(prefix))
    index_stage._recent.clear()
    return corpus


@pytest.mark.parametrize(
    "per_batch", [True, False], ids=["one lookup per batch", "template bands: per article"]
)
@pytest.mark.parametrize(
    ("days_later", "window", "joins"),
    [(3, 14, True), (30, 14, False), (30, 0, True)],
    ids=["three days later", "a month later", "a month later, no window"],
)
def test_copies_are_looked_for_among_articles_published_near_them(
    es: Elasticsearch,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    days_later: int,
    window: int,
    joins: bool,
    per_batch: bool,
) -> None:
    """The lookup that keeps ingest flat at a million articles: a copy republished within the
    window joins its story through Elasticsearch alone; one outside it is a story of its own.
    Both ways of asking agree (the batch's one query, and a search per article when the
    batch's bands match more articles than that query reads)."""
    if not per_batch:
        monkeypatch.setattr(dedup, "NEAR_HITS_PER_DOC", 0)
    prefix = env["NEWSMON_INDEX_PREFIX"]
    corpus = _original_stored(es, prefix)
    copy = corpus["trimmed"]
    copy.published = (
        f"2021-12-{6 + days_later:02d}T10:05:00+07:00" if days_later < 25 else "2022-01-05T10:05:00+07:00"
    )
    write_batch(es, prefix, [copy], window_days=window)
    stored = es.get(index=alias_name(prefix), id=copy.id)["_source"]
    assert (stored["duplicate_of"] == corpus["original"].id) is joins


@pytest.mark.parametrize("copy_first", [True, False], ids=["copy first", "copy second"])
@pytest.mark.parametrize(
    ("published", "others"),
    [
        ("2021-12-09T10:05:00+07:00", ["2025-06-01T08:00:00+07:00"]),
        ("2021-12-09T10:05:00+07:00", ["2025-06-01T08:00:00+07:00", "2019-01-01T08:00:00+07:00"]),
        (None, ["2025-06-01T08:00:00+07:00"]),
    ],
    ids=["beside a later article", "between a later and an earlier one", "undated, beside a later one"],
)
def test_a_copy_joins_its_story_whatever_else_its_batch_holds(
    es: Elasticsearch, env: dict[str, str], published: str | None, others: list[str], copy_first: bool
) -> None:
    """The batch's one lookup asks only for articles near the batch's dates (so segments of
    other years are skipped): every article's own window is inside what it asks, wherever the
    copy sits among articles of other years, and an undated copy is compared with any date."""
    prefix = env["NEWSMON_INDEX_PREFIX"]
    corpus = _original_stored(es, prefix)
    copy = corpus["trimmed"]
    copy.published = published
    batch = []
    for number, (published, paragraphs) in enumerate(zip(others, [BONUS_A, BONUS_B], strict=False)):
        other = _article("cdn", f"khac-{number}", f"Tin khác {number}", paragraphs)
        other.published = published
        batch.append(other)
    write_batch(es, prefix, [copy, *batch] if copy_first else [*batch, copy])
    stored = es.get(index=alias_name(prefix), id=copy.id)["_source"]
    assert stored["duplicate_of"] == corpus["original"].id
