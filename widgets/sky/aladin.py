"""ipyaladin's Aladin widget, working offline and with state of its own per instance.

ipyaladin 0.8.1 has two traps this class removes:

* its front end imports Aladin Lite from a CDN; here it is loaded from the Jupyter server
  (:mod:`widgets.sky.esm`);
* ``Aladin._call_store`` and ``Aladin.listener_callback`` are **class attributes**, shared by every
  instance: a call queued by one view was replayed by every other one once it loaded, and a
  listener set on one view replaced the listener of all the others. Each :class:`LocalAladin` has
  its own call store (emptied once replayed) and its own listeners.

The portal's layers (footprints, selection, target, MOC) are traits synced to the front end, so
each view draws them from the state, including a view displayed after the state was set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import traitlets as t
from ipyaladin import Aladin

from widgets.events import Dispatcher
from widgets.sky.esm import build_esm, script_paths


class InstanceCallStore:
    """Calls waiting for this view's front end to load; replayed once, in order, then dropped."""

    def __init__(self) -> None:
        self.calls: list[tuple[Callable, tuple, dict]] = []

    def add(self, func: Callable, *args: Any, **kwargs: Any) -> None:
        self.calls.append((func, args, kwargs))

    def run_all(self) -> None:
        calls, self.calls = self.calls, []
        for func, args, kwargs in calls:
            func(*args, **kwargs)


class LocalAladin(Aladin):
    """Aladin Lite served by the Jupyter server, with the portal's layers."""

    _esm = build_esm()

    _portal_script_paths = t.List(t.Unicode()).tag(sync=True)
    _portal_error = t.Unicode("").tag(sync=True)
    _portal_footprints = t.List().tag(sync=True)
    _portal_selected = t.List(t.Int()).tag(sync=True)
    _portal_target = t.Dict().tag(sync=True)
    _portal_moc = t.Dict().tag(sync=True)
    _portal_colors = t.Dict().tag(sync=True)
    # a sky map over the survey: its FITS (one image HDU) and how to draw it
    # ({name, colormap, opacity, min_cut, max_cut}); empty bytes: none
    _portal_image_fits = t.Bytes(b"").tag(sync=True)
    _portal_image = t.Dict().tag(sync=True)

    def __init__(self, **options: Any) -> None:
        # Instance attributes shadow ipyaladin's class-level ones before anything can use them.
        self._call_store = InstanceCallStore()
        self.listener_callback = {}
        self._footprint_clicks = Dispatcher()
        self._image_events = Dispatcher()
        super().__init__(**options)
        self.on_msg(self._portal_message)

    @t.default("_portal_script_paths")
    def _default_script_paths(self) -> list[str]:
        # A default, not an assignment after __init__: the front end reads it with the model's first
        # state, when it renders the view.
        return script_paths()

    def on_footprints_clicked(self, callback: Callable[[list[int], bool], Any], remove: bool = False) -> None:
        """Call ``callback(rows, additive)`` when footprints are clicked (additive: Ctrl/Shift held)."""
        self._footprint_clicks.register(callback, remove=remove)

    def on_image_drawn(self, callback: Callable[[bool, str], Any], remove: bool = False) -> None:
        """Call ``callback(ok, message)`` when the page has drawn the sky map (or failed to: ``message`` says why)."""
        self._image_events.register(callback, remove=remove)

    def _portal_message(self, _widget: Any, content: dict, _buffers: Any) -> None:
        if content.get("event_type") == "portal_image_drawn":
            self._image_events(bool(content.get("ok")), str(content.get("message") or "")[:300])
        if content.get("event_type") == "portal_footprints_clicked":
            rows = [int(r) for r in content.get("rows", [])]
            self._footprint_clicks(rows, bool(content.get("additive")))
