"""The refund benchmark's worker: the production worker's pool (prefork, two processes,
as in docker-compose.yml), on a queue of the benchmark's own for what it takes and for
what it sends on, so that none of the benchmark's messages reach another worker on the
same Redis.

    python -m bench.refund_worker QUEUE
"""

import sys

from billing_console.celery import app


def main(queue):
    # The router reads it at each send, so the write-backs that refunds queue stay here.
    app.conf.task_default_queue = queue
    app.worker_main(["worker", "--concurrency=2", "--loglevel=INFO", f"--queues={queue}",
                     f"--hostname={queue}@%h", "--without-mingle", "--without-gossip"])


if __name__ == "__main__":
    main(sys.argv[1])
