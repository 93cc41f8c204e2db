"""Jupyter server extension: serve the widgets' static assets (Aladin Lite) from this machine.

Enabled by ``etc/jupyter/jupyter_server_config.d/gamma-portal-widgets.json`` (written by
:mod:`widgets.jupyter.install`). It adds one read-only route, ``{base_url}gamma-portal/static/``,
rooted at the installed Voila template's static folder (Aladin Lite and the offline sky), the same
folder Voila serves: tornado's static handler refuses any path outside it. It also keeps Voila's
pages from loading MathJax from a CDN, and serves the server's answers gzipped when the browser asks, with
the cache policy of :mod:`widgets.jupyter.voila_app` on Voila's static files (``{base_url}voila/...``).
"""

from __future__ import annotations

from tornado.web import StaticFileHandler

from widgets.jupyter.install import static_dir
from widgets.jupyter.voila_app import serve_compressed_and_cacheable

ROUTE = "gamma-portal/static"


class VendorHandler(StaticFileHandler):
    """Static files with a short revalidation period (the files are versioned by folder)."""

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "public, max-age=3600")


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "widgets.jupyter.server_extension"}]


def _load_jupyter_server_extension(server_app) -> None:
    from jupyter_server.utils import url_path_join

    web_app = server_app.web_app
    root = static_dir()
    pattern = url_path_join(web_app.settings["base_url"], ROUTE, "(.*)")
    web_app.add_handlers(".*$", [(pattern, VendorHandler, {"path": str(root)})])
    serve_compressed_and_cacheable(web_app, web_app.settings["base_url"])  # the app is built: settings are too late
    # Voila inside the Jupyter server (Binder's way) points its pages at the server's `mathjax_url`, a CDN
    # unless configured, or at a CDN when there is none; standalone Voila names none and loads nothing. Do
    # the same here when the setting is remote (JupyterLab 4 bundles its own MathJax and does not use it).
    if not str(web_app.settings.get("mathjax_url") or "").startswith("/"):
        web_app.settings["mathjax_url"] = web_app.settings["mathjax_config"] = None
    server_app.log.info("gamma-portal widgets: serving %s at %s", root, pattern)
