"""uvicorn's HTTP/1.1 protocol (h11) with the limits it lacks.

uvicorn times out only idle kept-alive connections: a client that sends its request head one byte
at a time, or opens a connection and sends nothing, holds it forever (slowloris). This protocol adds,
per connection (:class:`portal.serving.limits.HttpLimits`):

- a head timeout: the whole request line and headers must arrive within ``header_timeout`` seconds
  of the connection's opening, or of the first byte of its next request after a kept-alive response.
  Past it the client gets 408 with a sentence (nothing, if it sent nothing) and the connection is closed;
- a body timeout: a request body may take ``body_timeout`` seconds plus one per ``body_min_rate`` bytes
  received (Apache's ``mod_reqtimeout``), not counting time when the application is not reading it;
- a connection limit: a request on a connection beyond ``max_connections`` (or while as many requests
  are in progress) is answered 503 with a sentence and the connection closed; a connection opened beyond
  the limit has only :data:`OVERFLOW_HEAD_TIMEOUT` seconds to send its head.

The request head's size is bounded by h11 (16 KiB), so that a head that never ends is refused too.
"""

from __future__ import annotations

import asyncio
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from portal.serving.limits import HttpLimits

__all__ = ["OVERFLOW_HEAD_TIMEOUT", "TimedH11Protocol", "protocol_class"]

log = logging.getLogger("portal.http")

OVERFLOW_HEAD_TIMEOUT = 2.0  # seconds a connection opened beyond the limit has to ask (then: 503)


def _plain(status: str, sentence: str, extra: str = "") -> bytes:
    body = sentence.encode()
    return (f"HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {len(body)}\r\n"
            f"x-content-type-options: nosniff\r\n{extra}connection: close\r\n\r\n").encode() + body


def busy_app(limit: int):
    """The answer to a request beyond the connection limit."""
    sentence = (f"The server is serving as many connections as it allows ({limit}); "
                "try again in a few seconds.\n").encode()

    async def app(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(sentence)).encode()),
            (b"retry-after", b"5"), (b"x-content-type-options", b"nosniff"), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": sentence})
    return app


class TimedH11Protocol(H11Protocol):
    """See the module docstring; :func:`protocol_class` gives it its limits."""

    limits: HttpLimits = HttpLimits()

    def __init__(self, *args, **kwargs) -> None:
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_deadline = 0.0
        self._head_bytes = 0
        super().__init__(*args, **kwargs)
        self._busy = busy_app(self.limits.max_connections)

    # uvicorn reads ``self.app`` once per request head: beyond the limit, that request gets the 503
    @property
    def app(self):
        limit = self.limits.max_connections
        if limit and (len(self.connections) > limit or len(self.tasks) >= limit):
            log.warning("a request from %s was refused: %d connections are open (the limit is %d)",
                        self.client[0] if self.client else "?", len(self.connections), limit)
            return self._busy
        return self._app

    @app.setter
    def app(self, value) -> None:
        self._app = value

    # -- the asyncio protocol ---------------------------------------------------------------------

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._head_bytes += len(data)
            if self._head_timer is None:  # the first bytes of a kept-alive connection's next request
                self._arm_head()
        elif self._body_timer is not None:
            self._body_deadline += len(data) / self.limits.body_min_rate
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start a pipelined request
        self._follow()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head()
        self._cancel_body()
        super().connection_lost(exc)

    # -- the timers -------------------------------------------------------------------------------

    def _follow(self) -> None:
        """Stop the head timer once a head is in; time a body while one is being received."""
        state = self.conn.their_state
        if state is not h11.IDLE:
            self._cancel_head()
            self._head_bytes = 0
        if state is h11.SEND_BODY:
            if self._body_timer is None:
                self._body_deadline = self.loop.time() + self.limits.body_timeout
                self._body_timer = self.loop.call_at(self._body_deadline, self._body_check)
        else:
            self._cancel_body()

    def _arm_head(self) -> None:
        seconds = self.limits.header_timeout
        limit = self.limits.max_connections
        if limit and len(self.connections) > limit:
            seconds = min(seconds, OVERFLOW_HEAD_TIMEOUT)
        self._head_timer = self.loop.call_later(seconds, self._head_timed_out, seconds)

    def _cancel_head(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _cancel_body(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _head_timed_out(self, seconds: float) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        who = self.client[0] if self.client else "?"
        if self._head_bytes:
            log.info("closed a connection from %s: its request head did not arrive within %g s", who, seconds)
            self.transport.write(_plain("408 Request Timeout", f"The request's headers did not arrive within "
                                        f"{seconds:g} s, so the connection is closed.\n"))
        self.transport.close()

    def _body_check(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.SEND_BODY:
            return
        now = self.loop.time()
        if self.flow.read_paused:  # the application is not reading the body: not the client's delay
            self._body_deadline = max(self._body_deadline, now + self.limits.body_timeout)
        if now < self._body_deadline:
            self._body_timer = self.loop.call_at(self._body_deadline, self._body_check)
            return
        log.info("closed a connection from %s: its request body arrived too slowly",
                 self.client[0] if self.client else "?")
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:
            self.transport.write(_plain("408 Request Timeout", "The request's body arrived too slowly "
                                        f"(less than {self.limits.body_min_rate:g} bytes per second after "
                                        f"{self.limits.body_timeout:g} s), so the connection is closed.\n"))
        if cycle is not None:  # the application's reads see a disconnect, its answer goes nowhere
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()


def protocol_class(limits: HttpLimits) -> type[TimedH11Protocol]:
    """The protocol class uvicorn should build connections with, for ``limits``."""
    return type("PortalHTTPProtocol", (TimedH11Protocol,), {"limits": limits})
