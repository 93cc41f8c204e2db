"""Standalone Voila for `portal up` (``python -m widgets.jupyter.voila_app``): static files compressed and cacheable.

Voila 0.5.13 builds its tornado application in ``start()`` and only then applies ``tornado_settings``, so
``compress_response`` there has no effect (tornado reads it in ``Application.__init__``), and its handlers send
its labextensions with ``Cache-Control: no-cache``. This subclass adds two output transforms to the application
once it is built (tornado's documented ``Application.transforms``), before it listens:

* :class:`tornado.web.GZipContentEncoding`: text, JavaScript, JSON and SVG answers of 1 kB or more are gzipped
  when the browser asks for it (``Accept-Encoding: gzip``); streamed pages stay streamed (each flush is a
  gzip sync point);
* :class:`CacheControl`: a cache policy by path (:func:`cache_policy`). Lab-extension files whose names carry
  their content hash (webpack's ``[name].[contenthash].js``) never change: the browser keeps them a year
  without asking. Voila's own bundle and the template's static files (Aladin Lite, versioned by folder) change
  only when a package is upgraded: an hour, then revalidated (``Last-Modified``, a 304). Without a header the
  browser guessed a freshness of a tenth of the file's age, days for files installed weeks ago. The template's
  URLs versioned by tornado's ``static_url`` (``?v=<hash>``) keep the handler's own policy (ten years); other
  lab-extension files (``style.js``, ``package.json``) are revalidated each time (``no-cache``, as Voila does).

It also keeps a visitor from waiting for the pool's refill (:func:`offer_only_ready_kernels`): the refill starts
``fill_delay`` seconds (20, voila.json) after a visitor took the preheated kernel, so that its imports do not take
the CPU the visitor's page needs; Voila would make a second visitor within those seconds wait for the delay and
the whole refill. Here that visitor gets a kernel of their own at once, as without preheating.

Who may use it (:mod:`widgets.jupyter.voila_access`): a token always, unless it was turned off explicitly
(``--Voila.token=``, what `portal up --no-token` passes); the token comes in Jupyter's ``JUPYTER_TOKEN``, taken
out of the environment the kernels inherit (a page's kernel still gets the page's URL from Voila, the token in
it); only the notebooks at the top of the folder are served (the dashboards, not ``tutorials/``). How many kernels: :mod:`widgets.jupyter.kernel_cap` (a page beyond the cap gets a sentence).

Everything else is Voila's, unchanged (its options and the configuration in ``widgets/jupyter/config/``).
Behind a reverse proxy, see docs/deploy.md.
"""

from __future__ import annotations

import os
import re
import sys
import time
import weakref

from tornado.web import GZipContentEncoding, OutputTransform

IMMUTABLE = "public, max-age=31536000, immutable"
HOUR = "public, max-age=3600"
REVALIDATE = "no-cache"
# webpack's content hash: 8 to 32 hex digits between dots (remoteEntry.698dcaf7.js, 568.ca3cef0d68ed10611ed4.js,
# 14ad542071f6e259fbe2.png)
_HASHED = re.compile(r"(^|[./])[0-9a-f]{8,32}\.[A-Za-z0-9]+$")
_LABEXTENSION = re.compile(r"^voila/labextensions/.+/static/[^/]+$")
_STATIC = ("voila/static/", "voila/templates/")


def cache_policy(path: str, base_url: str = "/", query: str = "") -> str | None:
    """The ``Cache-Control`` for a request path, or ``None`` to leave the handler's (not a static file, or
    versioned by its ``v`` query argument)."""
    if not path.startswith(base_url):
        return None
    path = path[len(base_url):]
    if path.startswith("voila/labextensions/"):
        return IMMUTABLE if _LABEXTENSION.match(path) and _HASHED.search(path) else REVALIDATE
    if path.startswith(_STATIC) and not re.search(r"(^|&)v=", query):
        return HOUR
    return None


class CacheControl(OutputTransform):
    """Set :func:`cache_policy`'s ``Cache-Control`` on successful (200) and not-modified (304) static answers."""

    base_url = "/"

    def __init__(self, request) -> None:
        self._policy = cache_policy(request.path, self.base_url, request.query)

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        if self._policy and status_code in (200, 304):
            headers["Cache-Control"] = self._policy
        return status_code, headers, chunk


def serve_compressed_and_cacheable(app, base_url: str = "/") -> None:
    """Add the gzip and cache transforms to a built tornado application (idempotent)."""
    policy = type("CacheControl", (CacheControl,), {"base_url": base_url})
    app.transforms = [t for t in app.transforms if t is not GZipContentEncoding
                      and not (isinstance(t, type) and issubclass(t, CacheControl))]
    app.transforms += [GZipContentEncoding, policy]


def offer_only_ready_kernels(manager) -> bool:
    """Make Voila's kernel manager count, as its pool, only entries past their ``fill_delay``.

    A pool entry is a task that sleeps ``fill_delay`` seconds, then starts a kernel and runs the notebook.
    Voila offers any entry to a visitor (``get_pool_size``), so one who comes during the delay waits for
    all of it; an entry whose delay is over (its kernel is starting) is still offered: that is the
    quicker way. Entries are taken in order, oldest first, so a ready entry is taken before a waiting
    one. Returns False (and changes nothing) when preheating is off. Voila 0.5.13 (pinned).
    """
    if not (hasattr(manager, "_pools") and hasattr(manager, "fill_if_needed")):
        return False
    ready_at: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
    fill_if_needed = manager.fill_if_needed

    def fill(delay=None, notebook_name=None, **kwargs):
        before = set(map(id, manager._pools.get(notebook_name, [])))
        fill_if_needed(delay=delay, notebook_name=notebook_name, **kwargs)
        wait = manager.fill_delay if delay is None else delay
        for task in manager._pools.get(notebook_name, []):
            if id(task) not in before:
                ready_at[task] = time.monotonic() + wait

    def get_pool_size(notebook_name):  # the leading entries that are ready: Voila takes the oldest entry first
        now = time.monotonic()
        waiting = getattr(manager, "is_waiting", lambda task: False)  # a refill waiting for a place under the cap
        ready = 0
        for task in manager._pools.get(notebook_name, []):
            if ready_at.get(task, 0) > now or waiting(task) or (task.done() and not _has_kernel(task)):
                break
            ready += 1
        return ready

    manager.fill_if_needed, manager.get_pool_size = fill, get_pool_size
    return True


def _has_kernel(task) -> bool:
    """Whether a finished pool entry has a kernel to offer (one that failed to start has none)."""
    return not task.cancelled() and task.exception() is None


def _voila_class():
    from jinja2 import ChoiceLoader, FileSystemLoader
    from traitlets import default
    from voila.app import Voila
    from voila.request_info_handler import RequestInfoSocketHandler
    from voila.tornado.handler import TornadoVoilaHandler

    from widgets.jupyter.kernel_cap import RETRY_AFTER, KernelCapReached
    from widgets.jupyter.voila_access import AuthenticatedRequestInfo, DashboardsOnly

    class DashboardHandler(TornadoVoilaHandler):
        """A dashboard page; beyond the kernel cap, a 503 page with a sentence and a ``Retry-After``."""

        def write_error(self, status_code, **kwargs):
            exc_info = kwargs.get("exc_info")
            if exc_info and isinstance(exc_info[1], KernelCapReached):
                self.set_header("Retry-After", str(RETRY_AFTER))
            super().write_error(status_code, **kwargs)

    class PortalVoila(Voila):
        """Voila whose application serves static files gzipped and cacheable, whose visitors never wait
        for a pool refill's delay, which asks for a token unless told otherwise and serves only the dashboards."""

        @default("auto_token")
        def _auto_token(self):  # Voila's default is no token at all; Jupyter's, a token
            return True

        def init_settings(self):
            settings = super().init_settings()  # creates the kernel manager (and fills the pool, delay 0)
            offer_only_ready_kernels(self.kernel_manager)
            self.identity_provider.token  # read JUPYTER_TOKEN now (the default is computed on first use) ...
            os.environ.pop("JUPYTER_TOKEN", None)  # ... so that the kernels, which inherit os.environ, do not get it
            self.contents_manager = settings["contents_manager"] = DashboardsOnly(parent=self)
            jupyter_pages = settings["jinja2_env"]  # the login form and Jupyter's error pages: the template's own
            jupyter_pages.loader = ChoiceLoader([FileSystemLoader(self.template_paths[:1]), jupyter_pages.loader])
            return settings

        def init_handlers(self):
            swap = {TornadoVoilaHandler: DashboardHandler, RequestInfoSocketHandler: AuthenticatedRequestInfo}
            return [(route[0], swap.get(route[1], route[1]), *route[2:]) for route in super().init_handlers()]

        def listen(self):  # Voila.start(): build the application, add the handlers, then listen()
            serve_compressed_and_cacheable(self.app, self.base_url)
            super().listen()

    return PortalVoila


def main(argv: list[str] | None = None) -> None:
    _voila_class().launch_instance(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
