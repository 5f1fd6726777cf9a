"""An office's own website for the widget's e2e tests: a page on another port (so another
origin than the helpdesk) that embeds ``/static/widget.js`` as an office would."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from app.embedded_redis import free_port
from tests.conftest import LiveServer

CHAT = "chat-port-argent"


@contextlib.contextmanager
def host_site(
    live: LiveServer,
    account: str = CHAT,
    *,
    title: str = "Port-Argent — Visiter",
    lang: str = "fr",
    heading: str = "Bienvenue à Port-Argent",
) -> Iterator[str]:
    """Serves the page while the block runs; yields its address (``http://127.0.0.1:PORT``)."""
    page = (
        f"<!doctype html><html lang='{escape(lang)}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title></head><body style='font-family: sans-serif'>"
        f"<h1>{escape(heading)}</h1><p>Le phare, le port, les plages.</p>"
        f"<script src='{live.url}/static/widget.js' data-account='{escape(account)}' async>"
        "</script></body></html>"
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's name
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
