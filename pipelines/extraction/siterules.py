"""Per-site extraction overrides (`extract:` in sites.yaml), for templates the generic path
gets wrong. Each rule is a CSS selector or, when it starts with `/` or `(`, an XPath.

```yaml
  - name: ldld-tinh
    url: https://ldld.example.vn/
    extract:
      title: td.title_news        # the headline element
      body: td.content_news       # the element holding the article text
      date: td.date_news          # an element whose text or datetime/content gives the date
      author: p.tac-gia
      drop: [div.quang-cao, '//table[@id="poll"]']   # removed before anything is read
```
"""

from __future__ import annotations

from typing import Any

from cssselect import GenericTranslator, SelectorError
from lxml import etree
from lxml.html import HtmlElement
from pydantic import BaseModel, ConfigDict, field_validator

from pipelines.extraction.xpath import Elements

_translator = GenericTranslator()


def compile_selector(selector: str) -> Elements:
    """CSS or XPath -> a compiled XPath; ValueError with the reason when it is neither."""
    text = selector.strip()
    try:
        if text.startswith(("/", "(")):
            return Elements(text)
        return Elements(_translator.css_to_xpath(text))
    except (etree.XPathSyntaxError, SelectorError) as exc:
        raise ValueError(f"không phải CSS selector hay XPath hợp lệ: {selector!r} ({exc})") from None


class ExtractRules(BaseModel):
    """The `extract:` block of one site."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str | None = None
    body: str | None = None
    date: str | None = None
    author: str | None = None
    drop: list[str] = []

    @field_validator("title", "body", "date", "author")
    @classmethod
    def _one(cls, value: str | None) -> str | None:
        if value is not None:
            compile_selector(value)
        return value

    @field_validator("drop")
    @classmethod
    def _many(cls, values: list[str]) -> list[str]:
        for value in values:
            compile_selector(value)
        return values


def first_match(tree: HtmlElement, selector: str | None) -> HtmlElement | None:
    """The first element `selector` selects, or None."""
    if not selector:
        return None
    # A site's XPath may select text or attributes: only elements count.
    found = [n for n in compile_selector(selector)(tree) if isinstance(n, HtmlElement)]
    return found[0] if found else None


def drop_selected(tree: HtmlElement, selectors: list[str]) -> None:
    """Remove every element a site's `drop` rules select."""
    for selector in selectors:
        for node in compile_selector(selector)(tree):
            if isinstance(node, HtmlElement) and node.getparent() is not None:
                node.drop_tree()


_BLOCKS = {"p", "div", "li", "h2", "h3", "h4", "h5", "h6", "blockquote", "td", "tr", "section", "article"}


def block_text(root: HtmlElement) -> str:
    """The text of `root`, one line per innermost block (paragraph, list item, cell)."""
    lines: list[str] = []

    def walk(node: HtmlElement) -> None:
        if any(isinstance(c.tag, str) and c.tag in _BLOCKS for c in node.iterdescendants()):
            if node.text and node.text.strip():
                lines.append(node.text)
            for child in node:
                if isinstance(child.tag, str) and child.tag not in ("script", "style"):
                    walk(child)
                if child.tail and child.tail.strip():
                    lines.append(child.tail)
        else:
            lines.append(node.text_content())

    walk(root)
    return "\n".join(" ".join(line.split()) for line in lines if line.strip())


def rules_of(raw: dict[str, Any] | ExtractRules | None) -> ExtractRules | None:
    """The site's rules as `ExtractRules` (from the registry model or a plain mapping)."""
    if raw is None or isinstance(raw, ExtractRules):
        return raw
    return ExtractRules.model_validate(raw)
