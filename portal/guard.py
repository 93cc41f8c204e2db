"""What every HTTP response and request of the portal gets, whatever route serves it.

- ``X-Content-Type-Options: nosniff`` on every response: results, files and error documents are
  taken for what their Content-Type says, never sniffed into HTML by a browser.
- A cap on request bodies (:data:`MAX_BODY_BYTES`): a ``Content-Length`` above it is answered 413
  before the body is read, and a body streamed past it (chunked) is cut at the cap with a 413.
  The TAP handlers read their bodies with tighter caps of their own (:mod:`portal.archive.forms`).
"""

from __future__ import annotations

from fastapi import FastAPI

__all__ = ["Guard", "MAX_BODY_BYTES", "install"]

MAX_BODY_BYTES = 64 * 1024 * 1024
NOSNIFF = (b"x-content-type-options", b"nosniff")


class BodyTooLarge(Exception):
    pass


class Guard:
    """Pure ASGI middleware (it must not buffer streamed responses)."""

    def __init__(self, app, max_body: int = MAX_BODY_BYTES):
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body:
            return await self._too_large(send)
        started = False
        received = 0

        async def guarded_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers") or [])
                if not any(k.lower() == NOSNIFF[0] for k, _ in headers):
                    headers.append(NOSNIFF)
                message = {**message, "headers": headers}
            await send(message)

        async def guarded_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge()
            return message

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except BodyTooLarge:
            if not started:
                await self._too_large(send)

    async def _too_large(self, send) -> None:
        body = (f"The request body is larger than this server accepts ({self.max_body:,} bytes).\n").encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode()), NOSNIFF, (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def install(app: FastAPI) -> None:
    app.add_middleware(Guard)
