"""Stage 2: an extracted `Article` -> display text in NFC, its canonical URL, id and domain.

The URL rules themselves (`canonical_url`, `same_site`) live in `search.article`: the
spider uses them too, so one article reached by several addresses is fetched and stored once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from config.limits import MAX_FIELD_CHARS, MAX_TAG_CHARS, MAX_TAGS, MAX_URL_CHARS
from search import textnorm
from search.article import Article, canonical_url, doc_id, same_site

if TYPE_CHECKING:  # `newsmon extract` normalizes without loading Scrapy (a sixth of a second)
    from scrapy.crawler import Crawler


def normalize_article(article: Article, site_domain: str) -> Article:
    """NFC every text field, bound every field's size, settle the canonical URL
    (rel=canonical only on the same site)."""
    for key in ("title", "text", "author", "source_name"):
        value = getattr(article, key)
        if value:
            setattr(article, key, textnorm.display(value).strip()[: MAX_FIELD_CHARS[key]])
    for key in ("title_norm", "title_fold", "text_norm", "text_fold"):  # same length as the text they mirror
        value = getattr(article, key)
        if value:
            setattr(article, key, value[: MAX_FIELD_CHARS[key.split("_")[0]]])
    article.tags = [textnorm.display(t)[:MAX_TAG_CHARS] for t in (article.tags or [])[:MAX_TAGS]]
    for key in ("url", "canonical_url", "source_url"):
        value = getattr(article, key)
        if value and len(value) > MAX_URL_CHARS:
            setattr(article, key, None if key != "url" else value[:MAX_URL_CHARS])
    declared = article.canonical_url
    base = declared if declared and same_site(declared, site_domain) else article.url
    if base is None:
        raise ValueError("an article needs its URL to be normalized")
    article.canonical_url = canonical_url(base)
    if article.source_url:  # the origin a copy names, in the form its own canonical URL takes
        article.source_url = canonical_url(article.source_url)
    article.id = doc_id(article.canonical_url)
    article.domain = site_domain
    return article


class NormalizePipeline:
    """Scrapy stage wrapping `normalize_article` with the crawled site's domain."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalizePipeline:
        """Scrapy's constructor hook."""
        return cls(crawler)

    def process_item(self, item: Article) -> Article:
        """Normalize one article in place."""
        spider = self.crawler.spider
        assert spider is not None
        return normalize_article(item, spider.site.domain)  # type: ignore[attr-defined]
