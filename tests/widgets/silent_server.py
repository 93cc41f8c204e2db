"""A loopback server that accepts connections, reads the request and does not answer (until released):
what a firewall or a proxy of an offline machine does to Sesame. Also used by ``make bench``."""

from __future__ import annotations

import socket
import threading
from typing import Self


class SilentServer:
    """``with SilentServer(hold=60) as server``: ``server.url`` takes requests and holds each one
    unanswered for ``hold`` seconds (or until ``release()``), then closes the connection.

    ``received`` counts the requests read; ``held`` those being held now.
    """

    def __init__(self, hold: float = 60.0) -> None:
        self.hold = hold
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/cgi-bin/nph-sesame"
        self.released = threading.Event()
        self.received = 0
        self.held = 0
        self.changed = threading.Condition()
        self._thread = threading.Thread(target=self._accept, name="silent-server", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() under way (Linux)
        except OSError:
            pass
        self.sock.close()
        self._thread.join(5)

    def release(self) -> None:
        """Close every held connection now (and the next ones at once)."""
        self.released.set()

    def wait_for(self, received: int, timeout: float = 30.0) -> bool:
        """Wait until ``received`` requests have been read."""
        with self.changed:
            return self.changed.wait_for(lambda: self.received >= received, timeout)

    def _accept(self) -> None:
        while not self.released.is_set():
            try:
                conn, _addr = self.sock.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    data += chunk
            except OSError:
                return
            with self.changed:
                self.received += 1
                self.held += 1
                self.changed.notify_all()
            self.released.wait(self.hold)
            with self.changed:
                self.held -= 1
                self.changed.notify_all()
