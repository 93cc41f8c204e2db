"""The one HTTP client of the widget library: base URL, token, timeouts, readable errors.

Every widget, test and benchmark that talks to the services goes through :class:`PortalClient`
(``client.get``, ``client.post``...). A failure never surfaces as an httpx exception or a
traceback: it is a :class:`ServiceError` whose message is a sentence a person can act on.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from widgets.client.errors import ServiceError
from widgets.config import portal_url

if TYPE_CHECKING:
    import httpx

__all__ = ["PortalClient", "ServiceError", "default_client", "discover_token"]

DEFAULT_TIMEOUT = 30.0
CONNECT_TIMEOUT = 5.0
TOKEN_HELP = "create one with `portal token create NAME` and set PORTAL_TOKEN"


def discover_token(environ=None) -> str | None:
    """``PORTAL_TOKEN``, else JupyterHub's ``JUPYTERHUB_API_TOKEN`` (the hub vouches for the user)."""
    env = os.environ if environ is None else environ
    return env.get("PORTAL_TOKEN") or env.get("JUPYTERHUB_API_TOKEN") or None


def _server_text(response: httpx.Response, limit: int = 500) -> str:
    """What the server said, as text: FastAPI's ``{"detail": ...}``, or the plain body."""
    try:
        if "json" in response.headers.get("content-type", ""):
            detail = response.json().get("detail")
            if isinstance(detail, str):
                return detail.strip()[:limit]
    except (ValueError, AttributeError):
        pass
    text = response.text.strip()
    if text.startswith("<"):  # an HTML or XML error page says nothing readable in a sentence
        return ""
    return " ".join(text.split())[:limit]


def why_unreachable(exc: BaseException) -> str:
    """Why a connection failed, in words (httpx's and requests' exception names mean nothing to a reader)."""
    name = type(exc).__name__
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if name in ("RemoteProtocolError", "ReadError", "ChunkedEncodingError") or "closed" in text or "reset" in text:
        return "the connection was closed before an answer"
    if "name or service not known" in text or "nodename" in text or "getaddrinfo" in text:
        return "its host name does not resolve"
    if "timed out" in text or "timeout" in name.lower():
        return "no answer in time"
    return "connection failed"


class PortalClient:
    """HTTP to the portal's services (or any TAP/UWS service) with one token and sane timeouts.

    ``url`` is the portal's base URL (``PORTAL_URL``); ``token`` is sent as a bearer token
    (default: :func:`discover_token`). Thread-safe: widgets call it from background threads.
    """

    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = (url or portal_url()).rstrip("/")
        self.token = token if token is not None else discover_token()
        self.timeout = timeout
        self._transport = transport
        self._http: httpx.Client | None = None  # made at the first request (an SSL context is 0.05 s of CPU)
        self._closed = False
        self.requests = 0  # requests sent (the monitor's request budget is tested with it)
        # called as ``watcher(reached, message)`` from the requesting thread after each request to this service,
        # pyvo's included: whether it answered at all (widgets.health watches the services' health with it)
        self.watchers: list = []
        self.health = None  # its ServiceHealth, once a dashboard watches it (widgets.health)
        self._count_lock = threading.Lock()
        self._uws = None
        self._tap_session = None

    @property
    def http(self) -> httpx.Client:
        """The HTTP session, made on first use (so a dashboard's start does not pay for it)."""
        import httpx  # here: a dashboard's first seconds do not wait for it (with click, rich and pygments)

        with self._count_lock:
            if self._http is None:
                self._http = httpx.Client(timeout=httpx.Timeout(self.timeout, connect=CONNECT_TIMEOUT),
                                          transport=self._transport)
                if self._closed:
                    self._http.close()
            return self._http

    def owns(self, url: str) -> bool:
        """Whether ``url`` is on this client's service (the only place its token is sent)."""
        mine, theirs = urlsplit(self.url), urlsplit(url)
        return (mine.scheme, mine.netloc) == (theirs.scheme, theirs.netloc) and theirs.path.startswith(mine.path)

    # -- addresses ------------------------------------------------------------------------------
    def absolute(self, path_or_url: str) -> str:
        """``/uws/spectrum`` -> ``http://host:8000/uws/spectrum``; absolute URLs stay as they are."""
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return urljoin(self.url + "/", path_or_url.lstrip("/"))

    @property
    def tap_url(self) -> str:
        return self.url + "/tap"

    @property
    def uws_url(self) -> str:
        return self.url + "/uws"

    @property
    def uws(self):
        """The UWS part (:class:`widgets.client.uws.UWSClient`) for this portal's ``/uws``."""
        if self._uws is None:
            from widgets.client.uws import UWSClient

            self._uws = UWSClient(self, self.uws_url)
        return self._uws

    def tap_service(self, url: str | None = None):
        """A pyvo ``TAPService`` for ``url`` (default: this portal's archive), sharing one HTTP session."""
        import pyvo
        import requests

        if self._tap_session is None:
            self._tap_session = requests.Session()
            self._tap_session.headers["User-Agent"] = "gamma-portal-widgets"
            adapter = _watched_adapter()(self)
            self._tap_session.mount("http://", adapter)
            self._tap_session.mount("https://", adapter)
        return pyvo.dal.TAPService(url or self.tap_url, session=self._tap_session)

    # -- requests -------------------------------------------------------------------------------
    def request(self, method: str, path_or_url: str, *, ok=(200,), timeout: float | None = None,
                **kwargs) -> httpx.Response:
        """Send a request; a status outside ``ok`` (or no answer) raises :class:`ServiceError`."""
        import httpx

        url = self.absolute(path_or_url)
        if timeout is not None:
            kwargs["timeout"] = httpx.Timeout(timeout, connect=CONNECT_TIMEOUT)
        if self.token and self.owns(url):
            kwargs["headers"] = {"Authorization": f"Bearer {self.token}", **(kwargs.get("headers") or {})}
        with self._count_lock:
            self.requests += 1
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            error = ServiceError(f"{self._where(url)} did not answer in time; try again in a moment.", url=url)
            if isinstance(exc, httpx.ConnectTimeout):
                self.tell(url, False, error.message)
            raise error from None
        except httpx.HTTPError as exc:
            error = ServiceError(f"{self._where(url)} cannot be reached ({why_unreachable(exc)}). "
                                 "Is `portal serve` running, and is PORTAL_URL right?", url=url)
            self.tell(url, False, error.message)
            raise error from None
        self.tell(url, True)
        if response.status_code not in ok:
            raise self.error_for(response)
        return response

    def get(self, path_or_url: str, **kwargs) -> httpx.Response:
        return self.request("GET", path_or_url, **kwargs)

    def post(self, path_or_url: str, **kwargs) -> httpx.Response:
        return self.request("POST", path_or_url, **kwargs)

    def get_json(self, path_or_url: str, **kwargs):
        response = self.get(path_or_url, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ServiceError(f"{self._where(str(response.url))} did not answer JSON.", response.status_code,
                               str(response.url)) from None

    def error_for(self, response: httpx.Response) -> ServiceError:
        """The sentence for an answer that is not what was asked for."""
        url, status = str(response.url), response.status_code
        said = _server_text(response)
        if status == 401:
            if not self.token:
                message = f"The job service needs a token and none is set: {TOKEN_HELP}."
            else:
                message = f"The job service refused the token (unknown, revoked or expired): {TOKEN_HELP}."
        elif status == 403:
            message = f"Not allowed: {said or 'the service refused the request'}."
        elif status == 404:
            message = said or f"Not found: {url}"
        elif status == 416:
            message = "The requested part of the file is beyond its end."
        elif 400 <= status < 500:
            message = said or f"The service refused the request (HTTP {status})."
        else:
            detail = f": {said}" if said else ""
            message = f"{self._where(url)} failed (HTTP {status}){detail}"
        message = message[:1].upper() + message[1:]
        return ServiceError(message if message.endswith((".", "?", "!", ")")) else message + ".", status, url)

    def tell(self, url: str, reached: bool, message: str = "") -> None:
        """Tell the watchers whether a request to ``url`` (if it is on this service) got an answer."""
        if self.watchers and self.owns(url):
            for watcher in list(self.watchers):
                watcher(reached, message)

    def _where(self, url: str) -> str:
        base = self.url if url.startswith(self.url) else url.split("?")[0]
        return f"The service at {base}"

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called: no request can be sent any more."""
        return self._closed

    def close(self) -> None:
        self._closed = True
        with self._count_lock:
            http = self._http
        if http is not None:
            http.close()
        if self._tap_session is not None:
            self._tap_session.close()


@functools.lru_cache(maxsize=1)
def _watched_adapter():
    """The requests adapter class (made on first use: requests is imported only with pyvo)."""
    from requests.adapters import HTTPAdapter
    from requests.exceptions import ConnectionError as Unreachable

    class WatchedAdapter(HTTPAdapter):
        """pyvo's requests, told to the client's watchers like the client's own."""

        def __init__(self, client: PortalClient) -> None:
            super().__init__()
            self.client = client

        def send(self, request, *args, **kwargs):
            # the token goes to this client's own service only (its TAP then shows the caller's private products)
            if self.client.token and self.client.owns(request.url) and "Authorization" not in request.headers:
                request.headers["Authorization"] = f"Bearer {self.client.token}"
            try:
                response = super().send(request, *args, **kwargs)
            except Unreachable as exc:
                self.client.tell(request.url, False, f"{self.client._where(request.url)} cannot be reached "
                                                     f"({why_unreachable(exc)}).")
                raise
            self.client.tell(request.url, True)
            return response

    return WatchedAdapter


_shared: dict[tuple[str, str | None], PortalClient] = {}
_shared_lock = threading.Lock()


def default_client(url: str | None = None, token: str | None = None) -> PortalClient:
    """The kernel's shared client for ``url`` (default ``PORTAL_URL``) and token (default from the
    environment): widgets built without a client of their own share this one."""
    base = (url or portal_url()).rstrip("/")
    tok = token if token is not None else discover_token()
    with _shared_lock:
        client = _shared.get((base, tok))
        if client is None:
            client = _shared[(base, tok)] = PortalClient(base, tok)
        return client
