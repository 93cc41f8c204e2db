"""Portal: the dashboard's app widget. Service status, target search, sky and archive search, wired together."""

from __future__ import annotations

import ipywidgets as w

from widgets.config import portal_url
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

    Its parts stay reachable: ``portal.target``, ``portal.sky``, ``portal.search``, ``portal.status``.
    """

    def __init__(self, url: str | None = None, online: bool | None = None, **kwargs) -> None:
        base = (url or portal_url()).rstrip("/")
        service = embedded(base)
        self.status = ServiceStatus(url=base)
        self.target = TargetSearch(TargetState(resolver=default_resolver(service.url, base)))
        self.sky = SkyView(online=online)
        self.search = ObsCoreSearch(SearchState(service))
        self.links = connect(target=self.target, search=self.search, sky=self.sky)
        self.sky.show_coverage(base + "/coverage/moc.json")
        left = w.VBox([self.target, self.search.search_panel], layout=w.Layout(flex="1 1 52%"))
        right = w.VBox([self.sky], layout=w.Layout(flex="1 1 48%"))
        left.add_class("portal-column")
        right.add_class("portal-column")
        columns = w.HBox([left, right], layout=w.Layout(width="100%", align_items="flex-start", grid_gap="12px"))
        super().__init__([w.HTML(STYLE), self.status, columns, self.search.results_panel], **kwargs)
        self.add_class("portal-app")
