"""Article extraction, used by the extract stage and `newsmon extract`: `page.py` drives one
page through `cleanup.py`, `pagemeta.py`, `siterules.py`, `dates.py`, `engine.py` (the only
trafilatura/htmldate importer) and `body.py`; `pool.py` runs it in worker processes."""

# Set by a crawl for its extraction fork server, which checks that its parent is still that
# crawl (lifeline.py); named here because the crawl cannot import lifeline (it acts on import).
PARENT_VARIABLE = "NEWSMON_EXTRACTION_PARENT"
