"""Compiled XPath expressions typed by what they select.

lxml types an XPath's answer as the union of everything any expression could give (elements,
strings, numbers, booleans, namespace tuples); each expression here gives one of them, and
says which, so the code reading its answer is checked against that type.
"""

from __future__ import annotations

from typing import Any, cast

from lxml import etree
from lxml.html import HtmlElement


class _Compiled:
    """An expression compiled once (a syntax error raises etree.XPathSyntaxError here)."""

    def __init__(self, path: str, *, smart_strings: bool = True) -> None:
        """Compile `path`."""
        self.path = etree.XPath(path, smart_strings=smart_strings)


class Elements(_Compiled):
    """An expression selecting elements."""

    def __call__(self, node: etree._Element, **variables: Any) -> list[HtmlElement]:
        """The selected elements, in document order (an HTML tree's are HtmlElements)."""
        return cast(list[HtmlElement], self.path(node, **variables))


class Owners(_Compiled):
    """An expression selecting elements or attributes."""

    def __call__(self, node: etree._Element, **variables: Any) -> list[HtmlElement]:
        """Each element selected or whose attribute was, once, in the order of its first hit."""
        # An attribute value knows its element.
        hits: list[Any] = list(self.path(node, **variables))  # type: ignore[arg-type]
        found: dict[HtmlElement, None] = {}
        for hit in hits:
            owner = hit if isinstance(hit, etree._Element) else hit.getparent()
            if owner is not None:
                found[owner] = None
        return list(found)


class Strings(_Compiled):
    """An expression selecting text nodes or attribute values, as plain strings (lxml's
    default "smart" strings each hold their element, which costs an object per hit and
    keeps the tree alive in any cache they reach)."""

    def __init__(self, path: str) -> None:
        """Compile `path`."""
        super().__init__(path, smart_strings=False)

    def __call__(self, node: etree._Element, **variables: Any) -> list[str]:
        """The selected strings."""
        return cast(list[str], self.path(node, **variables))


class Number(_Compiled):
    """An expression giving a number (`count(...)`)."""

    def __call__(self, node: etree._Element, **variables: Any) -> float:
        """The number."""
        return cast(float, self.path(node, **variables))


def elements(node: etree._Element, path: str) -> list[HtmlElement]:
    """The elements a one-off `path` selects from `node`."""
    return cast(list[HtmlElement], node.xpath(path))


def string(node: etree._Element, path: str) -> str:
    """The string value of a one-off `path` (`string(...)`) from `node`."""
    return str(node.xpath(path))
