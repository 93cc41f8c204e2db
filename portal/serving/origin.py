"""The public origin of the absolute URLs the services write: never a request's own Host header.

The services write absolute URLs: the ``Location`` of UWS and TAP async redirects (303), the
``accessURL`` of the VOSI capabilities and of DataLink, the ``access_url`` of ObsCore rows, the job
lists. Starlette builds them from the request's ``Host`` header, so a client could have them point
anywhere (``Host: evil.example``). This middleware sets the host they are built from, for every route:

- ``PORTAL_BASE_URL`` (``https://portal.example.org/gamma``): every URL starts with it, whatever the
  request says. A path in it is the prefix a reverse proxy serves the portal under (with the prefix
  stripped by the proxy or not);
- else ``PORTAL_TRUSTED_HOSTS`` (comma-separated names, ``*.example.org`` for subdomains): a request
  whose Host is one of them, or the address the server is bound to, keeps it (so one server reached under
  several names links each caller to the name it used); any other Host is refused with 400, as
  Starlette's ``TrustedHostMiddleware`` and Django's ``ALLOWED_HOSTS`` do;
- with neither, the address the connection arrived at (the bound host and port) stands for the Host.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

__all__ = ["PublicOrigin", "install"]

# a host name or IPv4 address, or an IPv6 address in brackets, and an optional port: nothing else
HOST = re.compile(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?")


def _netloc(server, scheme: str) -> str | None:
    """``host:port`` of an ASGI ``server`` pair (IPv6 in brackets; the scheme's default port left out)."""
    if not server:
        return None
    host, port = server[0], server[1] if len(server) > 1 else None
    if ":" in host:
        host = f"[{host}]"
    if port is None or (scheme, port) in (("http", 80), ("https", 443), ("ws", 80), ("wss", 443)):
        return host
    return f"{host}:{port}"


def _hostname(host: str) -> str:
    """The name part of a Host header value (lower case; IPv6 without brackets)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _with_host(scope, host: str | None, scheme: str | None = None):
    headers = [(k, v) for k, v in scope.get("headers") or () if k != b"host"]
    if host is not None:
        headers.append((b"host", host.encode("latin-1")))
    scope = {**scope, "headers": headers}
    if scheme is not None:
        scope["scheme"] = scheme if scope["type"] == "http" else {"http": "ws", "https": "wss"}[scheme]
    return scope


class PublicOrigin:
    """Pure ASGI middleware; see the module docstring."""

    def __init__(self, app, base_url: str | None = None, trusted_hosts: tuple[str, ...] = ()) -> None:
        self.app = app
        self.base = None
        if base_url:
            parts = urlsplit(base_url.strip())
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
                raise ValueError(f"PORTAL_BASE_URL={base_url!r} is not an http(s) URL such as "
                                 "https://portal.example.org or https://example.org/gamma")
            self.base = (parts.scheme, parts.netloc, parts.path.rstrip("/"))
        self.trusted = tuple(h.strip().lower() for h in trusted_hosts if h.strip())

    @staticmethod
    def options_from_env(environ=None) -> dict:
        """``base_url`` and ``trusted_hosts`` from ``PORTAL_BASE_URL`` and ``PORTAL_TRUSTED_HOSTS``."""
        env = os.environ if environ is None else environ
        return {"base_url": env.get("PORTAL_BASE_URL") or None,
                "trusted_hosts": tuple((env.get("PORTAL_TRUSTED_HOSTS") or "").split(","))}

    def _trusted(self, host: str) -> bool:
        if not HOST.fullmatch(host):
            return False
        name = _hostname(host)
        for pattern in self.trusted:
            if pattern == "*" or name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:])):
                return True
        return False

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        if self.base is not None:
            scheme, netloc, prefix = self.base
            scope = _with_host(scope, netloc, scheme)
            if prefix:
                path = scope["path"]
                if not (path == prefix or path.startswith(prefix + "/")):
                    path = prefix + path  # the proxy stripped the prefix (as uvicorn's --root-path expects)
                scope["path"], scope["root_path"] = path, prefix
            return await self.app(scope, receive, send)
        bound = _netloc(scope.get("server"), scope.get("scheme", "http"))
        host = dict(scope.get("headers") or ()).get(b"host", b"").decode("latin-1")
        if self.trusted and host and host.lower() != (bound or "").lower():
            if not self._trusted(host):
                return await _refuse(scope, send)
            return await self.app(scope, receive, send)
        return await self.app(_with_host(scope, bound), receive, send)


async def _refuse(scope, send) -> None:
    if scope["type"] != "http":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = (b"This server does not answer for the host named in the request's Host header; "
            b"use one of the names it is configured with (PORTAL_TRUSTED_HOSTS).\n")
    await send({"type": "http.response.start", "status": 400,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def install(app, environ=None) -> None:
    """Build every absolute URL of ``app`` from the configured origin (read from the environment now)."""
    options = PublicOrigin.options_from_env(environ)
    PublicOrigin(None, **options)  # a malformed PORTAL_BASE_URL stops the start, with a sentence
    app.add_middleware(PublicOrigin, **options)
