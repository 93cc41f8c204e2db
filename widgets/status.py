"""Service status: is each of the portal's services up, and does the job service accept my token?"""

from __future__ import annotations

import html

import ipywidgets as w
import traitlets as t

from widgets.background import Background
from widgets.client import PortalClient, ServiceError, default_client

# (name, path, what "up" needs): VOSI availability of the archive, and the job service's definitions
# (which need a valid token: a refused token is the most common reason jobs cannot be launched).
SERVICES = [("Archive (TAP)", "/tap/availability", "vosi"), ("Job service (UWS)", "/uws", "uws")]


def check(client: PortalClient, timeout: float = 5.0) -> list[dict]:
    """I/O only (any thread): one status per service."""
    results = []
    for name, path, kind in SERVICES:
        target = client.url + path
        try:
            if kind == "vosi":
                response = client.get(path, timeout=timeout)
                up = "<available>true</available>" in response.text
                message = "available" if up else "says it is not available"
            else:
                count = len(client.uws.definitions())
                up, message = True, f"available, {count} kinds of job, your token is accepted"
        except ServiceError as exc:
            up, message = False, exc.message
        results.append({"name": name, "url": target, "up": up, "message": message})
    return results


class ServiceState(t.HasTraits):
    """The state: a base URL and, for each service, whether it answered and what it said."""

    url = t.Unicode()
    statuses = t.List(t.Dict())
    checking = t.Bool(False)

    def __init__(self, client: PortalClient | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.client = client or default_client(self.url or None)
        self.url = self.client.url

    def refresh(self, background: Background | None = None) -> None:
        """Check every service: now, or in a worker thread when given a :class:`Background`."""
        if background is None:
            self.statuses = check(self.client)
            return
        self.checking = True
        background.run(check, self.client, on_done=self._done, on_error=lambda _e: setattr(self, "checking", False))

    def _done(self, statuses: list[dict]) -> None:
        self.statuses = statuses
        self.checking = False


class ServiceStatus(w.VBox):
    """A panel listing the services and their availability, with a refresh button."""

    def __init__(self, url: str | None = None, client: PortalClient | None = None, background: bool = True,
                 **kwargs):
        self.state = ServiceState(client=client or default_client(url))
        self._bg = Background.shared() if background else None
        self._table = w.HTML()
        refresh = w.Button(description="Refresh", icon="refresh", layout=w.Layout(width="auto"))
        refresh.on_click(lambda _: self.state.refresh(self._bg))
        self.state.observe(self._render, ["statuses", "checking"])
        kwargs.setdefault("layout", w.Layout(align_items="flex-start"))
        super().__init__([self._table, refresh], **kwargs)
        self.state.refresh(self._bg)
        self._render()

    def _render(self, _change=None) -> None:
        rows = []
        for s in self.state.statuses:
            color = "#2e7d32" if s["up"] else "#c62828"
            rows.append(
                f"<tr><td style='color:{color}'>&#9679;</td><td>{html.escape(s['name'])}</td>"
                f"<td><code>{html.escape(s['url'])}</code></td><td>{html.escape(s['message'])}</td></tr>"
            )
        if self.state.checking and not rows:
            rows.append("<tr><td colspan='4' style='color:#555'>checking the services...</td></tr>")
        self._table.value = "<table class='portal-status'>" + "".join(rows) + "</table>"
