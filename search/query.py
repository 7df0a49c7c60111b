"""The query language compiled to Elasticsearch structured queries (never query_string).

Walking-skeleton version: words and "quoted phrases", all required. The diacritics
rule applies per term: typed without diacritics it matches the folded field, typed
with diacritics it matches the tone-normalized field exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from search import textnorm

_TOKEN = re.compile(r'"([^"]*)"|(\S+)')


class QueryError(ValueError):
    """The query cannot be understood; the message is meant for the user."""


@dataclass(frozen=True)
class Term:
    """A word or a phrase as the user typed it."""

    text: str

    @property
    def exact(self) -> bool:
        return textnorm.has_diacritics(self.text)

    @property
    def field_suffix(self) -> str:
        return "norm" if self.exact else "fold"

    @property
    def matching_form(self) -> str:
        return textnorm.normalize(self.text) if self.exact else textnorm.fold(self.text)


def parse(query: str) -> list[Term]:
    """Split a query into terms; raise QueryError on unbalanced quotes or an empty query."""
    text = textnorm.display(query)
    if text.count('"') % 2:
        raise QueryError('unbalanced quotes: every " needs its closing "')
    terms = [Term((m.group(1) if m.group(1) is not None else m.group(2)).strip())
             for m in _TOKEN.finditer(text)]
    terms = [t for t in terms if textnorm.fold(t.text).strip()]
    if not terms:
        raise QueryError("the query is empty")
    return terms


def _term_clause(term: Term) -> dict[str, Any]:
    fields = [f"title_{term.field_suffix}", f"text_{term.field_suffix}"]
    return {"bool": {"should": [{"match_phrase": {f: term.matching_form}} for f in fields],
                     "minimum_should_match": 1}}


def compile_query(query: str) -> dict[str, Any]:
    """Elasticsearch bool query: every term required; title hits and adjacency rank higher."""
    terms = parse(query)
    whole = " ".join(textnorm.fold(t.text) for t in terms)
    return {"bool": {
        "must": [_term_clause(t) for t in terms],
        "should": [
            {"match_phrase": {"title_fold": {"query": whole, "slop": 2, "boost": 3}}},
            {"match_phrase": {"text_fold": {"query": whole, "slop": 2}}},
        ],
    }}


def matching_forms(query: str) -> list[tuple[str, bool]]:
    """(matching form, exact?) of each term, for snippet highlighting in Python."""
    return [(t.matching_form, t.exact) for t in parse(query)]
