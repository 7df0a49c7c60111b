"""Every bound newsmon puts on what it reads, keeps and answers, in one place.

Crawled pages and typed queries are hostile input: each size, count and depth below keeps
one bad page, site or query from costing unbounded time, memory or an Elasticsearch
refusal. The module that enforces a bound imports it from here; why each value is what it
is sits beside it. (Thresholds that recognise page structure, such as how long a teaser
item may be, are extraction heuristics and stay with the code that uses them.)
"""

from __future__ import annotations

# --- fetching -------------------------------------------------------------------------
# A page's bytes, as fetched and as unpacked (a gzip bomb is refused, not expanded).
MAX_PAGE_BYTES = 10 * 1024 * 1024
# Links followed from a site's entry points; a spider trap (endless calendar, session ids)
# stops at the page budget.
MAX_CRAWL_DEPTH = 6
MAX_PAGES_PER_CRAWL = 3000
# Pages of one listing a crawl walks; a backfill walks further back, to its date.
MAX_LISTING_PAGES = 20
MAX_BACKFILL_LISTING_PAGES = 5000
# Pages after the first that one article split over pages may have.
MAX_ARTICLE_PAGES = 10
# A JavaScript cookie challenge is a small page; a real article that merely sets a cookie
# is large.
MAX_CHALLENGE_BYTES = 16 * 1024

# --- extraction -----------------------------------------------------------------------
# Real article pages hold a few thousand elements (the public benchmark's largest, 1,596);
# a page of 200,000 empty ones cost 10.7 s of CPU, and one of 850,000 83 s and 720 MB.
MAX_ELEMENTS = 30_000
MAX_PAGE_CPU_SECONDS = 20.0

# --- indexing -------------------------------------------------------------------------
# Every crawled field before indexing, so Elasticsearch never refuses an article for a
# field's size (a keyword over 32,766 bytes is refused; a body this long is no article's).
MAX_FIELD_CHARS = {"title": 1_000, "author": 500, "source_name": 300, "text": 500_000}
MAX_TAGS, MAX_TAG_CHARS, MAX_URL_CHARS = 50, 200, 2_000

# --- queries and answers --------------------------------------------------------------
# The query parser recurses once per parenthesis, and every term becomes several clauses
# in Elasticsearch, which refuses a query past its clause limit.
MAX_QUERY_DEPTH = 20
MAX_QUERY_TERMS = 200
MAX_QUERY_CHARS = 4000
# Elasticsearch's result window (`index.max_result_window`): pages beyond it are refused.
MAX_RESULTS = 10_000
# Copies listed on a story page; a story carried by more sites is rare.
MAX_COPIES = 200

# --- people ---------------------------------------------------------------------------
MAX_RECIPIENTS = 100  # of one alert
MAX_SESSIONS = 1000  # signed-in browsers kept at once (the oldest goes first)
