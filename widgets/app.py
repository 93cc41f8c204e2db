"""The dashboards' app widgets, each a layout of library widgets wired to one session.

- :class:`Portal`: the whole journey on one screen (target, sky, archive search, results, launch, jobs, SED).
- :class:`ArchiveExplorer`: target, sky, archive search and results, no jobs.
- :class:`JobsDashboard`: the launcher and the monitor of your jobs.

The layouts fit a 1440x900 or 1280x800 screen with no horizontal scrolling: the left column is a
set of tabs (search form, launcher, jobs, services), the right column the sky or the SED (tabs)
above the results.
"""

from __future__ import annotations

import functools
import importlib

import ipywidgets as w

from widgets.background import Background
from widgets.banner import ServiceBanner
from widgets.client import PortalClient, default_client
from widgets.config import portal_url
from widgets.datalink.view import DataLinkPanel
from widgets.health import ServiceHealth
from widgets.jobs.form import LauncherState
from widgets.jobs.monitor_state import MonitorState
from widgets.jobs.publish import PublishState
from widgets.lazy import Deferred, join_when_shown
from widgets.links import connect
from widgets.obscore.services import embedded
from widgets.obscore.state import SearchState
from widgets.obscore.view import ObsCoreSearch
from widgets.products.state import ProductState
from widgets.products.view import ProductBar
from widgets.sed.live import KINDS as SED_JOBS
from widgets.sed.state import SEDState
from widgets.sky.view import SkyView
from widgets.target.state import TargetState, default_resolver
from widgets.target.view import TargetSearch

__all__ = ["ArchiveExplorer", "JobsDashboard", "Portal"]

# Everything inside a column may shrink and wraps instead of pushing the page wider than the screen. A tab's
# body scrolls: its page keeps its own height (stretched to the body's, its lines were squeezed over each other)
# and takes the body's width (sized by its content, the search form was narrower and widened with an error).
STYLE = """
<style>
.portal-app .portal-adql textarea, .portal-app .portal-pyvo-code textarea { font-family: var(--jp-code-font-family, monospace); font-size: 12px; }
.portal-app .portal-column { min-width: 0; }
.portal-app .portal-column .widget-hbox { flex-wrap: wrap; }
.portal-app .portal-column .widget-inline-hbox, .portal-app .portal-column .widget-text,
.portal-app .portal-column .widget-dropdown, .portal-app .portal-column .widget-textarea { max-width: 100%; }
.portal-app .portal-header { align-items: center; }
.portal-app .portal-header h2 { margin: 0 12px 0 0; font-size: 20px; white-space: nowrap; }
.portal-app .portal-tab-body { overflow-y: auto; overflow-x: hidden; align-items: flex-start; }
.portal-app .portal-tab-body > * { flex: 1 1 auto; min-width: 0; }
.portal-app .portal-tabs.widget-tab > .lm-TabBar .lm-TabBar-tab,
.portal-app .portal-tabs.widget-tab > .p-TabBar .p-TabBar-tab { flex: 0 1 auto; min-width: 35px; }
</style>
"""
SEARCH, LAUNCH, JOBS, SERVICES = range(4)
SKY, SED, FILES, PRODUCT = range(4)


def _column(children, flex: str) -> w.VBox:
    box = w.VBox(children, layout=w.Layout(flex=flex, min_width="0"))
    box.add_class("portal-column")
    return box


def _view(module: str, name: str, **kwargs) -> w.Widget:
    """``module.name(**kwargs)``, the module imported now (a part's first drawing, not the dashboard's start)."""
    return getattr(importlib.import_module(module), name)(**kwargs)


def _tab_body(child, height: str) -> w.Box:
    body = w.Box([] if child is None else [child], layout=w.Layout(max_height=height, width="100%"))
    body.add_class("portal-tab-body")
    return body


def _requests_after(init):
    """A dashboard's ``__init__`` whose background work (its first requests) starts once it is built: the kernel's
    thread builds the page without sharing the interpreter with the threads that read the services."""
    @functools.wraps(init)
    def build(self, *args, **kwargs) -> None:
        with Background.shared().held():
            init(self, *args, **kwargs)

    return build


class _Parts:
    """The pieces every dashboard builds the same way: one client, the embedded archive as default."""

    def __init__(self, url: str | None, client: PortalClient | None) -> None:
        self.client = client or default_client((url or portal_url()).rstrip("/"))
        self.base = self.client.url
        self.service = embedded(self.base)

    def target(self) -> TargetSearch:
        return TargetSearch(TargetState(resolver=default_resolver(self.service.url, self.base)))

    def sky(self, online: bool | None, height: int) -> SkyView:
        sky = SkyView(online=online, height=height, client=self.client)
        sky.show_coverage(self.base + "/coverage/moc.json", client=self.client)
        return sky

    def search(self, grid_height: str) -> ObsCoreSearch:
        search = ObsCoreSearch(SearchState(self.service, client=self.client))
        search.results_panel.height = grid_height
        return search


class _Dashboard(w.VBox):
    """What every dashboard does when it is closed: its background loops stop (the services' health probe, the
    job list's refresh) and its links to the session are undone."""

    def close(self) -> None:
        health = getattr(getattr(self, "client", None), "health", None)
        if health is not None:
            health.close()
        self._stop_loops()
        links = getattr(self, "links", None)
        if links is not None:
            links.unlink()
        super().close()

    def _stop_loops(self) -> None:
        monitor = getattr(self, "monitor", None)
        if monitor is not None:
            monitor.close()


class Portal(_Dashboard):
    """The whole dashboard in one widget: ``Portal()`` in a notebook or Voila.

    Its parts stay reachable: ``portal.target``, ``portal.sky``, ``portal.search``, ``portal.launcher``,
    ``portal.monitor``, ``portal.status``, ``portal.sed``, ``portal.files`` (the DataLink of the selected rows),
    ``portal.products`` (the product among the selected rows: "Open SED", "Show on sky", its provenance);
    ``portal.session`` is what they share; ``portal.tabs`` is the left column, ``portal.views`` the sky, the SED
    and the files above the results (``portal.show("jobs")``, ``portal.show("files")`` open a tab). The SED
    follows the session's active job when it is a spectrum or a joint fit, and the right column turns to it; a
    new target turns it back to the sky. "Run again" and "Joint fit" in the monitor fill the launcher and open its tab.

    The parts in tabs not shown at first (the launcher, the jobs, the services, the SED, the product) follow the
    session from the start, and are drawn when their tab is first opened (:mod:`widgets.lazy`).
    """

    TABS = ("search", "launch", "jobs", "services")
    VIEWS = ("sky", "sed", "files", "product")

    @_requests_after
    def __init__(self, url: str | None = None, online: bool | None = None, client: PortalClient | None = None,
                 sky_height: int = 350, grid_height: str = "260px", panel_height: str = "calc(100vh - 150px)",
                 sed_height: str = "392px", **kwargs) -> None:
        parts = _Parts(url, client)
        self.client = client = parts.client
        bg = Background.shared()
        health = ServiceHealth.of(client, bg)
        self.banner = ServiceBanner(health)  # at the top while the services cannot be reached
        self.target = parts.target()
        self.sky = parts.sky(online, sky_height)
        self.search = parts.search(grid_height)
        launcher = LauncherState(client, definition="spectrum", background=bg)
        monitor = MonitorState(client, bg)
        sed = SEDState(client=client, background=bg, active=False)  # in view when its tab is (below)
        product = ProductState(client=client, background=bg)
        publish = PublishState(client, bg)
        # the product among the selected rows, above the results (its panel, in the Product tab, is built later)
        self.product_bar = ProductBar(product, on_provenance=lambda: self.show("product"))
        self._deferred = {  # each view's module is imported when it is first drawn
            "launcher": Deferred(lambda: _view("widgets.jobs.launcher", "JobLauncher", client=client, state=launcher,
                                               layout=w.Layout(max_height=panel_height)),  # its form scrolls
                                 launcher),
            "monitor": Deferred(lambda: _view("widgets.jobs.monitor", "JobMonitor", client=client, state=monitor,
                                              publish=publish), monitor, publish),
            "status": Deferred(lambda: _view("widgets.status", "ServiceStatus", client=client)),
            "sed": Deferred(lambda: _view("widgets.sed.view", "SEDPlot", state=sed, height=sed_height), sed),
            # the product among the selected rows (an SED, a light curve, a sky map): its SED, its map, its provenance
            "products": Deferred(lambda: _view("widgets.products.view", "ProductPanel", state=product,
                                               bar=self.product_bar, layout=w.Layout(
                                                   width="100%", max_height=f"{sky_height}px", overflow_y="auto")),
                                 product),
        }
        # the DataLink of the selected rows (files, sizes, downloads, previews), fetched only while its tab is open
        self.files = DataLinkPanel(client=client, layout=w.Layout(width="100%", max_height=f"{sky_height}px",
                                                                  overflow_y="auto"))
        self.files.state.active = False
        self.links = connect(self.target, self.search, self.sky, self.files, *self._deferred.values())
        self.session = self.links.session
        self.views = w.Tab([self.sky] + [w.Box([], layout=w.Layout(width="100%")) for _ in (SED, FILES, PRODUCT)],
                           titles=("Sky", "SED", "Files", "Product"))
        self.views.add_class("portal-views")
        join_when_shown(self.views, {SED: lambda: self.sed, FILES: self.files, PRODUCT: lambda: self.products})
        self.session.observe(self._product_opened, "product")
        self.views.observe(lambda change: setattr(self.files.state, "active", change["new"] == FILES),
                           "selected_index")
        self.views.observe(lambda change: setattr(sed, "active", change["new"] == SED), "selected_index")
        self.session.observe(self._active_job, "active_job")
        self.session.observe(lambda _change: self.show("sky"), "target_moves")
        self.tabs = w.Tab([_tab_body(self.search.search_panel, panel_height)]
                          + [_tab_body(None, panel_height) for _ in (LAUNCH, JOBS, SERVICES)],
                          titles=("Archive search", "Launch an analysis", "Your jobs", "Services"))
        self.tabs.add_class("portal-tabs")
        join_when_shown(self.tabs, {LAUNCH: lambda: self.launcher, JOBS: lambda: self.monitor,
                                    SERVICES: lambda: self.status})
        launcher.submitted.register(lambda _job: self.show("jobs"))
        self.session.observe(lambda _change: self.show("launch"), "draft")  # the launcher has filled it already
        header = w.HBox([w.HTML("<h2>Gamma-ray archive portal</h2>"), self.target],
                        layout=w.Layout(width="100%"))
        header.add_class("portal-header")
        self.target.layout.flex = "1 1 auto"
        body = w.HBox([_column([self.tabs], "1 1 46%"),
                       _column([self.views, self.product_bar, self.search.results_panel], "1 1 54%")],
                      layout=w.Layout(width="100%", align_items="flex-start", grid_gap="12px"))
        super().__init__([w.HTML(STYLE), self.banner, header, body], **kwargs)
        self.add_class("portal-app")

    # the parts drawn when first shown (built here when code asks for them first)
    launcher = property(lambda self: self._deferred["launcher"].get(), doc="The job launcher (JobLauncher).")
    monitor = property(lambda self: self._deferred["monitor"].get(), doc="Your jobs (JobMonitor).")
    status = property(lambda self: self._deferred["status"].get(), doc="The services' status (ServiceStatus).")
    sed = property(lambda self: self._deferred["sed"].get(), doc="The SED of the active job (SEDPlot).")
    products = property(lambda self: self._deferred["products"].get(), doc="The selected product (ProductPanel).")

    def _stop_loops(self) -> None:
        monitor = self.built("monitor")
        if monitor is not None:
            monitor.close()
        else:  # its state may follow jobs of the session's, drawn or not
            self._deferred["monitor"].states[0].stop()
        for part in self._deferred.values():
            part.close()

    def built(self, name: str):
        """The part ``name`` ("launcher", "monitor", "status", "sed", "products") if it was drawn, else None."""
        return self._deferred[name].view

    def show(self, tab: str) -> None:
        """Open a tab: "search", "launch", "jobs" or "services" on the left, "sky", "sed", "files" or "product" on
        the right."""
        if tab in self.VIEWS:
            self.views.selected_index = self.VIEWS.index(tab)
        else:
            self.tabs.selected_index = self.TABS.index(tab)

    def _product_opened(self, change) -> None:
        opened = change["new"]
        if opened is not None:
            self.show(opened.view)  # "sed" or "sky"

    def _active_job(self, change) -> None:
        job = change["new"]
        if job is not None and job.definition in SED_JOBS:
            self.show("sed")


class ArchiveExplorer(_Dashboard):
    """Find a target, see the archive's observations on the sky, filter them and export the rows."""

    @_requests_after
    def __init__(self, url: str | None = None, online: bool | None = None, client: PortalClient | None = None,
                 **kwargs) -> None:
        parts = _Parts(url, client)
        self.client = parts.client
        self.target = parts.target()
        self.sky = parts.sky(online, 420)
        self.search = parts.search("320px")
        self.banner = ServiceBanner(client=self.client)
        self.links = connect(target=self.target, search=self.search, sky=self.sky)
        self.session = self.links.session
        body = w.HBox([_column([self.search.search_panel], "1 1 46%"),
                       _column([self.sky, self.search.results_panel], "1 1 54%")],
                      layout=w.Layout(width="100%", align_items="flex-start", grid_gap="12px"))
        super().__init__([w.HTML(STYLE), self.banner, self.target, body], **kwargs)
        self.add_class("portal-app")


class JobsDashboard(_Dashboard):
    """Launch analyses and follow your jobs: phase, parameters, log, results, provenance."""

    @_requests_after
    def __init__(self, url: str | None = None, client: PortalClient | None = None, definition: str = "spectrum",
                 **kwargs) -> None:
        self.client = _Parts(url, client).client
        self.banner = ServiceBanner(client=self.client)
        from widgets.jobs.launcher import JobLauncher
        from widgets.jobs.monitor import JobMonitor

        self.launcher = JobLauncher(definition=definition, client=self.client)
        self.monitor = JobMonitor(client=self.client)
        self.links = connect(launcher=self.launcher, monitor=self.monitor)
        self.session = self.links.session
        body = w.HBox([_column([w.HTML("<h3>Launch an analysis</h3>"), self.launcher], "1 1 42%"),
                       _column([w.HTML("<h3>Your jobs</h3>"), self.monitor], "1 1 58%")],
                      layout=w.Layout(width="100%", align_items="flex-start", grid_gap="12px"))
        super().__init__([w.HTML(STYLE), self.banner, body], **kwargs)
        self.add_class("portal-app")
