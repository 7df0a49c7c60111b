"""Keyword alerts by e-mail: `rules.py` (what users asked for), `evaluate.py` (which new stories
match), `ledger.py` (each story once per person), `render.py` + `templates/` (the mail),
`deliver.py` (SMTP or outbox, retried), `store.py` (the one SQLite file), `job.py` (one run)."""
