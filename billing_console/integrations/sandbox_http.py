"""What the Stripe and Zendesk sandboxes' HTTP servers share."""

import logging
import sys
from http.server import ThreadingHTTPServer

logger = logging.getLogger(__name__)


class SandboxHTTPServer(ThreadingHTTPServer):
    """A sandbox's server, a thread per request. A client that goes away mid-request (a
    worker stopped, a test's timeout, Ctrl-C) is a debug line, where socketserver would
    print a traceback on stderr; any other error keeps its traceback."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):  # reset, broken pipe, aborted
            logger.debug("A client at %s went away: %s", client_address, error)
            return
        super().handle_error(request, client_address)
