"""What a page declares about itself (JSON-LD objects and `<meta>` tags), read once per page."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from lxml.html import HtmlElement

from pipelines.extraction.xpath import Elements, elements


@dataclass(frozen=True)
class PageMeta:
    """JSON-LD objects (with `@graph` members unpacked) and meta tags by lower-case key."""

    jsonld: list[dict[str, Any]]
    meta: dict[str, str]
    meta_tags: tuple[str, ...] = ()

    @classmethod
    def read(cls, tree: HtmlElement) -> PageMeta:
        """Read the page's JSON-LD and meta tags once."""
        objects: list[dict[str, Any]] = []
        for script in elements(tree, '//script[@type="application/ld+json"]'):
            try:
                stack = [json.loads(script.text or "")]
            except ValueError:
                continue
            while stack:
                item = stack.pop()
                if isinstance(item, list):
                    stack.extend(item)
                elif isinstance(item, dict):
                    objects.append(item)
                    if "@graph" in item:
                        stack.append(item["@graph"])
        meta: dict[str, str] = {}
        tags: list[str] = []
        for node in elements(tree, "//meta[@content]"):
            key = (node.get("property") or node.get("name") or node.get("itemprop") or "").lower()
            content = node.get("content", "").strip()
            if key and content:
                meta.setdefault(key, content)
                if key == "article:tag":
                    tags.append(content)
        return cls(objects, meta, tuple(tags))

    def first(self, names: tuple[str, ...]) -> str | None:
        """Content of the first of `names` (in the given order) the page has."""
        return next((self.meta[n] for n in names if n in self.meta), None)


_TITLE_SEPARATORS = re.compile(r"\s+(?:[|–—·•»:-]|::)\s+")
# Where a headline may stand, most likely first: a template puts it in a heading, or (old
# table layouts, portals) in a td/span/div of its own.
_HEAD_RANK = {"h1": 0, "h2": 1, "h3": 2}
# Only elements whose text is about as long as a declared title ($lo..$hi characters: XPath's
# normalize-space keeps the no-break spaces Python's split drops, so the window is wide
# above), tested in libxml2: building the text of every element in Python cost more.
_HEAD_CANDIDATES = Elements(
    "//body//*[self::h1 or self::h2 or self::h3 or self::h4 or self::td or self::th or self::span"
    " or self::div or self::p or self::strong or self::b or self::font or self::header][not(ancestor::a)]"
    "[string-length(normalize-space()) >= $lo][string-length(normalize-space()) <= $hi]"
)
_BODY = Elements("//body")
_HEAD_MAX = 300


def declared_titles(tree: HtmlElement, page: PageMeta) -> list[str]:
    """The titles a page declares (JSON-LD headline, og/twitter title, `<title>`), and each
    part of them a separator splits off (`Site - Headline`, `Headline | Site`)."""
    found = [obj.get("headline") for obj in page.jsonld if isinstance(obj.get("headline"), str)]
    found += [page.first(("og:title", "twitter:title"))]
    title = tree.find(".//title")
    found.append(_text(title) if title is not None else None)
    titles = [" ".join(t.split()) for t in found if t and t.strip()]
    parts = [part for t in titles for part in _title_parts(t) if len(part) > 10]
    return list(dict.fromkeys(titles + parts))


_MAX_TITLE_PARTS = 8


def _title_parts(title: str) -> list[str]:
    """Every run of consecutive parts between separators: the headline itself may hold one
    (`Site - Đại hội ... nhiệm kỳ 2023 - 2028` holds `Đại hội ... nhiệm kỳ 2023 - 2028`)."""
    cuts = [(m.start(), m.end()) for m in _TITLE_SEPARATORS.finditer(title)][:_MAX_TITLE_PARTS]
    starts = [0] + [end for _, end in cuts]
    ends = [start for start, _ in cuts] + [len(title)]
    return [
        title[starts[i] : ends[j]]
        for i in range(len(starts))
        for j in range(i, len(ends))
        if (i, j) != (0, len(ends) - 1)
    ]


def find_headline(tree: HtmlElement, page: PageMeta) -> tuple[str, HtmlElement] | None:
    """The element whose whole text is the longest declared title (or title part): the
    headline as shown, with the site name that `<title>` adds before or after it left out.
    Headings first, then the first such element in page order."""
    declared = sorted(declared_titles(tree, page), key=len, reverse=True)
    if not declared:
        return None
    wanted = {t.casefold(): i for i, t in enumerate(declared)}
    lengths = [len(t) for t in declared]
    lo, hi = min(lengths), 2 * max(lengths) + 20
    # Headings alone first. Another element beats a heading's match only with a title that
    # ranks before it, and only when that title's text is in the page at all (an element's
    # text, spaces squashed, is a piece of its page's, squashed): asked of the body's text
    # once, which spares the scan of every container on most pages.
    body = _BODY(tree)
    if not body:
        return None
    headings = [h for h in body[0].iter("h1", "h2", "h3") if next(h.iterancestors("a"), None) is None]
    heading = _best_match(headings, wanted)
    rank = wanted[heading[0].casefold()] if heading is not None else len(declared)
    better = [title for title in declared if wanted[title.casefold()] < rank]
    if not better:
        return heading
    shown = body[0].text_content().casefold()
    if not any(spaced_in(shown, title.casefold()) for title in better):
        return heading
    # The size test runs in libxml2: building the text of every large container in Python
    # cost a tenth of the extraction time.
    return _best_match(_HEAD_CANDIDATES(tree, lo=lo, hi=hi), wanted)


# A headline the template marks by name only (`<td class="title_news">` in table layouts whose
# `<title>` is the site's name): the first such element that stands over the article's text.
_MARKER = "translate(concat(@class, ' ', @id), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ_', 'abcdefghijklmnopqrstuvwxyz-')"
_MARKED_HEADS = Elements(
    "//body//*[self::td or self::div or self::span or self::p or self::strong or self::b or self::font]"
    f"[contains({_MARKER}, 'title') or contains({_MARKER}, 'tieu-de') or contains({_MARKER}, 'tieude')"
    f" or contains({_MARKER}, 'headline')]"
    "[not(ancestor-or-self::a)][not(descendant::a)][not(ancestor::nav|ancestor::aside|ancestor::footer|ancestor::header)]"
)
_MARKED_HEAD_WORDS = (4, 40)
_STANDS_OVER_CHARS = 500  # text outside links in the nearest containers, an article's lead at least
_STANDS_OVER_LEVELS = 3


def marked_headline(tree: HtmlElement, declared: Sequence[str] = ()) -> tuple[str, HtmlElement] | None:
    """The element marked as a title (class or id) whose text is a headline's length and
    whose nearest container holding an article's worth of text outside links is the
    smallest (a sidebar box's title reaches such text only through the whole layout).
    One that a `declared` title begins with comes first: a sidebar box with a long notice
    of its own is smaller than the story's container."""
    best: tuple[bool, int, int, str, HtmlElement] | None = None
    folded = [t.casefold() for t in declared]
    for order, node in enumerate(_MARKED_HEADS(tree)):
        text = squash(node.text_content())
        if not _MARKED_HEAD_WORDS[0] <= len(text.split()) <= _MARKED_HEAD_WORDS[1]:
            continue
        container = node
        for _ in range(_STANDS_OVER_LEVELS):
            parent = container.getparent()
            if parent is None:
                break
            container = parent
            whole = len(container.text_content())
            linked = sum(len(a.text_content()) for a in container.iter("a"))
            if whole - linked - len(text) >= _STANDS_OVER_CHARS:
                unnamed = not any(t.startswith(text.casefold()) for t in folded)
                if best is None or (unnamed, whole, order) < best[:3]:
                    best = (unnamed, whole, order, text, node)
                break
    return (best[3], best[4]) if best is not None else None


_SPACE_AHEAD = re.compile(r"\s+")


def spaced_in(text: str, title: str) -> bool:
    """True when `title` stands in `text` with any whitespace between its words, as
    `title in squash(text)` would be (str.split and the pattern's \\s agree on what is
    whitespace). Squashing the page's text to ask that cost a quarter of a millisecond, and a
    pattern compiled from the title a tenth: this anchors on the title's longest word (the
    rarest, most often) and walks out from each of its places."""
    words = title.split()
    if not words or not all(word in text for word in words):
        return False
    anchor = max(range(len(words)), key=lambda i: len(words[i]))
    before, after = words[:anchor][::-1], words[anchor + 1 :]
    at = text.find(words[anchor])
    while at >= 0:
        if _words_before(text, at, before) and _words_after(text, at + len(words[anchor]), after):
            return True
        at = text.find(words[anchor], at + 1)
    return False


def _words_after(text: str, at: int, words: list[str]) -> bool:
    for word in words:
        space = _SPACE_AHEAD.match(text, at)
        if space is None or not text.startswith(word, space.end()):
            return False
        at = space.end() + len(word)
    return True


def _words_before(text: str, at: int, words: list[str]) -> bool:
    for word in words:
        end = at
        while end > 0 and text[end - 1].isspace():
            end -= 1
        if end == at or end < len(word) or not text.startswith(word, end - len(word)):
            return False
        at = end - len(word)
    return True


def _best_match(nodes: list[HtmlElement], wanted: dict[str, int]) -> tuple[str, HtmlElement] | None:
    best: tuple[int, int, int, HtmlElement] | None = None
    for order, node in enumerate(nodes):
        text = node.text_content()
        if len(text) > 4 * _HEAD_MAX:
            continue
        text = " ".join(text.split())
        rank = wanted.get(text.casefold())
        if rank is None:
            continue
        key = (rank, _HEAD_RANK.get(node.tag, 3), order, node)
        if best is None or key[:3] < best[:3]:
            best = key
    return (squash(best[3].text_content()), best[3]) if best is not None else None


def squash(text: str) -> str:
    """Whitespace runs to one space, ends trimmed."""
    return " ".join(text.split())


def _text(node: HtmlElement) -> str:
    return squash(node.text_content())


def page_title(tree: HtmlElement, page: PageMeta) -> tuple[str | None, HtmlElement | None]:
    """The headline, without the site-name suffix `<title>` and og:title usually carry.

    Order: JSON-LD headline, the page's one `<h1>` (or the one the declared titles
    begin with), og:title, an element marked as the title when `<title>` is all the page
    declares (it often names only the site), then `<title>`; a declared title loses its last
    ` - Site name` part when that part names the site or is not in the headline. The element
    is given too when the headline was found as a marked one.
    """
    for obj in page.jsonld:
        headline = obj.get("headline")
        if isinstance(headline, str) and headline.strip():
            return " ".join(headline.split()), None
    social = page.first(("og:title", "twitter:title"))
    declared = [
        t
        for t in (
            social,
            _text(tree.find(".//title")) if tree.find(".//title") is not None else None,
        )
        if t
    ]
    declared = [" ".join(t.split()) for t in declared]
    heads = [h for h in (_text(h) for h in tree.iter("h1")) if len(h) > 10]
    if len(heads) == 1:
        return heads[0], None
    for head in heads:
        if any(t.startswith(head) for t in declared):
            return head, None
    if not social and (marked := marked_headline(tree, declared)) is not None:
        return marked
    site = (page.first(("og:site_name", "application-name")) or "").casefold()
    for full in declared:
        parts = _TITLE_SEPARATORS.split(full)
        title = full
        if len(parts) > 1 and (len(parts[-1]) < len(full) / 2 or parts[-1].casefold() == site):
            title = full[: full.rfind(parts[-1])].rstrip(" |–—·•»:-")
        if title:
            return title, None
    return (heads[0] if heads else None), None


def page_canonical(tree: HtmlElement, page: PageMeta) -> str | None:
    """`<link rel=canonical>`, else og:url (same-site is checked by the caller)."""
    for link in elements(
        tree, '//link[@href][contains(concat(" ", normalize-space(@rel), " "), " canonical ")]'
    ):
        return link.get("href").strip() or None
    return page.first(("og:url",))


def page_language(tree: HtmlElement, page: PageMeta) -> str | None:
    """The declared language (`vi`), from `<html lang>` or meta."""
    lang = tree.get("lang") or page.first(("content-language", "og:locale", "language"))
    return lang.replace("_", "-").split("-")[0].lower() if lang else None


def page_tags(page: PageMeta) -> list[str]:
    """Tags declared in meta (`article:tag`, `news_keywords`, `keywords`)."""
    if page.meta_tags:
        return [t for t in page.meta_tags if "," not in t] or [
            t.strip() for t in page.meta_tags[0].split(",") if t.strip()
        ]
    for key in ("news_keywords", "keywords"):
        if key in page.meta:
            return [t.strip() for t in page.meta[key].split(",") if t.strip()]
    for obj in page.jsonld:
        keywords = obj.get("keywords")
        if isinstance(keywords, str):
            keywords = keywords.split(",")
        if isinstance(keywords, list):
            return [str(k).strip() for k in keywords if str(k).strip()]
    return []


# The accounts a CMS is installed with: a page "by" one of them names who pressed publish,
# not who wrote the story (the signature under the body does).
_ACCOUNT_NAMES = frozenset(
    {
        "admin",
        "administrator",
        "super user",
        "superuser",
        "webmaster",
        "root",
        "user",
        "quản trị",
        "quản trị viên",
    }
)


# A login shown where a name would be ("bientap", "ctv_01"): one lower-case ASCII token. A
# person's byline is capitalised, and Vietnamese names carry marks or spaces.
_LOGIN = re.compile(r"[a-z][a-z0-9._-]*")


def person(name: str) -> str | None:
    """`name` squashed, or None when it is a CMS account or a login rather than a person."""
    name = squash(name)
    if not name or name.casefold() in _ACCOUNT_NAMES or _LOGIN.fullmatch(name):
        return None
    return name


def declared_author(page: PageMeta) -> str | None:
    """The byline as the page declares it (JSON-LD, then meta), all names kept; a CMS's
    own account (admin, Super User) is no byline."""
    for obj in page.jsonld:
        authors = obj.get("author")
        if isinstance(authors, dict | str):
            authors = [authors]
        if isinstance(authors, list):
            found = (a.get("name") if isinstance(a, dict) else a for a in authors)
            names = [name for name in (person(str(n)) for n in found if n) if name]
            if names:
                return ", ".join(names)
    author = page.first(("author", "article:author", "dc.creator"))
    if not author or author.startswith("http"):
        return None
    # A portal that names itself as every page's author names no one.
    site = page.first(("og:site_name", "application-name"))
    return None if site and squash(site).casefold() == squash(author).casefold() else person(author)


def canonical_href(tree: HtmlElement, page: PageMeta, url: str | None) -> str | None:
    """The declared canonical address, made absolute against the page's URL."""
    href = page_canonical(tree, page)
    return urljoin(url, href) if href and url else href
