"""TargetSearch: a name or a position, a radius, a Find button and a message. A thin view of TargetState."""

from __future__ import annotations

import html

import ipywidgets as w
from astropy.coordinates import Angle, SkyCoord

from widgets.background import Background
from widgets.events import Dispatcher
from widgets.target.state import TargetState

COLORS = {"ok": "#2e7d32", "error": "#c62828", "resolving": "#555", "idle": "#555"}
PLACEHOLDER = "Crab, PKS 2155-304, 83.633 22.014, 05:34:31.9 +22:00:52 or gal 184.56 -5.78"


class TargetSearch(w.VBox):
    """Find a target by name (local catalogs and archive at once, Sesame when reachable) or by coordinates."""

    #: what it does with the session (see :mod:`widgets.session`): it publishes the target it finds
    observes, publishes = TargetState.observes, TargetState.publishes

    def __init__(self, state: TargetState | None = None, value: str = "", radius: str | None = None,
                 background: bool = True, **kwargs) -> None:
        self.state = state or TargetState()
        if radius is not None:
            self.state.radius_text = radius
        self.background = background
        self._targets = Dispatcher(on_error=lambda exc: self._show_error(f"a callback failed: {exc}"))
        self._text = w.Combobox(value=value or self.state.text, placeholder=PLACEHOLDER, ensure_option=False,
                                continuous_update=False, description="Target",
                                layout=w.Layout(flex="1 1 auto", min_width="18em"))
        self._radius = w.Text(value=self.state.radius_text, description="Radius", continuous_update=False,
                              layout=w.Layout(width="13em"), style={"description_width": "4em"})
        self._button = w.Button(description="Find", icon="search", button_style="primary",
                                layout=w.Layout(width="auto"))
        self._message = w.HTML(layout=w.Layout(min_height="1.5em"))
        self._message.add_class("portal-target-message")
        self._button.on_click(lambda _b: self._start())
        self._text.observe(self._start, "value")
        self._radius.observe(lambda c: self._start() if self._text.value.strip() else None, "value")
        self.state.observe(self._render, ["status", "message"])
        self.state.observe(self._on_target_found, "found")
        super().__init__([w.HBox([self._text, self._radius, self._button]), self._message], **kwargs)
        self.add_class("portal-target-search")
        self._render()
        if background:
            (self.state.background or Background.shared()).run(self._suggestions, on_done=self._offer)

    # -- narrow public API ------------------------------------------------------------------------
    def attach(self, session) -> list:
        """Find targets for ``session`` (its state publishes each one there, with its radius, name and size)."""
        return [self.state.join(session)]

    @property
    def target(self) -> SkyCoord | None:
        """The target found (None before); in a script, once the lookup under way has ended."""
        (self.state.background or Background.shared()).settle()
        return self.state.target

    @property
    def radius(self) -> Angle:
        return Angle(self.state.radius, "deg")

    @property
    def name(self) -> str:
        return self.state.name

    @property
    def size(self):
        """The target's angular size (a :class:`~portal.seam.sizes.SourceSize`), when a local
        catalog gives one; None for a point-like source, a position or an unknown size."""
        return self.state.size

    def search(self, text: str | None = None, radius: str | None = None) -> None:
        """Resolve what is typed (or ``text``); in the background unless built with background=False."""
        if radius is not None:
            self._radius.value = radius
        if text is not None and text != self._text.value:
            self._text.value = text  # its observer starts the search
            return
        self._start()

    def _start(self, _change=None) -> None:
        self.state.text = self._text.value
        self.state.radius_text = self._radius.value
        if self.background:
            self.state.search_in_background()
        else:
            self.state.search()

    def on_target(self, callback, remove: bool = False) -> None:
        """Call ``callback(target: SkyCoord, radius: Angle, name: str)`` when a search succeeds."""
        self._targets.register(callback, remove=remove)

    # -- view ---------------------------------------------------------------------------------------
    def _render(self, _change=None) -> None:
        status = self.state.status
        self._button.disabled = status == "resolving"
        self._message.value = (f"<span style='color:{COLORS[status]}'>{html.escape(self.state.message)}</span>"
                               if self.state.message else "")

    def _show_error(self, message: str) -> None:
        self.state.status, self.state.message = "error", message

    def _on_target_found(self, _change) -> None:
        if self.state.target is not None:
            self._targets(self.state.target, self.radius, self.state.name)

    def _suggestions(self) -> list[str]:
        """I/O only (any thread): the names the resolver's sources know."""
        names: set[str] = set()
        for source in self.state.resolver.sources:
            if hasattr(source, "names"):
                try:
                    names.update(source.names())
                except Exception:  # noqa: BLE001 - suggestions are a convenience
                    continue
        return sorted(names, key=str.lower)

    def _offer(self, names: list[str]) -> None:
        if names:
            self._text.options = tuple(names)
