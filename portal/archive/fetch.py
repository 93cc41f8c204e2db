"""TAP UPLOAD by URL, fetched so that a caller can never make the server reach its own network.

- Anonymous callers may fetch only from the hosts of ``PORTAL_TAP_UPLOAD_HOSTS`` (none by
  default: off); callers with a token from any host.
- The host is resolved here, and every address it has must be public (not loopback, private,
  link-local, multicast, reserved or unspecified, IPv4-mapped and NAT64 forms included) unless
  it is in ``PORTAL_TAP_UPLOAD_TRUSTED_NETWORKS``. The connection goes to the address that was
  checked (the Host header and TLS name stay the URL's), so a second DNS answer cannot point
  elsewhere. Redirects are followed by hand, each hop checked the same way.
- One deadline covers the whole fetch (DNS, connection, redirects, every read), caps hold the
  number of URL uploads per request, the bytes of each table and of the request, and the
  fetches in progress in the whole server.
- Whatever goes wrong with the remote end, the caller reads one message
  (:data:`GENERIC`); what happened goes to the server log only, so answers cannot be used to scan
  ports or hosts. What the caller may know (anonymous URL uploads are off, a host is not allowed,
  too many URLs) is said plainly.
- Fetching is asynchronous: it runs on the event loop, never in the threads that run queries.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import threading

import httpx

from portal.archive.errors import TapError
from portal.archive.limits import MAX_CONCURRENT_FETCHES, MAX_REDIRECTS, Limits

__all__ = ["GENERIC", "fetch_uploads"]

log = logging.getLogger("portal.archive.uploads")
REDIRECTS = {301, 302, 303, 307, 308}
NAT64 = ipaddress.ip_network("64:ff9b::/96")


GENERIC = "the upload URL could not be read"


def generic(limits: Limits) -> str:
    return (f"{GENERIC} (it must be a public http or https URL that answers within {limits.upload_deadline:g} s "
            f"with a VOTable of at most {limits.max_upload_bytes:,} bytes)")


class _Refused(Exception):
    """A rule the caller may be told about (it says nothing about the network)."""


class _Failed(Exception):
    """Anything else: the detail is for the server log only."""


class _InFlight:
    """Fetches in progress in the whole process (sync requests and async jobs, any event loop)."""

    def __init__(self, limit: int):
        self.limit, self.count, self.lock = limit, 0, threading.Lock()

    def __enter__(self):
        with self.lock:
            if self.count >= self.limit:
                raise TapError("too many uploads by URL are being fetched right now; try again in a moment", 503)
            self.count += 1

    def __exit__(self, *exc):
        with self.lock:
            self.count -= 1


IN_FLIGHT = _InFlight(MAX_CONCURRENT_FETCHES)


class _Bytes:
    """The bytes a request may still take in, shared by its concurrent fetches."""

    def __init__(self, left: int):
        self.left = left


def public_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, limits: Limits) -> bool:
    """May a URL upload connect to ``ip``?"""
    if any(ip in net for net in limits.trusted_networks):
        return True
    if ip.version == 6:
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return public_address(embedded, limits)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def _check_url(url: httpx.URL, limits: Limits, anonymous: bool) -> None:
    if url.scheme not in ("http", "https"):
        raise _Refused("only http and https URLs can be uploaded")
    if url.userinfo:
        raise _Refused("an upload URL may not carry a user name or password")
    if not url.host:
        raise _Refused("the upload URL has no host")
    if anonymous and not limits.host_allowed_anonymously(url.host):
        raise _Refused(f"uploads by URL from {url.host} are not accepted from anonymous callers here")


async def _address(url: httpx.URL, limits: Limits) -> str:
    """The checked address to connect to; every address the host resolves to must be allowed."""
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(url.host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise _Failed(f"cannot resolve {url.host}: {exc}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]
    if not addresses:
        raise _Failed(f"{url.host} has no address")
    refused = [str(a) for a in addresses if not public_address(a, limits)]
    if refused:
        raise _Failed(f"{url.host} resolves to addresses that are not public: {', '.join(refused)}")
    return str(addresses[0])


async def _fetch(name: str, url: str, limits: Limits, anonymous: bool, budget: _Bytes) -> bytes:
    try:
        current = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise _Refused(f"{url!r} is not a URL ({exc})") from None
    async with httpx.AsyncClient(trust_env=False, follow_redirects=False,
                                 timeout=httpx.Timeout(limits.upload_deadline)) as client:
        for hop in range(MAX_REDIRECTS + 1):
            try:
                _check_url(current, limits, anonymous)
            except _Refused as exc:
                if hop == 0:
                    raise
                raise _Failed(f"redirected to {current}: {exc}") from None  # where it leads is not told
            address = await _address(current, limits)
            target = current.copy_with(host=address)
            host_header = current.host if current.port is None else f"{current.host}:{current.port}"
            extensions = {"sni_hostname": current.host} if current.scheme == "https" else {}
            request = client.build_request("GET", target, headers={"Host": host_header,
                                                                   "Accept": "application/x-votable+xml, */*"},
                                           extensions=extensions)
            response = await client.send(request, stream=True)
            try:
                if response.status_code in REDIRECTS and response.headers.get("location"):
                    current = current.join(response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise _Failed(f"answered HTTP {response.status_code}")
                return await _read(response, limits, budget)
            finally:
                await response.aclose()
    raise _Failed(f"more than {MAX_REDIRECTS} redirects")


async def _read(response: httpx.Response, limits: Limits, budget: _Bytes) -> bytes:
    chunks, size = [], 0
    async for chunk in response.aiter_raw():
        size += len(chunk)
        budget.left -= len(chunk)
        if size > limits.max_upload_bytes:
            raise _Failed(f"larger than {limits.max_upload_bytes} bytes")
        if budget.left < 0:
            raise _Refused(f"the uploads of this request are larger than {limits.max_request_bytes:,} bytes "
                           "in total")
        chunks.append(chunk)
    return b"".join(chunks)


async def _fetch_one(name: str, url: str, limits: Limits, anonymous: bool, budget: _Bytes) -> bytes:
    try:
        with IN_FLIGHT:
            async with asyncio.timeout(limits.upload_deadline):
                return await _fetch(name, url, limits, anonymous, budget)
    except _Refused as exc:
        raise TapError(f"UPLOAD {name}: {exc}") from None
    except TimeoutError:
        log.warning("UPLOAD %s from %s: no complete answer within %g s", name, url, limits.upload_deadline)
    except (_Failed, httpx.HTTPError, OSError) as exc:
        log.warning("UPLOAD %s from %s: %s", name, url, exc)
    except TapError:
        raise
    except Exception:  # noqa: BLE001 - whatever the remote end did, the caller reads the same sentence
        log.exception("UPLOAD %s from %s failed", name, url)
    raise TapError(f"UPLOAD {name}: {generic(limits)}")


async def fetch_uploads(uploads: list[tuple[str, bytes | str]], limits: Limits,
                        anonymous: bool) -> list[tuple[str, bytes, bool]]:
    """The uploads with every URL fetched: ``(name, content, fetched_by_url)``; raises :class:`TapError`."""
    urls = [(name, value) for name, value in uploads if isinstance(value, str)]
    if urls and anonymous and not limits.upload_hosts:
        raise TapError("uploads by URL are not accepted from anonymous callers on this service: send the "
                       "table with the request (UPLOAD=name,param:part and a file part), or use a token")
    if len(urls) > limits.max_url_uploads:
        raise TapError(f"{len(urls)} uploads by URL in one request; at most {limits.max_url_uploads} are accepted")
    inline = sum(len(value) for _, value in uploads if not isinstance(value, str))
    if inline > limits.max_request_bytes:
        raise TapError(f"the uploads of this request are larger than {limits.max_request_bytes:,} bytes in total", 413)
    budget = _Bytes(limits.max_request_bytes - inline)
    try:
        async with asyncio.TaskGroup() as group:  # the first failure cancels the other fetches
            tasks = {name: group.create_task(_fetch_one(name, url, limits, anonymous, budget)) for name, url in urls}
    except* TapError as failures:
        raise failures.exceptions[0] from None
    fetched = {name: task.result() for name, task in tasks.items()}
    return [(name, fetched[name], True) if isinstance(value, str) else (name, value, False)
            for name, value in uploads]
