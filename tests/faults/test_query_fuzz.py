"""The query language under random input: every string either parses or gets a QueryError
with a message for the user; none raises anything else, and none that parses makes
Elasticsearch answer with an error."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.query import QueryError, compile_query, parse
from search.search import search
from tests.support import index_corpus

# What users type and what breaks parsers: words with and without diacritics, quotes,
# parentheses, minus signs, OR, stray punctuation, combining marks, control characters.
_PIECES = st.sampled_from(
    [
        "công",
        "đoàn",
        "nợ",
        "lương",
        "no",
        "luong",
        "hoà",
        "OR",
        "or",
        "-",
        "(",
        ")",
        '"',
        " ",
        "  ",
        "\t",
        "\u0300",
        "\x00",
        "*",
        ":",
        "\\",
        "[",
        "]",
        "{",
        "~",
        "^",
    ]
)
QUERIES = st.lists(_PIECES, max_size=40).map("".join) | st.text(max_size=80)


@pytest.mark.slow
@settings(max_examples=2000, deadline=None)
@given(QUERIES)
def test_any_string_parses_or_gets_a_query_error(query: str) -> None:
    try:
        parse(query)
    except QueryError as exc:
        message = str(exc)
    else:
        compile_query(query)
        return
    assert message
    assert "Traceback" not in message


@pytest.mark.es
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(QUERIES)
def test_a_query_that_parses_never_makes_elasticsearch_fail(
    es: Elasticsearch, env: dict[str, str], query: str
) -> None:
    prefix = env["NEWSMON_INDEX_PREFIX"] + "-fuzz"
    if not es.indices.exists_alias(name=f"{prefix}-articles"):
        index_corpus(es, prefix)
    try:
        parse(query)
    except QueryError:
        return
    result = search(es, prefix, query, limit=3)
    assert result["total"] >= 0
