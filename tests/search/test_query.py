"""The query language: grammar, diacritics rules and errors, on a small corpus in a real index."""

from __future__ import annotations

import json

import pytest
from elasticsearch import Elasticsearch

from search.query import QueryError, compile_query, parse
from search.search import search
from tests.support import CORPUS, GRAMMAR, index_corpus, run_cli


def _found(es: Elasticsearch, env: dict[str, str], query: str) -> set[str]:
    hits = search(es, env["NEWSMON_INDEX_PREFIX"], query, limit=50)["hits"]
    return {h["url"].split("/")[-1].rsplit("-", 1)[0] for h in hits}


# (query, slugs it finds): every grammar form and diacritics rule; alerts use the same table.


@pytest.fixture
def corpus(es: Elasticsearch, env: dict[str, str]) -> dict[str, str]:
    index_corpus(es, env["NEWSMON_INDEX_PREFIX"])
    return {slug: f"https://cd.example.vn/{slug}-1001.html" for slug in CORPUS}


@pytest.mark.es
@pytest.mark.parametrize(("query", "expected"), GRAMMAR)
def test_grammar_and_diacritics(
    corpus: dict[str, str], es: Elasticsearch, env: dict[str, str], query: str, expected: set[str]
) -> None:
    assert _found(es, env, query) == expected


@pytest.mark.es
def test_nfd_query_matches_nfc_text(corpus: dict[str, str], es: Elasticsearch, env: dict[str, str]) -> None:
    import unicodedata

    assert _found(es, env, unicodedata.normalize("NFD", "nợ lương")) == {"no-luong"}


@pytest.mark.es
def test_snippet_escapes_crawled_markup_and_marks_words(
    corpus: dict[str, str], es: Elasticsearch, env: dict[str, str]
) -> None:
    hit = search(es, env["NEWSMON_INDEX_PREFIX"], "giả mạo")["hits"][0]
    expected = "Trang <mark>giả mạo</mark> chèn mã &lt;script&gt;alert(1)&lt;/script&gt;"
    assert expected in hit["snippet"]
    assert "<script>" not in hit["snippet"]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ('"nợ lương', "ngoặc kép"),
        ("(công đoàn", "chưa được đóng"),
        ("công đoàn)", "thừa dấu ngoặc"),
        ("()", "ngoặc rỗng"),
        ("-lương", "chỉ loại trừ"),
        ("công OR", "OR"),
        ("OR công", "OR"),
        ("   ", "trống"),
    ],
)
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
    assert "chưa được đóng" in result.stderr
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
