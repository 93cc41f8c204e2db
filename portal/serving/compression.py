"""gzip for the services' documents (VOTables, UWS and VOSI XML, DataLink, JSON, text).

Starlette's ``GZipMiddleware`` does the compressing (streamed responses chunk by chunk, big chunks in a
thread, 206 answers and already-encoded bodies left alone), with these differences:

- only documents that compress, of :data:`MINIMUM_SIZE` bytes or more, are compressed: XML (VOTable, UWS, VOSI, DataLink), JSON, YAML and
  text. FITS files, images and anything else go as they are: ``/data`` may send hundreds of MB of event
  lists, and compressing them on the fly would cost more than it saves;
- ``Accept-Encoding`` is read as HTTP says (``gzip;q=0`` refuses it);
- a compressed answer's ``ETag`` is made weak (its bytes differ from the plain one's) and it does not
  offer byte ranges (a range of the gzip stream is not what a client would ask for), as nginx does;
- ``PORTAL_GZIP_LEVEL`` sets the level (1 to 9; default :data:`LEVEL`); 0 turns compression off.

The answer is compressed after the application made it, so the TAP budget (which stops a query when
its time runs out or its client goes away) is unchanged; only the bytes on the wire shrink.
"""

from __future__ import annotations

import os

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.gzip import GZipMiddleware, GZipResponder

from portal.config import env_number

__all__ = ["Compression", "LEVEL", "accepts_gzip", "compressible", "install"]

LEVEL = 1  # as nginx's gzip_comp_level: 105 ObsCore rows 111 kB -> 22 kB in 0.5 ms; level 6: 19.6 kB in 1.1 ms
MINIMUM_SIZE = 1024  # bytes: smaller answers go plain
DOCUMENTS = frozenset({"application/xml", "application/json", "application/x-votable+xml", "application/yaml",
                       "application/x-yaml", "application/javascript", "votable/td", "votable/b2"})


def compressible(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media.startswith("text/") or media in DOCUMENTS or media.endswith(("+xml", "+json"))


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` value accepts gzip (by name, ``x-gzip`` or ``*``, with a q above 0)."""
    found: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name:
            found[name.lower()] = q
    for name in ("gzip", "x-gzip", "*"):
        if name in found:
            return found[name] > 0
    return False


class _Responder(GZipResponder):
    plain = False  # this answer is not a document: pass it through

    async def __call__(self, scope, receive, send) -> None:
        async def send_marked(message) -> None:
            if message["type"] == "http.response.start" and not self.plain and not self.content_encoding_set:
                headers = MutableHeaders(raw=message["headers"])
                if headers.get("content-encoding") == self.content_encoding:
                    etag = headers.get("etag")
                    if etag and not etag.startswith("W/"):
                        headers["etag"] = "W/" + etag
                    if "accept-ranges" in headers:
                        del headers["accept-ranges"]
            await send(message)

        await super().__call__(scope, receive, send_marked)

    async def send_with_compression(self, message) -> None:
        if message["type"] == "http.response.start":
            headers = Headers(raw=message.get("headers") or [])
            length = headers.get("content-length", "")
            self.plain = (not compressible(headers.get("content-type", ""))
                          or (length.isdigit() and int(length) < self.minimum_size))  # a small streamed file
        if self.plain:
            await self.send(message)
        else:
            await super().send_with_compression(message)


class Compression(GZipMiddleware):
    """See the module docstring."""

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not accepts_gzip(Headers(scope=scope).get("accept-encoding", "")):
            return await self.app(scope, receive, send)  # plain, and nothing held back
        responder = _Responder(self.app, self.minimum_size, compresslevel=self.compresslevel,
                               thread_minimum_size=self.thread_minimum_size,
                               exclude_content_types=self.exclude_content_types)
        await responder(scope, receive, send)


def install(app, environ=None) -> None:
    """Compress ``app``'s documents for clients that accept gzip (``PORTAL_GZIP_LEVEL``, 0: off)."""
    env = os.environ if environ is None else environ
    level = int(env_number(env, "PORTAL_GZIP_LEVEL", LEVEL))
    if not 0 <= level <= 9:
        raise ValueError(f"PORTAL_GZIP_LEVEL={level} must be 0 (off) to 9")
    if level:
        app.add_middleware(Compression, minimum_size=MINIMUM_SIZE, compresslevel=level)
