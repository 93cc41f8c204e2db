"""Service status: is each of the portal's services up, and does the job service accept my token?

The panel checks again by itself whenever :class:`widgets.health.ServiceHealth` sees the services go
away or come back, so it never says "available" about a service that stopped answering.
"""

from __future__ import annotations

import html

import ipywidgets as w
import traitlets as t

from widgets.background import Background
from widgets.client import PortalClient, ServiceError, default_client
from widgets.health import ServiceHealth

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
        self._round = 0  # checks started; only the latest one's answer is shown

    def refresh(self, background: Background | None = None) -> None:
        """Check every service: now, or in a worker thread when given a :class:`Background`."""
        if background is None:
            self.statuses = check(self.client)
            return
        self.checking = True
        self._round += 1
        this = self._round
        background.run(check, self.client, on_done=lambda statuses: self._done(statuses, this),
                       on_error=lambda _e: setattr(self, "checking", False))

    def _done(self, statuses: list[dict], round_: int | None = None) -> None:
        if round_ is not None and round_ != self._round:
            return
        self.statuses = statuses
        self.checking = False


class ServiceStatus(w.VBox):
    """A panel listing the services and their availability, with a refresh button."""

    def __init__(self, url: str | None = None, client: PortalClient | None = None, background: bool = True,
                 **kwargs):
        self.state = ServiceState(client=client or default_client(url))
        self._bg = Background.shared() if background else None
        # the services going away or coming back: check them again (only with a background to do it in)
        self.health = ServiceHealth.of(self.state.client, self._bg) if background else None
        if self.health is not None:
            self.health.observe(lambda _change: self.state.refresh(self._bg), "reachable")
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
                f"<tr style='vertical-align:top'><td style='color:{color}'>&#9679;</td>"
                f"<td style='white-space:nowrap; padding-right:12px'>{html.escape(s['name'])}<br>"
                f"<code style='font-size:11px; white-space:normal; word-break:break-all'>{html.escape(s['url'])}</code>"
                f"</td><td style='line-height:1.4'>{html.escape(s['message'])}</td></tr>"
            )
        if self.state.checking and not rows:
            rows.append("<tr><td colspan='4' style='color:#555'>checking the services...</td></tr>")
        self._table.value = "<table class='portal-status'>" + "".join(rows) + "</table>"
