"""The banner a dashboard shows at its top while the portal's services cannot be reached.

A thin view of :class:`widgets.health.ServiceHealth`: hidden while the services answer (and empty until first
shown: its parts are made then); while they do not, one line ("The portal services cannot be reached:
retrying…"), what the client said, and a "Try now" button (``banner.retry``, None until first shown). It goes
away by itself at the services' first answer.

(When the page loses its kernel, the kernel cannot say so: the portal's Voila template shows its own
banner for that, see ``widgets/jupyter/templates/gamma-portal/kernel-watch.js``.)
"""

from __future__ import annotations

import html
import time

import ipywidgets as w

from widgets.background import Background
from widgets.client import PortalClient, default_client
from widgets.health import ServiceHealth

__all__ = ["ServiceBanner"]

STYLE = """<style>
.portal-banner { background: #fff4d6; border: 1px solid #d9a520; border-radius: 4px; color: #4a3500;
  padding: 2px 10px; margin: 0 0 8px 0; align-items: center; gap: 10px; }
.portal-banner .portal-banner-text { flex: 1 1 auto; min-width: 0; }
.portal-banner .portal-banner-text p { margin: 2px 0; }
.portal-banner .portal-banner-detail { color: #6b5a2e; font-size: 12px; }
</style>"""


class ServiceBanner(w.HBox):
    """``ServiceBanner(client=...)`` or ``ServiceBanner(health)``: hidden while the services answer."""

    def __init__(self, health: ServiceHealth | None = None, client: PortalClient | None = None,
                 url: str | None = None, **kwargs) -> None:
        self.health = health or ServiceHealth.of(client or default_client(url), Background.shared())
        self._text: w.HTML | None = None  # its line and "Try now" (self.retry) are made when it is first shown
        self.retry: w.Button | None = None
        super().__init__([], **kwargs)
        self.add_class("portal-banner")
        self.health.observe(self._render, ["reachable", "message"])
        self._render()

    def _build(self) -> None:
        """Its parts, made when it is first shown: a dashboard whose services answer draws none of them."""
        self._text = w.HTML()
        self._text.add_class("portal-banner-text")
        self.retry = w.Button(description="Try now", icon="refresh", layout=w.Layout(width="auto", flex="0 0 auto"),
                              tooltip="Ask the services again now")
        self.retry.add_class("portal-banner-retry")
        self.retry.on_click(lambda _button: self.health.retry())
        self.children = [w.HTML(STYLE), self._text, self.retry]

    @property
    def shown(self) -> bool:
        return self.layout.display != "none"

    def _render(self, _change=None) -> None:
        if self.health.reachable:
            self.layout.display = "none"
            return
        since = time.strftime("%H:%M:%S", time.localtime(self.health.since)) if self.health.since else ""
        detail = self.health.message or f"No answer from {self.health.client.url}."
        if self._text is None:
            self._build()
        self._text.value = (
            "<p><b>The portal services cannot be reached: retrying…</b> The dashboard goes on by itself "
            "when they answer again.</p>"
            f"<p class='portal-banner-detail'>{html.escape(detail)}"
            + (f" (since {since})" if since else "") + "</p>"
        )
        self.layout.display = "flex"
