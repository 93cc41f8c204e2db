"""Where the widgets find the services (PORTAL_URL, PORTAL_TOKEN).

``PORTAL_URL`` when set; under JupyterHub, the URL of the hub's ``portal`` service
(:mod:`widgets.jupyter.hub`); else the local default.
"""

from __future__ import annotations

import os

DEFAULT_URL = "http://127.0.0.1:8000"


def portal_url() -> str:
    url = os.environ.get("PORTAL_URL")
    if not url:
        from widgets.jupyter.hub import hub_service_url

        url = hub_service_url()
    return (url or DEFAULT_URL).rstrip("/")

