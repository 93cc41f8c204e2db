"""Service status: is each of the portal's services up? A state model and a thin view."""

from __future__ import annotations

import html

import httpx
import ipywidgets as w
import traitlets as t

from widgets.config import portal_url

# (name, path) of each VOSI availability endpoint the portal offers.
SERVICES = [("Archive (TAP)", "/tap/availability")]


class ServiceState(t.HasTraits):
    """The state: a base URL and, for each service, whether it answered and what it said."""

    url = t.Unicode()
    statuses = t.List(t.Dict())

    def refresh(self, timeout: float = 5.0) -> None:
        results = []
        for name, path in SERVICES:
            target = self.url + path
            try:
                response = httpx.get(target, timeout=timeout)
                up = response.status_code == 200 and "<available>true</available>" in response.text
                message = "available" if up else f"answered HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                up, message = False, f"cannot be reached ({type(exc).__name__})"
            results.append({"name": name, "url": target, "up": up, "message": message})
        self.statuses = results


class ServiceStatus(w.VBox):
    """A panel listing the services and their availability, with a refresh button."""

    def __init__(self, url: str | None = None, **kwargs):
        self.state = ServiceState(url=(url or portal_url()).rstrip("/"))
        self._table = w.HTML()
        refresh = w.Button(description="Refresh", icon="refresh", layout=w.Layout(width="auto"))
        refresh.on_click(lambda _: self.state.refresh())
        self.state.observe(self._render, "statuses")
        kwargs.setdefault("layout", w.Layout(align_items="flex-start"))
        super().__init__([self._table, refresh], **kwargs)
        self.state.refresh()

    def _render(self, _change=None) -> None:
        rows = []
        for s in self.state.statuses:
            mark = "&#9679;"
            color = "#2e7d32" if s["up"] else "#c62828"
            rows.append(
                f"<tr><td style='color:{color}'>{mark}</td><td>{html.escape(s['name'])}</td>"
                f"<td><code>{html.escape(s['url'])}</code></td><td>{html.escape(s['message'])}</td></tr>"
            )
        self._table.value = "<table class='portal-status'>" + "".join(rows) + "</table>"
