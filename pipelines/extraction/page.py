"""One page's bytes -> an `Article`, or None when the page is no article.

The order of work: decode, parse, read the page's declared metadata once, apply the site's
rules, clean the tree, then title, dates, the article zone, the engine's body text, and
the body assembled from it (`body.py`).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from w3lib.encoding import html_to_unicode

from config.limits import MAX_ELEMENTS, MAX_PAGE_BYTES, MAX_PAGE_CPU_SECONDS
from pipelines.extraction.body import (
    assemble_body,
    byline,
    closing_lines,
    find_lead,
    find_tag_line,
    once,
    source_name,
    source_url,
    strip_byline_prefix,
    trailing_byline,
    within_zone,
)
from pipelines.extraction.cleanup import clean_page, drop_page_chrome, drop_teaser_lists
from pipelines.extraction.dates import article_zone, published_date, structured_modified
from pipelines.extraction.engine import engine_text, last_resort_date, parse_html
from pipelines.extraction.pagemeta import (
    PageMeta,
    canonical_href,
    declared_author,
    find_headline,
    page_language,
    page_tags,
    page_title,
    squash,
)
from pipelines.extraction.profile import strip_lines
from pipelines.extraction.siterules import ExtractRules, block_text, drop_selected, first_match, rules_of
from pipelines.extraction.xpath import Number
from pipelines.fingerprint import fingerprint
from search import textnorm
from search.article import Article, in_vietnam_time

MIN_BODY_CHARS = 200
_PHOTO_STORY_CAPTIONS = 2


class PageTooLarge(ValueError):
    """A page that unpacks to more than MAX_PAGE_BYTES."""


class PageTooComplex(ValueError):
    """A page with more elements than any article page has, or that takes too long to read."""


_COUNT_ELEMENTS = Number("count(//*)")


@contextmanager
def work_budget(seconds: float = MAX_PAGE_CPU_SECONDS) -> Iterator[None]:
    """Raise PageTooComplex when the block uses more than `seconds` of this process's CPU
    (a timer signal; only where signals can be set: the main thread of a process, as in an
    extraction worker or the `newsmon extract` command)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(*_: object) -> None:
        raise PageTooComplex(f"reading the page took more than {seconds:.0f} s of CPU")

    previous = signal.signal(signal.SIGVTALRM, expired)
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Bytes -> NFC text, by the HTTP/meta declared charset (windows-1258 included). A gzip
    body is unpacked to at most MAX_PAGE_BYTES: a compression bomb is refused, not expanded."""
    if body[:2] == b"\x1f\x8b":
        # Imported here: a crawl's pages arrive unpacked, and Scrapy's import is a second of
        # CPU in every extraction process that would never use it.
        from scrapy.utils.gz import gunzip

        try:
            body = gunzip(body, max_size=MAX_PAGE_BYTES)
        except ValueError:  # Scrapy's bound: the only ValueError gunzip raises
            raise PageTooLarge(f"the page unpacks to more than {MAX_PAGE_BYTES >> 20} MB") from None
    _, text = html_to_unicode(content_type, body)
    return textnorm.display(text)


def extract_page(
    body: bytes,
    url: str | None,
    content_type: str | None = None,
    hint_date: str | None = None,
    *,
    min_chars: int = MIN_BODY_CHARS,
    rules: ExtractRules | dict[str, Any] | None = None,
    parts: tuple[bytes, ...] = (),
) -> Article | None:
    """Extract one page; None when it has no article body (a listing, a contact page...).

    trafilatura finds the body; the metadata (title, dates, author, tags) newsmon reads
    itself from the same parsed tree, which is both more faithful for Vietnamese pages
    and cheaper than trafilatura's own metadata pass. `rules` are the site's overrides.
    `min_chars=0` accepts any body, with or without a headline (for benchmarks). `parts`:
    the pages after this one of an article split over pages, whose bodies are joined on."""
    tree = parse_html(decode_html(body, content_type))
    if tree is None:
        return None
    elements = int(_COUNT_ELEMENTS(tree))  # counted in libxml2, before any work in Python
    if elements > MAX_ELEMENTS:
        raise PageTooComplex(f"{elements:,} elements (at most {MAX_ELEMENTS:,} are read)")
    site_rules = rules_of(rules) or ExtractRules()
    page = PageMeta.read(tree)
    drop_selected(tree, site_rules.drop)
    # Site rules are looked up before clean-up, which re-tags layout tables.
    head, body_node, date_node, author_node = (
        first_match(tree, sel)
        for sel in (site_rules.title, site_rules.body, site_rules.date, site_rules.author)
    )
    drop_page_chrome(tree)
    captions = clean_page(tree)
    if head is not None:
        title: str | None = squash(head.text_content())
    else:
        found = find_headline(tree, page)
        title, head = found if found is not None else page_title(tree, page)
    if min_chars and not title:
        return None
    drop_teaser_lists(tree, url, keep=head)
    modified = structured_modified(tree, page)
    zone = article_zone(tree, title, head)
    lead = find_lead(zone) if zone is not None else None
    tag_line = find_tag_line(zone) if zone is not None else None
    signature = trailing_byline(zone) if zone is not None else None
    if body_node is not None:
        body_text = block_text(body_node)
    else:
        body_text = engine_text(tree, url) or ""
        if zone is not None:
            body_text = within_zone(body_text, zone)
    text = assemble_body(body_text, title, lead, tag_line, signature)
    floor = min_chars
    if len(text) < min_chars and len(captions) >= _PHOTO_STORY_CAPTIONS:
        # A photo story: a lead and captioned pictures; the captions, in order, are its text
        # (short by nature: its pictures are the story).
        shown = set(captions)  # a caption the engine kept goes in its place among the captions
        lead_lines = [line for line in text.split("\n") if line not in shown]
        text = assemble_body("\n".join([*lead_lines, *captions]), title, None, tag_line)
        floor = min_chars // 2
    if not text or len(text) < floor:
        return None
    published = published_date(
        tree,
        page,
        zone,
        rule_node=date_node,
        hint=hint_date,
        last_resort=lambda: last_resort_date(tree, zone),
        url=url,
    )
    continued_author = None
    if parts:
        text, continued_author = _joined(text, parts, url, content_type, rules)
    # A copy's source line and a closing name-only line are fields, not body text.
    trailer = closing_lines(text)
    whole_text, text = text, trailer.text if len(trailer.text) >= min_chars else text
    author = strip_byline_prefix(author_node.text_content()) if author_node is not None else None
    language = page_language(tree, page) or "vi"
    if language == "vi":  # a Vietnamese page's dates are shown in Vietnam time, whatever the source's offset
        published, modified = in_vietnam_time(published), in_vietnam_time(modified)
    return Article(
        url=url,
        canonical_url=canonical_href(tree, page, url),
        title=title,
        author=author
        or declared_author(page)
        or signature
        or (byline(zone) if zone is not None else None)
        or trailer.author
        or continued_author,
        published=published,
        modified=modified,
        text=text,
        source_url=trailer.source_url or source_url(whole_text),
        source_name=trailer.source_name or source_name(whole_text),
        tags=(tag_line.tags if tag_line else None) or page_tags(page),
        language=language,
    )


def _joined(
    text: str,
    parts: tuple[bytes, ...],
    url: str | None,
    content_type: str | None,
    rules: ExtractRules | dict[str, Any] | None,
) -> tuple[str, str | None]:
    """The first page's body with the bodies of the pages after it, lines a page repeats
    (the lead, the headline) left out; and the byline the last page closes with."""
    lines, author = text.split("\n"), None
    seen = set(lines)
    for part in parts:
        continued = extract_page(part, url, content_type, min_chars=0, rules=rules)
        if continued is None:
            continue
        lines += [line for line in continued.text.split("\n") if line and line not in seen]
        seen.update(lines)
        author = continued.author or author
    return "\n".join(once(lines)), author


def for_index(article: Article, boilerplate: frozenset[str] = frozenset()) -> Article:
    """The article without the site's `boilerplate` lines, with what later stages derive
    from its text alone (matching forms of title and text, dedup fingerprints), computed in
    the worker process rather than on the crawl's reactor thread."""
    title, text = (article.title or "").strip(), (article.text or "").strip()
    folded = textnorm.fold(text)
    stripped, stripped_folded = strip_lines(text, folded, boilerplate)
    if len(stripped) >= MIN_BODY_CHARS:  # never strip a page down to nothing
        text, folded = stripped, stripped_folded
    article.text = text
    article.title_norm, article.title_fold = textnorm.normalize(title), textnorm.fold(title)
    article.text_norm, article.text_fold = textnorm.normalize(text), folded
    fingerprint(article)  # the dedup stage's signatures, computed here off the reactor
    return article
