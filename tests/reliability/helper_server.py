"""A loopback HTTP server for the SSRF tests: it serves a VOTable, redirects, misbehaves, and counts.

Paths: ``/vot`` (a small VOTable), ``/redirect?to=URL`` (302), ``/chain?n=K`` (K redirects, then
``/vot``), ``/notfound`` (404), ``/text`` (not a VOTable), ``/big?mb=N`` (N MB), ``/drip`` (one
byte every 0.2 s, never done), ``/hold`` (a few bytes, then held open until :meth:`release`).
Every request is counted in ``hits`` (by path); ``holding`` is how many ``/hold`` answers are open.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

VOTABLE = (b'<?xml version="1.0"?>\n<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">'
           b'<RESOURCE><TABLE><FIELD name="id" datatype="int"/><FIELD name="ra" datatype="double" unit="deg"/>'
           b"<DATA><TABLEDATA><TR><TD>1</TD><TD>83.6</TD></TR><TR><TD>2</TD><TD>10.5</TD></TR></TABLEDATA></DATA>"
           b"</TABLE></RESOURCE></VOTABLE>\n")


class Helper:
    def __init__(self, host: str = "127.0.0.1"):
        self.hits: dict[str, int] = {}
        self.holding = 0
        self._lock = threading.Lock()
        self._release = threading.Event()
        helper = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                with helper._lock:
                    helper.hits[url.path] = helper.hits.get(url.path, 0) + 1
                try:
                    getattr(helper, "_" + url.path.strip("/"), helper._notfound)(self, query)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def total_hits(self) -> int:
        with self._lock:
            return sum(self.hits.values())

    def release(self) -> None:
        self._release.set()

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def _send(handler, status: int, body: bytes, content_type: str = "application/x-votable+xml", **headers):
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    def _vot(self, handler, query) -> None:
        self._send(handler, 200, VOTABLE)

    def _notfound(self, handler, query) -> None:
        self._send(handler, 404, b"not here\n", "text/plain")

    def _text(self, handler, query) -> None:
        self._send(handler, 200, b"<html>hello</html>\n", "text/html")

    def _redirect(self, handler, query) -> None:
        self._send(handler, 302, b"", "text/plain", Location=query["to"])

    def _chain(self, handler, query) -> None:
        n = int(query.get("n", "0"))
        self._send(handler, 302, b"", "text/plain", Location=f"/chain?n={n - 1}" if n > 1 else "/vot")

    def _big(self, handler, query) -> None:
        size = int(float(query.get("mb", "1")) * 1_000_000)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/x-votable+xml")
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        block = b" " * 65536
        sent = 0
        while sent < size:
            piece = block[:min(len(block), size - sent)]
            handler.wfile.write(piece)
            sent += len(piece)

    def _drip(self, handler, query) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/x-votable+xml")
        handler.send_header("Content-Length", "1000000")
        handler.end_headers()
        for _ in range(300):  # a minute at most; it ends sooner when the client hangs up
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.2)

    def _hold(self, handler, query) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/x-votable+xml")
        handler.send_header("Content-Length", "1000000")
        handler.end_headers()
        handler.wfile.write(b"<?xml")
        handler.wfile.flush()
        with self._lock:
            self.holding += 1
        try:
            self._release.wait(300)
        finally:
            with self._lock:
                self.holding -= 1
