"""Article extraction, used by the extract stage and `newsmon extract`: `page.py` drives one
page through `cleanup.py`, `pagemeta.py`, `siterules.py`, `dates.py`, `engine.py` (the only
trafilatura/htmldate importer) and `body.py`; `pool.py` runs it in worker processes."""
