"""The extraction engine: trafilatura for the body text, htmldate for a last-resort date.

The only module that imports trafilatura or htmldate, so swapping or upgrading the engine
touches this file alone.
"""

from __future__ import annotations

import threading
from copy import copy, deepcopy
from functools import lru_cache

import trafilatura
from htmldate import find_date
from lxml import etree
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HTMLParser, HtmlProcessingInstruction
from lxml.html import fromstring as _fromstring
from trafilatura.settings import Extractor
from trafilatura.utils import is_dubious_html, repair_faulty_html
from trafilatura.utils import load_html as _load_html

from search.article import to_iso

# trafilatura's parser options, with one change: every element is a plain HtmlElement,
# chosen in C. lxml.html's own parser asks a Python method for each element's class (to give
# forms and inputs theirs, which nothing here uses), about 700 calls a page. One parser per
# thread: an lxml parser must not be used by two threads at once.
_PARSERS = threading.local()


def _parser() -> HTMLParser:
    parser: HTMLParser | None = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = HTMLParser(  # type: ignore[call-arg]  # lxml-stubs lack lxml's `default_doctype`
            collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True, remove_pis=True
        )
        parser.set_element_class_lookup(
            etree.ElementDefaultClassLookup(
                element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
            )
        )
        _PARSERS.parser = parser
    return parser


def parse_html(text: str) -> HtmlElement | None:
    """Decoded page text -> lxml tree, the way trafilatura itself parses (None if unparsable)."""
    beginning = text[:50].lower()
    try:
        tree = _fromstring(repair_faulty_html(text, beginning), parser=_parser())
    except (ValueError, etree.LxmlError):
        tree = None
    # What trafilatura's loader would retry (as bytes) or refuse, it is given as it is.
    if tree is None or len(tree) < 1 or (is_dubious_html(beginning) and len(tree) < 2):
        tree = _load_html(text)
    return tree if isinstance(tree, HtmlElement) else None


_SHORT_BODY = 500


@lru_cache(maxsize=4)
def _engine_options(precise: bool) -> Extractor:
    # Built once per mode: trafilatura otherwise re-reads its configuration on every
    # call, about 0.1 ms a page.
    return Extractor(
        output_format="python",
        fast=precise,
        precision=precise,
        comments=False,
        tables=True,
        with_metadata=False,
    )


def _options_for(precise: bool, url: str | None) -> Extractor:
    options = copy(_engine_options(precise))
    options.url = options.source = url
    return options


def engine_text(tree: HtmlElement, url: str | None) -> str | None:
    """trafilatura's body text, precision first; a page where that finds almost nothing
    (a paywall notice, a reprint box) is read again in balanced mode, once.

    The first pass skips trafilatura's comparison with its fallback extractors (`fast`):
    on the public benchmark that scored the same (F1 0.971 vs 0.970) in three quarters of
    the time; the balanced second pass keeps them."""
    text = _engine_pass(tree, url, precise=True)
    if len(text) < _SHORT_BODY:
        retry = _engine_pass(tree, url, precise=False)
        if len(retry) > 2 * len(text):
            text = retry
    return text or None


def _engine_pass(tree: HtmlElement, url: str | None, *, precise: bool) -> str:
    doc = trafilatura.bare_extraction(tree, options=_options_for(precise, url))
    # With output_format="python" trafilatura returns its Document, never a dict.
    return str(getattr(doc, "text", None) or "")


def last_resort_date(tree: HtmlElement, zone: HtmlElement | None) -> str | None:
    """htmldate's best guess (original date, not the last modification), searching free
    text only inside the article zone: the header clock is never a candidate."""
    if zone is None:  # the page's free text is where the site clock lives: markup only
        found = find_date(tree, original_date=True, extensive_search=False, outputformat="%Y-%m-%d")
    else:
        found = find_date(deepcopy(zone), original_date=True, outputformat="%Y-%m-%d")
    return to_iso(found)
