"""Portal: the dashboard's app widget. Service status, target search, sky, archive search, and the jobs
(launcher and monitor), all wired to one session."""

from __future__ import annotations

import ipywidgets as w

from widgets.client import PortalClient, default_client
from widgets.config import portal_url
from widgets.jobs.launcher import JobLauncher
from widgets.jobs.monitor import JobMonitor
from widgets.links import connect
from widgets.obscore.services import embedded
from widgets.obscore.state import SearchState
from widgets.obscore.view import ObsCoreSearch
from widgets.sky.view import SkyView
from widgets.status import ServiceStatus
from widgets.target.state import TargetState, default_resolver
from widgets.target.view import TargetSearch

STYLE = """
<style>
.portal-app .portal-adql textarea, .portal-app .portal-pyvo-code textarea { font-family: var(--jp-code-font-family, monospace); font-size: 12px; }
.portal-app .portal-column { min-width: 0; }
</style>
"""


class Portal(w.VBox):
    """The whole dashboard in one widget: ``Portal()`` in a notebook or Voila.

    Its parts stay reachable: ``portal.target``, ``portal.sky``, ``portal.search``, ``portal.launcher``,
    ``portal.monitor``, ``portal.status``; ``portal.session`` is what they share.
    """

    def __init__(self, url: str | None = None, online: bool | None = None, client: PortalClient | None = None,
                 **kwargs) -> None:
        client = client or default_client((url or portal_url()).rstrip("/"))
        base = client.url
        service = embedded(base)
        self.client = client
        self.status = ServiceStatus(client=client)
        self.target = TargetSearch(TargetState(resolver=default_resolver(service.url, base)))
        self.sky = SkyView(online=online)
        self.search = ObsCoreSearch(SearchState(service, client=client))
        self.launcher = JobLauncher(definition="spectrum", client=client)
        self.monitor = JobMonitor(client=client)
        self.links = connect(target=self.target, search=self.search, sky=self.sky, launcher=self.launcher,
                             monitor=self.monitor)
        self.session = self.links.session
        self.sky.show_coverage(base + "/coverage/moc.json", client=client)
        left = w.VBox([self.target, self.search.search_panel], layout=w.Layout(flex="1 1 52%"))
        right = w.VBox([self.sky], layout=w.Layout(flex="1 1 48%"))
        left.add_class("portal-column")
        right.add_class("portal-column")
        columns = w.HBox([left, right], layout=w.Layout(width="100%", align_items="flex-start", grid_gap="12px"))
        jobs = w.HBox([w.VBox([w.HTML("<h3>Launch an analysis</h3>"), self.launcher], layout=w.Layout(flex="1 1 45%")),
                       w.VBox([w.HTML("<h3>Your jobs</h3>"), self.monitor], layout=w.Layout(flex="1 1 55%"))],
                      layout=w.Layout(width="100%", align_items="flex-start", grid_gap="12px"))
        for part in jobs.children:
            part.add_class("portal-column")
        super().__init__([w.HTML(STYLE), self.status, columns, self.search.results_panel, jobs], **kwargs)
        self.add_class("portal-app")
