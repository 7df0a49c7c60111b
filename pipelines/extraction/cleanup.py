"""Page clean-up before the extraction engine sees the tree.

Removes what a reader never sees as article text (hidden or off-screen elements, where
hacked sites hide casino/escort link lists; spam link blocks; image captions and image
frames) and turns layout tables (old table-based CMS templates) into plain blocks, so
that the engine neither renders them as `| cell |` rows nor mistakes a whole page
column for one table.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml.html import HtmlElement

from search import textnorm

# Attribute-axis selection is the cheap part; the exact checks run in Python on the few hits.
_SUSPECTS = etree.XPath(
    "//@style[contains(., 'none') or contains(., 'hidden') or contains(., '-9') or contains(., 'font-size')]"
    " | //@hidden | //@aria-hidden | //figcaption"
    " | //@class[contains(., 'aption') or contains(., 'expnote')]")
_LINK_TEXT = etree.XPath("//a//text()")
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(px)?\s*(;|$)"
    r"|(left|top|text-indent)\s*:\s*-\d{3,}", re.IGNORECASE)
_CAPTION_CLASS = re.compile(r"caption|expnote", re.IGNORECASE)

# Words of the link lists injected into hacked Vietnamese sites, compared folded (no diacritics).
SPAM_TERMS = re.compile(
    r"\b(casino|nha cai|ca cuoc|ca do|soi keo|keo nha cai|game bai|danh bai|xoc dia|tai xiu|no hu|ban ca"
    r"|lo de|danh de|xo so online|slot|poker|baccarat|gai goi|escort|sugar baby|viagra|sex)\b")
_PHOTO_CREDIT = re.compile(r"\b(ảnh|photo|nguồn)\b", re.IGNORECASE)
_LAYOUT_BLOCKS = {"table", "h1", "h2", "h3", "h4", "h5", "h6"}
_TABLE_PARTS = {"tbody", "thead", "tfoot", "tr", "td", "th"}


def is_spam_text(text: str) -> bool:
    """True for text that reads like injected casino/betting/escort spam."""
    return SPAM_TERMS.search(textnorm.fold(text)) is not None


def _drop(nodes: list[HtmlElement]) -> int:
    for node in nodes:
        if node.getparent() is not None:
            node.drop_tree()
    return len(nodes)


def drop_hidden_and_captions(tree: HtmlElement) -> int:
    """Hidden/off-screen elements and image captions; returns how many elements went."""
    nodes = {hit if isinstance(hit, etree._Element) else hit.getparent() for hit in _SUSPECTS(tree)}
    return _drop([node for node in nodes
                  if node.tag == "figcaption" or node.get("hidden") is not None
                  or node.get("aria-hidden") == "true" or _HIDDEN_STYLE.search(node.get("style", ""))
                  or (_CAPTION_CLASS.search(node.get("class", "")) and _is_caption_sized(node))])


def _is_caption_sized(node: HtmlElement) -> bool:
    """A caption is a line or two, never a page section (some sites put `caption` in the
    feature flags on `<body>`)."""
    return node.tag not in ("html", "body", "main", "article") and len(node.text_content()) <= 400


def drop_spam_links(tree: HtmlElement) -> int:
    """Blocks whose links are mostly spam anchors (two at least), and single spam links."""
    if not SPAM_TERMS.search(textnorm.fold(" ".join(_LINK_TEXT(tree)))):
        return 0  # the common case, decided with one fold of all link text
    anchors = list(tree.iter("a"))
    texts = [" ".join("".join(a.itertext()).split()) for a in anchors]
    folded = textnorm.fold("\n".join(texts)).split("\n")  # one fold for the whole page
    spam = {a for a, text in zip(anchors, folded, strict=True) if SPAM_TERMS.search(text)}
    doomed = []
    for parent in {a.getparent() for a in spam}:
        if parent is None:
            continue
        links = list(parent.iter("a"))
        bad = [a for a in links if a in spam]
        doomed.extend([parent] if len(bad) >= 2 and len(bad) * 2 >= len(links) else bad)
    return _drop(doomed)


def drop_image_captions(tree: HtmlElement) -> int:
    """A short italic/centred line right after an image-only block: the photo's caption."""
    doomed = []
    for img in tree.iter("img"):
        holder = img.getparent()
        while holder is not None and holder.tag in ("a", "span", "strong", "b", "center"):
            holder = holder.getparent()
        if holder is None or holder.text_content().strip():
            continue
        nxt = holder.getnext()
        if nxt is None or nxt.tag not in ("p", "div"):
            continue
        text = nxt.text_content().strip()
        emphasised = "".join(e.text_content() for e in nxt.iter("em", "i")).strip()
        centred = "text-align:center" in nxt.get("style", "").replace(" ", "") or nxt.get("align") == "center"
        if text and len(text) <= 300 and (emphasised == text or (centred and _PHOTO_CREDIT.search(text))):
            doomed.append(nxt)
    return _drop(doomed)


def _is_layout(table: HtmlElement) -> bool:
    if any(node.tag in _LAYOUT_BLOCKS for node in table.iterdescendants()):
        return True
    return any(len(cell.text_content()) > 300 for cell in table.iter("td", "th"))


def _is_image_frame(table: HtmlElement) -> bool:
    return (len(table.xpath(".//tr")) <= 3 and table.find(".//img") is not None
            and len(table.text_content().strip()) <= 300)


def unwrap_layout_tables(tree: HtmlElement) -> int:
    """Image frames (picture + caption) go; layout tables become nested `<div>`s."""
    tables = list(tree.iter("table"))
    frames = [t for t in tables if _is_image_frame(t)]
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


def clean_page(tree: HtmlElement) -> None:
    """Every clean-up, in an order where each sees what the previous left."""
    drop_hidden_and_captions(tree)
    drop_spam_links(tree)
    unwrap_layout_tables(tree)
    drop_image_captions(tree)
