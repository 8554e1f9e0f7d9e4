"""A sandbox served from this process's threads, for the benchmarks that need one."""

import threading
from contextlib import contextmanager


@contextmanager
def served(server):
    """Serve `server` (a sandbox's HTTP server) until the block ends; yields its URL."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
