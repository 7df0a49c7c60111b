"""Alert evaluation at scale: R rules against A newly indexed articles in an index of N.

Indexes N background articles (bench/search_speed.py's synthetic corpus), creates R alert rules
(queries drawn from the same vocabulary: words, phrases, accent-less, OR, negation, site
filters; one or two recipients each), indexes A new articles, then times one
`run_alerts` (instant rules): the batched evaluation (`msearch`, 100 rules per request)
and the decisions with their rendered mails (ledger + queue + Jinja2 rendering); mails go
to a temporary outbox. Targets: evaluation <= 5 s for 1,000 x 1,000 in 100k.

Needs Elasticsearch (NEWSMON_ES_URL, or the local node `newsmon es start`).
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from config.settings import Settings
from pipelines.index import write_batch
from search.alerts.deliver import deliver
from search.alerts.evaluate import evaluate
from search.alerts.job import run_alerts
from search.alerts.render import mail_renderer
from search.alerts.store import AlertStore
from search.es import make_client
from search.schema import drop_all

PREFIX = "newsmon-bench-alerts"


def _search_bench():
    spec = importlib.util.spec_from_file_location("search_speed", Path(__file__).with_name("search_speed.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=100_000, help="background articles")
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--new", type=int, default=1000, help="articles indexed after the rules")
    args = parser.parse_args()
    corpus = _search_bench()
    rng = random.Random(5)
    queries = corpus.QUERIES + [q for q, *_ in corpus.FILTERED]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(index_prefix=PREFIX, data_dir=Path(tmp), smtp_host=None)
        es = make_client(Settings(es_timeout=120))
        try:
            batches = list(corpus.corpus(args.docs + args.new, seed=23))
            articles = [a for batch in batches for a in batch]
            for start in range(0, args.docs, 500):
                write_batch(es, PREFIX, articles[start : min(start + 500, args.docs)])
            store = AlertStore(Path(tmp))
            for number in range(args.rules):
                emails = [f"user{number}@cd.example.vn"] + (
                    [f"chief{number % 7}@cd.example.vn"] if number % 3 == 0 else []
                )
                sites = rng.sample(corpus.SITES, k=2) if number % 5 == 0 else []
                store.add(f"alert {number}", rng.choice(queries), emails, sites, mode="instant")
            time.sleep(1)
            new = articles[args.docs :]
            for start in range(0, len(new), 500):
                write_batch(es, PREFIX, new[start : start + 500])
            es.indices.refresh(index=f"{PREFIX}-articles")

            now = datetime.now(UTC)
            started = time.perf_counter()
            found = evaluate(es, PREFIX, store.rules(), now)
            evaluated = time.perf_counter() - started
            matches = sum(len(e.matches) for e in found.values())
            print(
                f"evaluation: {args.rules} rules against {len(new)} new articles in an index of "
                f"{args.docs + len(new)}: {evaluated:.2f} s, {matches} rule-story matches "
                f"(target <= 5 s)"
            )
            render = mail_renderer(es, settings)
            started = time.perf_counter()
            queued = sum(
                store.decide(rule, found[rule.name].matches, render, watermark=now.isoformat(), now=now)
                for rule in store.rules()
            )
            decided = time.perf_counter() - started
            stories = store.db.execute("SELECT count(*) FROM ledger").fetchone()[0]
            print(
                f"decisions: {queued} mails ({stories} story entries) rendered and queued with their "
                f"ledger rows in {decided:.2f} s = {queued / decided:.0f} mails/s, "
                f"{stories / decided:.0f} stories/s"
            )
            started = time.perf_counter()
            sent, _ = deliver(store, settings, now)
            print(f"delivery to the outbox: {sent} .eml files in {time.perf_counter() - started:.2f} s")
            again = run_alerts(es, store, settings, now=now)
            print(f"a second run at once: {again['sent']} mails (the ledger holds every story)")
            store.close()
        finally:
            drop_all(es, PREFIX)
            es.close()


if __name__ == "__main__":
    main()
