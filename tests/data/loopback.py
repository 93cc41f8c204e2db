"""A static file server on loopback that behaves like a real one (Range requests) and can misbehave.

It serves a folder (``$GAMMAPY_DATA`` in the tests) the way raw.githubusercontent.com serves
gammapy-data, and injects faults on request: a transfer cut halfway (the connection closes before
the announced Content-Length), a corrupted body (one byte flipped), or a server that ignores Range.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse


@dataclass
class Faults:
    interrupt_once: set[str] = field(default_factory=set)  # paths cut halfway on their first GET
    corrupt_once: set[str] = field(default_factory=set)  # paths served corrupted once
    corrupt_always: set[str] = field(default_factory=set)
    ignore_range: bool = False
    requests: list[tuple[str, str | None, int]] = field(default_factory=list)  # (path, Range, status)


class _Handler(BaseHTTPRequestHandler):
    root: Path
    faults: Faults
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        rel = unquote(urlparse(self.path).path).lstrip("/")
        path = (self.root / rel).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            self._status(404)
            return
        data = path.read_bytes()
        start, status = 0, 200
        range_header = self.headers.get("Range")
        if range_header and not self.faults.ignore_range:
            start = int(range_header.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self._status(416, rel, range_header)
                return
            status = 206
        body = data[start:]
        if rel in self.faults.corrupt_always or rel in self.faults.corrupt_once:
            self.faults.corrupt_once.discard(rel)
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        cut = rel in self.faults.interrupt_once
        self.faults.interrupt_once.discard(rel)
        self.faults.requests.append((rel, range_header, status))
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if cut:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def _status(self, code: int, rel: str = "", range_header: str | None = None) -> None:
        self.faults.requests.append((rel, range_header, code))
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()


class LoopbackFileServer:
    """``with LoopbackFileServer(root) as server: server.url``"""

    def __init__(self, root: Path, faults: Faults | None = None):
        self.faults = faults or Faults()
        handler = type("Handler", (_Handler,), {"root": Path(root).resolve(), "faults": self.faults})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "LoopbackFileServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
