"""Serving a SimApp on a real socket: threaded, quiet, stoppable from another thread.

`sim serve` and the test harness both use this, so the socket behaviour tests see is the one
users get. werkzeug's server logs every request to stderr by default; the simulator has its own
request log (without credentials), so that chatter is switched off.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr (the app keeps its own, redacted)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None

    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error":
            super().log(type, message, *args)


def make_sim_server(app: Any, host: str = "127.0.0.1", port: int = 0) -> BaseWSGIServer:
    """A threaded WSGI server bound to host:port (port 0 = any free port)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    return make_server(host, port, app, threaded=True, request_handler=_QuietHandler)


def server_url(server: BaseWSGIServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}"


@contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `app` in a background thread for the duration of the block; yields the base URL."""
    server = make_sim_server(app, host, port)
    thread = threading.Thread(target=server.serve_forever, name="scimrecon-sim", daemon=True)
    thread.start()
    try:
        yield server_url(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
