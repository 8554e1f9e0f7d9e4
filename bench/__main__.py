"""`make bench`: every benchmark under bench/, on a throwaway database.

Each prints its figures and the ratio to a baseline measured in the same run. Set
BENCH_ROWS to change the size of the generated data (default 1,000,000 audit events),
and BENCH_REFUNDS the number of refunds a real worker drains (default 1,000). The demo's
readiness (`make run`: start to banner, banner to consistent data) runs first, then, on
that demo, issue 20's three expert jobs in Chromium (`bench/expert_jobs.py`: a duplicate
charge, a cancellation with a refund of the unused period, a credit memo for an overbilled
seat; interactions, page loads, characters typed and seconds of each, beside its goal, and
the duplicate job done the plain way as their baseline). BENCH_SKIP_DEMO=1 skips both,
BENCH_SKIP_EXPERT_JOBS=1 the jobs alone; `python -m bench.expert_jobs` runs the jobs alone.
"""

import logging
import os
import sys

import django


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_console.settings")
    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    from bench import (
        audit_export,
        audit_trail,
        demo_ready,
        expert_jobs,
        ingest,
        queue,
        reconcile,
        refunds,
    )

    # Before the database below: the demo runs in processes and a folder of its own.
    if os.environ.get("BENCH_SKIP_DEMO"):
        print("demo readiness and expert jobs: skipped (BENCH_SKIP_DEMO is set)")
    else:
        demo_ready.run(then=expert_jobs.run)
    setup_test_environment()
    # Each page the benchmarks time signs a user in; their log lines would bury the figures.
    logging.getLogger("axes").setLevel(logging.WARNING)
    # A database of its own: created empty, migrated, and dropped afterwards, so the
    # benchmarks never touch real data, nor the test suite's database.
    if connection.vendor != "sqlite":  # SQLite's is in memory already
        connection.settings_dict["TEST"]["NAME"] = "bench_billing_console"
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        audit_trail.run(rows=int(os.environ.get("BENCH_ROWS", "1000000")))
        audit_export.run(rows=int(os.environ.get("BENCH_ROWS", "1000000")))  # audit_trail's events
        # 100,000 tickets, fewer when BENCH_ROWS asks for a quick run; it leaves no cases.
        ingest.run(tickets=min(int(os.environ.get("BENCH_ROWS", "1000000")), ingest.TICKETS))
        queue.run()
        refunds.run(refunds=int(os.environ.get("BENCH_REFUNDS", "1000")))
        reconcile.run(refunds=int(os.environ.get("BENCH_RECONCILE_REFUNDS", "10000")))
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
