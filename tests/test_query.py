"""The query language: grammar, diacritics rules and errors, on a small corpus in a real index."""

from __future__ import annotations

import json

import pytest
from elasticsearch import Elasticsearch

from pipelines.dedup import content_hash
from pipelines.index import write_batch
from pipelines.normalize import normalize_article
from search.article import Article
from search.query import QueryError, compile_query, parse
from search.schema import alias_name
from search.search import search
from tests.conftest import run_cli

CORPUS = {
    "no-luong": ("Công nhân bị nợ lương ba tháng", "Hơn 300 công nhân Công ty may bị nợ lương, công đoàn "
                 "đề nghị doanh nghiệp trả lương trước Tết."),
    "dinh-cong": ("Đình công tại khu công nghiệp", "Công nhân ngừng việc tập thể vì doanh nghiệp chậm trả "
                  "lương; công đoàn tham gia đối thoại."),
    "nghi-quyet": ("Triển khai Nghị quyết 02 về đổi mới công đoàn",
                   "Hội nghị quán triệt Nghị quyết 02-NQ/TW, định hướng đổi mới tổ chức công đoàn."),
    "hoa-giai": ("Hoà giải tranh chấp lao động ở Thuỷ Nguyên", "Hòa giải viên lao động huyện Thủy Nguyên "
                 "đã hoà giải thành 12 vụ tranh chấp."),
    "tet": ("Thưởng Tết năm nay",
            "Nhiều doanh nghiệp công bố mức thưởng Tết; công đoàn theo dõi việc chi trả."),
    "script": ("Cảnh báo <script> giả mạo", "Trang giả mạo chèn mã <script>alert(1)</script> vào "
               "tin nhắn gửi công nhân; công đoàn khuyến cáo."),
}


def index_corpus(es: Elasticsearch, prefix: str) -> None:
    """CORPUS through the crawl's normalize and bulk-write path, searchable on return."""
    docs = []
    for slug, (title, text) in CORPUS.items():
        article = normalize_article(Article(url=f"https://cd.example.vn/{slug}-1001.html", site="cd",
                                            title=title, text=text, published="2021-12-08T08:00:00+07:00",
                                            fetched_at="2021-12-08T09:00:00+00:00"), "cd.example.vn")
        article.content_hash = content_hash(article.text)
        docs.append(article)
    write_batch(es, prefix, docs)
    es.indices.refresh(index=alias_name(prefix))


def _found(es: Elasticsearch, env: dict[str, str], query: str) -> set[str]:
    hits = search(es, env["NEWSMON_INDEX_PREFIX"], query, limit=50)["hits"]
    return {h["url"].split("/")[-1].rsplit("-", 1)[0] for h in hits}


# (query, slugs it finds): every grammar form and diacritics rule; alerts use the same table.
GRAMMAR = [
    ("công nhân lương", {"no-luong", "dinh-cong"}),              # every word required
    ('"nợ lương"', {"no-luong"}),                                # exact phrase
    ("no luong", {"no-luong"}),                                  # no diacritics: any diacritics
    ("định", {"nghi-quyet"}),                                    # diacritics: only those
    ("đình", {"dinh-cong"}),
    ("dinh", {"dinh-cong", "nghi-quyet"}),
    ("hòa giải", {"hoa-giai"}),                                  # old/new tone placement equal
    ("thuỷ nguyên", {"hoa-giai"}),
    ("HOÀ GIẢI", {"hoa-giai"}),                                  # case never matters
    ("tet OR \"nghi quyet\"", {"tet", "nghi-quyet", "no-luong"}),   # "trước Tết" counts
    ("công đoàn -lương", {"nghi-quyet", "tet", "script"}),
    ('công đoàn -"nợ lương"', {"dinh-cong", "nghi-quyet", "tet", "script"}),
    ("(đình công OR nợ) lương", {"dinh-cong", "no-luong"}),
    ("công đoàn -(tet OR script)", {"dinh-cong", "nghi-quyet"}),
    ("tết or", set()),                                           # lower-case "or" is a word
]


@pytest.fixture
def corpus(es: Elasticsearch, env: dict[str, str]) -> dict[str, str]:
    index_corpus(es, env["NEWSMON_INDEX_PREFIX"])
    return {slug: f"https://cd.example.vn/{slug}-1001.html" for slug in CORPUS}


@pytest.mark.es
@pytest.mark.parametrize(("query", "expected"), GRAMMAR)
def test_grammar_and_diacritics(corpus: dict[str, str], es: Elasticsearch, env: dict[str, str],
                                query: str, expected: set[str]) -> None:
    assert _found(es, env, query) == expected


@pytest.mark.es
def test_nfd_query_matches_nfc_text(corpus: dict[str, str], es: Elasticsearch, env: dict[str, str]) -> None:
    import unicodedata
    assert _found(es, env, unicodedata.normalize("NFD", "nợ lương")) == {"no-luong"}


@pytest.mark.es
def test_snippet_escapes_crawled_markup_and_marks_words(corpus: dict[str, str], es: Elasticsearch,
                                                       env: dict[str, str]) -> None:
    hit = search(es, env["NEWSMON_INDEX_PREFIX"], "giả mạo")["hits"][0]
    assert "<script>" not in hit["snippet"]
    assert "&lt;script&gt;" in hit["snippet"] or "script" not in hit["snippet"]


@pytest.mark.parametrize(("query", "words"), [
    ('"nợ lương', "quotes"),
    ("(công đoàn", "parentheses"),
    ("công đoàn)", "parentheses"),
    ("()", "empty"),
    ("-lương", "excludes"),
    ("công OR", "OR"),
    ("OR công", "OR"),
    ("   ", "empty"),
])
def test_malformed_queries_get_a_clear_message(query: str, words: str) -> None:
    with pytest.raises(QueryError, match=words):
        parse(query)


def test_user_text_never_reaches_a_query_string() -> None:
    compiled = json.dumps(compile_query('a:b AND "x y" OR (z* -w~2)'))
    assert "query_string" not in compiled
    assert "simple_query_string" not in compiled


@pytest.mark.es
def test_search_command_rejects_malformed_query_with_exit_2(env: dict[str, str], es: Elasticsearch) -> None:
    result = run_cli("search", "(nợ lương", env=env)
    assert result.returncode == 2
    assert "parentheses" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.es
def test_facets_and_pages(corpus: dict[str, str], es: Elasticsearch, env: dict[str, str]) -> None:
    prefix = env["NEWSMON_INDEX_PREFIX"]
    first = search(es, prefix, "công đoàn", limit=2, sort="date", facets=True)
    assert first["total"] == 5
    assert first["facets"] == {"site": {"cd": 5}, "day": {"2021-12-08": 5}}
    second = search(es, prefix, "công đoàn", limit=2, page=2, sort="date")
    assert len(second["hits"]) == 2
    assert not {h["id"] for h in first["hits"]} & {h["id"] for h in second["hits"]}
