"""The query language (SPEC.md) parsed and compiled to Elasticsearch structured queries.

Search and alerts share this module. Grammar (implicit AND binds tighter than OR):

    query   := or_expr
    or_expr := and_expr ("OR" and_expr)*
    and_expr:= unary unary*
    unary   := "-" primary | primary
    primary := WORD | "PHRASE" | "(" or_expr ")"

`OR` is an operator only in capitals (as in web search engines); `or` is a word. Per
word or phrase the diacritics rule applies: typed without diacritics it matches the
folded field (any diacritics, đ = d), typed with diacritics it matches the
tone-normalized field (those diacritics only, old and new tone placement equal). User
text only ever reaches Elasticsearch inside `match_phrase` values, never a query string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from config.limits import MAX_QUERY_CHARS, MAX_QUERY_DEPTH, MAX_QUERY_TERMS
from search import textnorm, words

FIELDS = ("title", "text")
_TOKENS = re.compile(r'\s+|(?P<neg>-)?(?:"(?P<phrase>[^"]*)"|(?P<open>\()|(?P<close>\))|(?P<word>[^\s()"]+))')


_DASH = "sau dấu '-' phải là một từ, một cụm từ trong ngoặc kép hoặc một nhóm trong ngoặc"


class QueryError(ValueError):
    """The query cannot be understood; the message is meant for the user."""


@dataclass(frozen=True)
class Term:
    """A word or a phrase as the user typed it (or, `alternative`, another way of writing a
    typed word: an abbreviation's expansion or an expansion's abbreviation)."""

    text: str
    alternative: bool = False

    @property
    def exact(self) -> bool:
        """True when the term was typed with diacritics (matched exactly)."""
        return textnorm.has_diacritics(self.text)

    @property
    def field_suffix(self) -> str:
        """`_norm` for exact terms, `_fold` for accent-less ones."""
        return "norm" if self.exact else "fold"

    @property
    def matching_form(self) -> str:
        """The term in the form its field is indexed in."""
        return textnorm.normalize(self.text) if self.exact else textnorm.fold(self.text)


@dataclass(frozen=True)
class Not:
    """A negated node."""

    node: Node


@dataclass(frozen=True)
class And:
    """Every child must match."""

    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """At least one child must match."""

    nodes: tuple[Node, ...]


Node = Term | Not | And | Or


@dataclass(frozen=True)
class _Token:
    kind: str  # word, phrase, open, close, or
    text: str
    negated: bool


def _tokens(query: str) -> list[_Token]:
    text = textnorm.display(query)
    if text.count('"') % 2:
        raise QueryError('thiếu dấu ngoặc kép: mỗi dấu " cần một dấu " đóng')
    tokens: list[_Token] = []
    for match in _TOKENS.finditer(text):
        negated = match.group("neg") is not None
        if match.group("phrase") is not None:
            tokens.append(_Token("phrase", match.group("phrase").strip(), negated))
        elif match.group("open"):
            tokens.append(_Token("open", "(", negated))
        elif match.group("close"):
            if negated:
                raise QueryError(_DASH)
            tokens.append(_Token("close", ")", False))
        elif match.group("word") is not None:
            word = match.group("word")
            kind = "or" if word == "OR" and not negated else "word"
            tokens.append(_Token(kind, word, negated))
        elif match.group("neg"):
            raise QueryError(_DASH)
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def or_expr(self) -> Node | None:
        parts = [self.and_expr()]
        while (token := self.peek()) is not None and token.kind == "or":
            self.take()
            parts.append(self.and_expr())
        if len(parts) > 1 and any(p is None for p in parts):
            raise QueryError("OR cần có từ cần tìm ở cả hai bên")
        nodes = tuple(p for p in parts if p is not None)
        if not nodes:
            return None
        return nodes[0] if len(nodes) == 1 else Or(nodes)

    def and_expr(self) -> Node | None:
        nodes: list[Node] = []
        while (token := self.peek()) is not None and token.kind not in ("or", "close"):
            if token.kind == "word":
                nodes.extend(self.words())
                continue
            node = self.unary()
            if node is not None:
                nodes.append(node)
        if not nodes:
            return None
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes))

    def words(self) -> list[Node]:
        """A run of unquoted syllables as the Vietnamese words it holds, each required as
        the run of syllables it is and also found written as its abbreviation or expansion.
        A '-' before the run excludes its first word ("-nhà ở" excludes "nhà ở")."""
        negated = self.tokens[self.pos].negated
        run: list[str] = []
        while (token := self.peek()) is not None and token.kind == "word" and (not token.negated or not run):
            self.take()
            if _meaningful(token.text):
                run.append(token.text)
            elif negated:
                return []
        nodes = [_word(" ".join(syllables)) for syllables in words.segment(run)] if run else []
        if negated and nodes:
            nodes[0] = Not(nodes[0])
        return nodes

    def unary(self) -> Node | None:
        token = self.take()
        if token.kind == "open":
            inner = self.or_expr()
            closing = self.peek()
            if closing is None or closing.kind != "close":
                raise QueryError("thiếu dấu ngoặc: có dấu '(' chưa được đóng")
            self.take()
            if inner is None:
                raise QueryError("ngoặc rỗng: hãy đặt từ cần tìm vào trong '( )'")
            node: Node = inner
        else:
            if not _meaningful(token.text):
                return None  # punctuation alone finds nothing; ignore it
            node = Term(token.text)
        return Not(node) if token.negated else node


def _meaningful(text: str) -> bool:
    return bool(textnorm.fold(text).strip()) and re.search(r"\w", text) is not None


def _word(text: str) -> Node:
    term = Term(text)
    others = words.lexicon().alternatives(text)
    if not others:
        return term
    # Typed without diacritics, the other forms are matched without them too.
    alternatives = [Term(o if term.exact else textnorm.fold(o), alternative=True) for o in others]
    return Or((term, *alternatives))


def _check_size(query: str, tokens: list[_Token]) -> None:
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"truy vấn quá dài: tối đa {MAX_QUERY_CHARS} ký tự")
    if sum(t.kind in ("word", "phrase") for t in tokens) > MAX_QUERY_TERMS:
        raise QueryError(f"truy vấn quá dài: tối đa {MAX_QUERY_TERMS} từ hoặc cụm từ")
    depth = 0
    for token in tokens:
        depth += (token.kind == "open") - (token.kind == "close")
        if depth > MAX_QUERY_DEPTH:
            raise QueryError(f"truy vấn lồng quá sâu: tối đa {MAX_QUERY_DEPTH} cấp ngoặc")


def parse(query: str) -> Node:
    """The query's syntax tree; QueryError (with a message for the user) when malformed."""
    tokens = _tokens(query)
    _check_size(query, tokens)
    parser = _Parser(tokens)
    tree = parser.or_expr()
    if parser.peek() is not None:
        raise QueryError("thừa dấu ngoặc: có dấu ')' không có '(' đi trước")
    if tree is None:
        raise QueryError("truy vấn trống: hãy nhập từ cần tìm")
    if not positive_terms(tree):
        raise QueryError("truy vấn chỉ loại trừ từ: hãy thêm ít nhất một từ cần tìm")
    return tree


def positive_terms(node: Node) -> list[Term]:
    """The words and phrases the query looks for (not the excluded ones), in order."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return []
    return [t for child in node.nodes for t in positive_terms(child)]


def _term_clause(term: Term, title_boost: float) -> dict[str, Any]:
    def phrase(field: str) -> dict[str, Any]:
        name = f"{field}_{term.field_suffix}"
        if field == "title" and title_boost != 1:
            return {"match_phrase": {name: {"query": term.matching_form, "boost": title_boost}}}
        return {"match_phrase": {name: term.matching_form}}

    return {"bool": {"should": [phrase(f) for f in FIELDS], "minimum_should_match": 1}}


def _compile(node: Node, title_boost: float = 1) -> dict[str, Any]:
    if isinstance(node, Term):
        return _term_clause(node, title_boost)
    if isinstance(node, Not):
        return {"bool": {"must_not": [_compile(node.node)]}}
    if isinstance(node, Or):
        return {"bool": {"should": [_compile(n, title_boost) for n in node.nodes], "minimum_should_match": 1}}
    must = [_compile(n, title_boost) for n in node.nodes if not isinstance(n, Not)]
    must_not = [_compile(n.node) for n in node.nodes if isinstance(n, Not)]
    clause: dict[str, Any] = {"must": must}
    if must_not:
        clause["must_not"] = must_not
    return {"bool": clause}


TITLE_BOOST = 3  # a match in the title against one in the body


def compile_query(query: str) -> dict[str, Any]:
    """Elasticsearch query for `query`: its logic, plus a ranking boost when the words it
    looks for occur close together (title first)."""
    tree = parse(query)
    typed = _typed(tree)
    if len(typed) == 1:
        # One word: its match in the title weighs three times, inside the clause that finds
        # it. A second phrase over every matching title for the boost (as for several words
        # below) made the best 100 articles of four one-word queries at a million articles
        # take 1.4-3.7 times as long (130 against 35 ms for "công đoàn"), for the same top ten
        # in three of them and nine of ten in the fourth (bench/archive.py's index).
        return {"bool": {"must": [_compile(tree, title_boost=TITLE_BOOST)]}}
    # Several words: close together in the title (two words apart at most). Their exact
    # adjacency in the body is `body_phrase`, asked of the best matches only.
    should = [{"match_phrase": {"title_fold": {"query": _whole(typed), "slop": 2, "boost": TITLE_BOOST}}}]
    return {"bool": {"must": [_compile(tree)], "should": should}}


def body_phrase(query: str) -> dict[str, Any] | None:
    """The ranking boost for a query of several words found side by side in a body (None for
    one word, which is already looked for as a phrase). It is asked only of the best-scoring
    matches (`search.search.BOOST_WINDOW`): over every matching body it was a fifth to a
    quarter of the time of the slowest queries at a million articles (bench/archive.py), and
    a sloppy phrase doubled the 95th-percentile latency at 100k (bench/search_speed.py)."""
    typed = _typed(parse(query))
    if len(typed) < 2:
        return None
    return {"match_phrase": {"text_fold": {"query": _whole(typed)}}}


def _typed(tree: Node) -> list[Term]:
    """The words and phrases looked for as the user typed them (no abbreviation's other form)."""
    return [t for t in positive_terms(tree) if not t.alternative]


def _whole(typed: list[Term]) -> str:
    """The typed words folded, in order: what the ranking boosts look for side by side."""
    return " ".join(textnorm.fold(t.text) for t in typed)


def matching_forms(query: str) -> list[tuple[str, bool]]:
    """(matching form, exact?) of each word or phrase looked for, for highlighting."""
    return [(t.matching_form, t.exact) for t in positive_terms(parse(query))]
