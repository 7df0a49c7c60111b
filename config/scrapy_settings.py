"""Scrapy settings for newsmon's crawls (politeness first; see README)."""

from config.limits import MAX_CRAWL_DEPTH, MAX_PAGE_BYTES, MAX_PAGES_PER_CRAWL

BOT_NAME = "newsmon"
SPIDER_MODULES = ["crawler.spiders"]
USER_AGENT = "newsmon/0.1 (+news monitoring for Vietnamese trade-union staff; polite crawler)"

ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
# Outputs of one response processed in parallel. Scrapy starts this many asyncio tasks per
# response; a page yields one item (or a few dozen links), so the default 100 only costs
# CPU on the reactor thread (measured: 100 tasks and 100 queue operations per page).
CONCURRENT_ITEMS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# A development-time lint of callbacks' source. Its cache is keyed by weak references to
# bound methods, which die with each request, so it parsed a callback's source again for
# almost every response (0.12 ms a page, bench/crawl.py).
WARN_ON_GENERATOR_RETURN_VALUE = False
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = MAX_PAGE_BYTES
RETRY_ENABLED = True
RETRY_TIMES = 2
DEPTH_LIMIT = MAX_CRAWL_DEPTH
CLOSESPIDER_PAGECOUNT = MAX_PAGES_PER_CRAWL
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "WARNING"

# Conditional GET for discovery pages (feeds, sitemaps, listings, home): the spider asks
# for revalidation (max-age=0) and RFC 2616 rules turn a 304 into the stored copy.
# Article pages are never cached (`dont_cache`); the seen store decides about them.
# HTTPCACHE_DIR and NEWSMON_SEEN_DB are set per run under $NEWSMON_DATA_DIR/crawl/.
HTTPCACHE_ENABLED = True
HTTPCACHE_POLICY = "scrapy.extensions.httpcache.RFC2616Policy"
HTTPCACHE_STORAGE = "scrapy.extensions.httpcache.FilesystemCacheStorage"

# A progress line per site when stderr is a terminal.
EXTENSIONS = {
    "crawler.progress.CrawlProgress": 500,
}

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.private.PrivateAddressGuard": 50,
    # Near the engine: it sees the final answer (after retries, redirects and the cache).
    "crawler.middlewares.challenge.CookieChallenge": 60,
}

# fetch (the spider) -> extract -> normalize -> dedup + index. Dedup decides per index batch
# (pipelines/dedup.py, called by the index stage): it needs the batch's round trips to
# Elasticsearch, and deciding and writing under one lock is what keeps two copies of a story
# in concurrent batches from both being taken for its first.
ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.normalize.NormalizePipeline": 200,
    "pipelines.index.IndexPipeline": 400,
}
