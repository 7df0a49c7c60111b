"""What a page declares about itself (JSON-LD objects and `<meta>` tags), read once per page."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lxml.html import HtmlElement


@dataclass(frozen=True)
class PageMeta:
    """JSON-LD objects (with `@graph` members unpacked) and meta tags by lower-case key."""

    jsonld: list[dict[str, Any]]
    meta: dict[str, str]

    @classmethod
    def read(cls, tree: HtmlElement) -> PageMeta:
        objects: list[dict[str, Any]] = []
        for script in tree.xpath('//script[@type="application/ld+json"]'):
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
        for node in tree.xpath("//meta[@content]"):
            key = (node.get("property") or node.get("name") or node.get("itemprop") or "").lower()
            content = node.get("content", "").strip()
            if key and content:
                meta.setdefault(key, content)
        return cls(objects, meta)

    def first(self, names: tuple[str, ...]) -> str | None:
        """Content of the first of `names` (in the given order) the page has."""
        return next((self.meta[n] for n in names if n in self.meta), None)
