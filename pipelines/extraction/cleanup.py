"""Page clean-up before the extraction engine sees the tree.

Removes what a reader never sees as article text (hidden or off-screen elements, where
hacked sites hide casino/escort link lists; spam link blocks; image captions and image
frames) and turns layout tables (old table-based CMS templates) into plain blocks, so
that the engine neither renders them as `| cell |` rows nor mistakes a whole page
column for one table.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml.html import HtmlElement

from pipelines.extraction.xpath import Owners, Strings, elements
from search import textnorm
from search.article import site_host

# Attribute-axis selection is the cheap part; the exact checks run in Python on the few hits.
_SUSPECTS = Owners(
    "//@style[contains(., 'none') or contains(., 'hidden') or contains(., '-9') or contains(., 'font-size')]"
    " | //@hidden | //@aria-hidden | //figcaption"
    " | //@class[contains(., 'aption') or contains(., 'expnote')]"
)
_LINK_TEXT = Strings("//a//text()")
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(px)?\s*(;|$)"
    r"|(left|top|text-indent)\s*:\s*-\d{3,}",
    re.IGNORECASE,
)
_CAPTION_CLASS = re.compile(r"caption|expnote", re.IGNORECASE)

# Words of the link lists injected into hacked Vietnamese sites, compared folded (no diacritics).
_SPAM_WORDS = (
    "casino", "nha cai", "ca cuoc", "ca do", "soi keo", "keo nha cai", "game bai", "danh bai", "xoc dia",
    "tai xiu", "no hu", "ban ca", "lo de", "danh de", "xo so online", "slot", "poker", "baccarat",
    "gai goi", "escort", "sugar baby", "viagra", "sex",
)  # fmt: skip
SPAM_TERMS = re.compile(r"\b(" + "|".join(_SPAM_WORDS) + r")\b")


def is_spam_text(text: str) -> bool:
    """True for text that reads like injected casino/betting/escort spam."""
    return _holds_spam(textnorm.fold(text))


def _holds_spam(folded: str) -> bool:
    # Each word's plain substring test first (C's string search, a few microseconds a page):
    # the word-boundary regex alone took a tenth of a millisecond on a page's link text.
    return any(word in folded for word in _SPAM_WORDS) and SPAM_TERMS.search(folded) is not None


_REMEMBERED_TEXT = 200  # characters: link texts longer than a headline are folded, not kept


def _folded(text: str) -> str:
    """One text node folded; a short one remembered: a site's menus, footers and sidebars
    repeat on every page, and folding (a table lookup per character) cost a quarter of a
    millisecond a page."""
    return _folded_short(text) if len(text) <= _REMEMBERED_TEXT else textnorm.fold(text)


@lru_cache(maxsize=16_384)
def _folded_short(text: str) -> str:
    return textnorm.fold(text)


_PHOTO_CREDIT = re.compile(r"\b(ảnh|photo|nguồn)\b", re.IGNORECASE)
_LAYOUT_BLOCKS = {"table", "h1", "h2", "h3", "h4", "h5", "h6"}
_TABLE_PARTS = {"tbody", "thead", "tfoot", "tr", "td", "th"}


def _drop(nodes: list[HtmlElement]) -> int:
    for node in nodes:
        if node.getparent() is not None:
            node.drop_tree()
    return len(nodes)


# Page chrome the engine deletes whole on every pass (trafilatura's MANUALLY_CLEANED), outside
# any <article>: deleted first, so that no later pass, newsmon's or the engine's, walks it (on
# a page with a mega menu and sidebars, most of its elements). Kept: forms (ASP.NET pages wrap
# the whole page in one), <figure> (captions), <header> (the headline), JSON-LD, and what holds
# the headline or an <article>. An <aside> or <footer> goes only when it is a sidebar's or a
# site footer's size and holds no <time>: a short one beside the headline or under the body is
# where many templates without <article> put the date stamp and the byline.
_CHROME = (
    "nav", "aside", "menu", "select", "noscript", "svg", "iframe", "style", "template", "button",
    "textarea", "object", "embed", "audio", "video", "canvas", "footer", "script",
)  # fmt: skip
_CHROME_BOX_MIN_CHARS = 300


def _is_chrome(node: HtmlElement) -> bool:
    tag = node.tag
    if tag == "script" and node.get("type") == "application/ld+json":
        return False
    if tag in ("aside", "footer") and (
        len(node.text_content()) < _CHROME_BOX_MIN_CHARS or node.find(".//time") is not None
    ):
        return False
    return (
        next(node.iterancestors("article"), None) is None
        and node.find(".//article") is None
        and node.find(".//h1") is None
    )


def drop_page_chrome(tree: HtmlElement) -> int:
    """Delete the navigation, sidebars, footers, embeds and scripts outside the article."""
    body = tree.find("body")
    if body is None:
        return 0
    # Selected by tag in libxml2, tested in Python: one XPath asking each element of the page
    # for its ancestors and descendants took seven times as long.
    return _drop([node for node in body.iter(*_CHROME) if _is_chrome(node)])


def _hidden(node: HtmlElement) -> bool:
    return (
        node.get("hidden") is not None
        or node.get("aria-hidden") == "true"
        or _HIDDEN_STYLE.search(node.get("style", "")) is not None
    )


def drop_hidden_and_captions(tree: HtmlElement, captions: list[HtmlElement] | None = None) -> int:
    """Hidden/off-screen elements and image captions (kept in `captions`, in case the page is
    a photo story); returns how many elements went."""
    # In page order (a dict, not a set): a photo story's captions are its text, in order,
    # also on a page written on one line.
    nodes = _SUSPECTS(tree)
    shown = [
        node
        for node in nodes
        if not _hidden(node)
        and not any(_hidden(a) for a in node.iterancestors())
        and (
            node.tag == "figcaption"
            or (_CAPTION_CLASS.search(node.get("class", "")) and _is_caption_sized(node))
        )
    ]
    if captions is not None:
        captions.extend(shown)
    return _drop([node for node in nodes if _hidden(node) or node in shown])


def _is_caption_sized(node: HtmlElement) -> bool:
    """A caption is a line or two, never a page section (some sites put `caption` in the
    feature flags on `<body>`)."""
    return node.tag not in ("html", "body", "main", "article") and len(node.text_content()) <= 400


def drop_spam_links(tree: HtmlElement) -> int:
    """Blocks whose links are mostly spam anchors (two at least), and single spam links."""
    if not _holds_spam(" ".join(map(_folded, _LINK_TEXT(tree)))):
        return 0  # the common case, decided with one fold of all link text
    anchors = list(tree.iter("a"))
    texts = [" ".join("".join(a.itertext()).split()) for a in anchors]
    folded = textnorm.fold("\n".join(texts)).split("\n")  # one fold for the whole page
    spam = {a for a, text in zip(anchors, folded, strict=True) if _holds_spam(text)}
    doomed = []
    for parent in {a.getparent() for a in spam}:
        if parent is None:
            continue
        links = list(parent.iter("a"))
        bad = [a for a in links if a in spam]
        doomed.extend([parent] if len(bad) >= 2 and len(bad) * 2 >= len(links) else bad)
    return _drop(doomed)


def _is_caption_line(node: HtmlElement) -> bool:
    """Short text that is all italic/emphasised, or centred and naming a photo credit."""
    text = node.text_content().strip()
    emphasised = "".join(e.text_content() for e in node.iter("em", "i")).strip()
    centred = "text-align:center" in node.get("style", "").replace(" ", "") or node.get("align") == "center"
    credited = centred and _PHOTO_CREDIT.search(text) is not None
    return bool(text) and len(text) <= 300 and (emphasised == text or credited)


def drop_image_captions(tree: HtmlElement, captions: list[HtmlElement] | None = None) -> int:
    """A photo's caption: a short italic/centred line right after an image-only block, or
    beside the image in its own block (`<p align=center><img><br><i>caption</i></p>`)."""
    doomed = []
    for img in tree.iter("img"):
        holder = img.getparent()
        while holder is not None and holder.tag in ("a", "span", "strong", "b", "center"):
            holder = holder.getparent()
        if holder is None or holder.tag not in ("p", "div", "center", "figure"):
            continue
        if holder.text_content().strip():
            if _is_caption_line(holder):
                doomed.append(holder)  # the picture and its caption, one block
            continue
        nxt = holder.getnext()
        if nxt is not None and nxt.tag in ("p", "div") and _is_caption_line(nxt):
            doomed.append(nxt)
    if captions is not None:
        captions.extend(doomed)
    return _drop(doomed)


def _is_layout(table: HtmlElement) -> bool:
    if any(node.tag in _LAYOUT_BLOCKS for node in table.iterdescendants()):
        return True
    return any(len(cell.text_content()) > 300 for cell in table.iter("td", "th"))


def _is_image_frame(table: HtmlElement) -> bool:
    return (
        len(elements(table, ".//tr")) <= 3
        and table.find(".//img") is not None
        and len(table.text_content().strip()) <= 300
    )


def unwrap_layout_tables(tree: HtmlElement, captions: list[HtmlElement] | None = None) -> int:
    """Image frames (picture + caption) go; layout tables become nested `<div>`s."""
    tables = list(tree.iter("table"))
    frames = [t for t in tables if _is_image_frame(t)]
    if captions is not None:
        captions.extend(frames)
    _drop(frames)
    count = 0
    for table in tables:
        if table in frames or not _is_layout(table):
            continue
        for node in [table, *table.iterdescendants()]:
            if node.tag in _TABLE_PARTS or node is table:
                node.tag = "div"
                for attr in ("width", "valign", "align", "colspan", "rowspan", "bgcolor"):
                    node.attrib.pop(attr, None)
        count += 1
    return count


# Teaser lists (other stories' headlines, with or without their sapo), recognised by their
# structure rather than by their heading: "Tin cùng chuyên mục", "Các tin đã đưa",
# "Tin nổi bật" or no heading at all look the same to this test.
_HEADLINE_MIN = 15  # letters of link text that make a link a headline...
_HEADLINE_WORDS = 5  # ...and words (a section name such as "Nghiên cứu - Trao đổi" has fewer)
_DENSE_OTHER = 0.3  # a link block: at most this share of its text outside headline links
_ITEM_MAX = 500  # characters of one teaser item (headline + sapo)
_ITEMS_SHARE = 0.7  # share of a list's text that its teaser items hold
_LIST_MAX = 8000  # characters: a teaser list is never a page section this large
_LABEL_MAX = 20  # characters of a label before an item's headline ("Xem thêm", a category)
_BOX_TAGS = frozenset({"div", "aside", "section", "figure", "table"})
_BOX_LINK_SHARE = 0.25  # a teaser box's headline holds at least this share of its text
_WORD = re.compile(r"\w+")
_INVISIBLE = frozenset({"script", "style", "noscript", "template"})
_STORY_PATH = re.compile(r"\d{3,}|(?:[^/-]+-){3,}[^/]*$")
_STORY_QUERY = re.compile(r"(?:^|&)\w*id=\d{3,}", re.IGNORECASE)


class _Stats:
    """Per element: characters of text, of headline-link text, and headline links to stories."""

    __slots__ = ("chars", "linked", "links")

    def __init__(self) -> None:
        self.chars = self.linked = self.links = 0


def _story_link(link: HtmlElement, page_url: str | None, here: str) -> bool:
    """A link to another article-like page of the same site (a headline in a teaser)."""
    href = (link.get("href") or "").strip()
    if not href or href.startswith(("#", "javascript:", "mailto:")):
        return False
    if href.startswith("/") and not href.startswith("//"):
        # A path on this site (most teaser links): no URL parsing needed.
        local = href.split("#", 1)[0]
        if page_url and local == _local_part(page_url):
            return False
        path, _, query = local.partition("?")
    else:
        target = urljoin(page_url or "", href)
        if page_url and (site_host(target) != here or target.split("#")[0] == page_url.split("#")[0]):
            return False
        parts = urlsplit(target)
        path, query = parts.path, parts.query
    # ASP/PHP portals name the story in the query (`chi-tiet.asp?id=10231`).
    return bool(_STORY_PATH.search(path.rstrip("/")) or _STORY_QUERY.search(query))


def _local_part(url: str) -> str:
    """`/path?query` of an address."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


# The ASCII spacing and punctuation teasers are made of. In UTF-8 these bytes stand only for
# themselves (a multi-byte letter never holds one), so deleting them from the encoded text
# counts them exactly.
_PUNCT_BYTES = b" \n\t\r.,:-|/()"


def _chars(text: str | None) -> int:
    """About the letters and digits of `text`: its length less spacing and the punctuation
    teasers are made of. Five calls in C: `bytes.translate` deletes by a 256-entry table,
    where `str.translate` (a dictionary lookup per character) cost a tenth of the
    extraction and one `str.count` per character three times the time."""
    if not text:
        return 0
    encoded = text.encode("utf-8", "surrogatepass")  # a lone surrogate is no reason to fail
    return (
        len(text)
        - (len(encoded) - len(encoded.translate(None, _PUNCT_BYTES)))
        - text.count("\u00a0")
        - text.count("\u2013")
        - text.count("\u00bb")
    )


def _link_stats(tree: HtmlElement, page_url: str | None) -> dict[HtmlElement, _Stats]:
    """One pass over the tree in reverse document order (every element after all of its
    descendants), each element adding its totals and its tail to its parent's. The hot loop of
    the extractor: attribute lookups are hoisted and each text is measured once."""
    here = site_host(page_url) if page_url else ""
    stats: dict[HtmlElement, _Stats] = {}
    invisible, measure, get = _INVISIBLE, _chars, stats.get
    for node in reversed(list(tree.iter(etree.Element))):
        own = get(node)
        if own is None:
            own = stats[node] = _Stats()
        text = node.text
        if text and node.tag not in invisible:  # script and style text is long and never seen
            own.chars += measure(text)
        if (
            own.chars >= _HEADLINE_MIN
            and node.tag == "a"
            and _story_link(node, page_url, here)
            and len(_WORD.findall(node.text_content())) >= _HEADLINE_WORDS
        ):
            own.linked, own.links = own.chars, 1
        parent = node.getparent()
        if parent is not None:
            up = get(parent)
            if up is None:
                up = stats[parent] = _Stats()
            tail = node.tail
            up.chars += own.chars + measure(tail) if tail else own.chars
            if own.links:
                up.linked += own.linked
                up.links += own.links
    return stats


def _starts_with_headline(item: HtmlElement, stats: dict[HtmlElement, _Stats]) -> bool:
    """The item's first words are a story link (a headline, perhaps in a heading, after its
    picture or after a short label such as a category), not a link inside a sentence."""
    before = 0
    for node in item.iter(etree.Element):
        if node.tag == "a" and stats[node].links:
            return True
        before += _chars(node.text)
        if before > _LABEL_MAX:
            return False
    return False


def _is_teaser_list(node: HtmlElement, stats: dict[HtmlElement, _Stats]) -> bool:
    own = stats[node]
    if own.links < 2 or own.chars > _LIST_MAX:
        return False
    if own.chars - own.linked <= _DENSE_OTHER * own.chars:
        return True  # a block of headline links: related lists, "most read", sidebars
    items = [
        child
        for child in node
        if isinstance(child.tag, str)
        and stats[child].links
        and stats[child].chars <= _ITEM_MAX
        and _starts_with_headline(child, stats)
    ]
    return len(items) >= 2 and sum(stats[i].chars for i in items) >= _ITEMS_SHARE * own.chars


def _is_teaser_box(node: HtmlElement, stats: dict[HtmlElement, _Stats]) -> bool:
    """One other story's headline and sapo in a box of their own inside the body (an inline
    "Xem thêm"/"Đọc thêm" card); a paragraph with a link in a sentence is not one."""
    own = stats[node]
    return (
        node.tag in _BOX_TAGS
        and own.links == 1
        and own.chars <= _ITEM_MAX
        and own.linked >= _BOX_LINK_SHARE * own.chars
        and _starts_with_headline(node, stats)
    )


def drop_teaser_lists(tree: HtmlElement, page_url: str | None, keep: HtmlElement | None = None) -> int:
    """Remove every largest block that is a list of other stories' headlines (with or without
    their sapo), wherever it stands; never the headline `keep` or what holds it."""
    stats = _link_stats(tree, page_url)
    protected = set(keep.iterancestors()) | {keep} if keep is not None else set()
    # Each element's list test is asked once more by each of its children: answer it once.
    lists: dict[HtmlElement, bool] = {}

    def is_list(node: HtmlElement) -> bool:
        if node not in lists:
            lists[node] = _is_teaser_list(node, stats)
        return lists[node]

    doomed = []
    # Only what holds a headline link can be a list or a box. The order of the tests does not
    # matter: each reads the stats and its parent's test, never an earlier decision.
    for node in [n for n, own in stats.items() if own.links]:
        if node.tag in ("html", "body") or node in protected:
            continue
        if not (is_list(node) or _is_teaser_box(node, stats)):
            continue
        parent = node.getparent()
        if parent is not None and parent not in protected and is_list(parent):
            continue  # the parent is the list; it goes as a whole
        doomed.append(node)
    return _drop(doomed)


def clean_page(tree: HtmlElement) -> list[str]:
    """Every clean-up, in an order where each sees what the previous left. Returns the image
    captions it removed, in page order (a photo story's text)."""
    captions: list[HtmlElement] = []
    drop_hidden_and_captions(tree, captions)
    drop_spam_links(tree)
    unwrap_layout_tables(tree, captions)
    drop_image_captions(tree, captions)
    captions.sort(key=lambda node: node.sourceline or 0)
    texts = (" ".join(node.text_content().split()) for node in captions)
    return list(dict.fromkeys(t for t in texts if t and not is_spam_text(t)))
