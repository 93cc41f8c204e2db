"""Parts of a dashboard built when first shown: a dashboard's first seconds draw only what is on the screen.

A :class:`Deferred` part has its states at once (they join the session, so the part follows the journey while
hidden: the launcher pre-fills, the SED follows the active job), and its widgets only when its tab is first
opened or when code asks for them (``portal.sed``). Its view, built late, draws the state as it is then.
:func:`join_when_shown` puts such parts into the slots of a ``Tab`` (or an ``Accordion``) when a slot is first
selected. Each widget costs the kernel a comm and the browser a view: the hidden ones were half of the portal's.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable

import ipywidgets as w

__all__ = ["Deferred", "join_when_shown"]

log = logging.getLogger(__name__)


class Deferred:
    """``build()`` made once, on the first :meth:`get`; ``states`` join a session at :meth:`attach`."""

    def __init__(self, build: Callable[[], w.Widget], *states) -> None:
        self._build = build
        self.states = states
        self.view: w.Widget | None = None  # None until built
        self.closed = False

    def attach(self, session) -> list:
        return [state.join(session) for state in self.states]

    def get(self) -> w.Widget:
        if self.view is None:
            if self.closed:  # building it would start its requests and loops, which nothing would stop
                raise RuntimeError("this dashboard is closed: its parts that were never shown are not built any more")
            self.view = self._build()
        return self.view

    def close(self) -> None:
        """After its dashboard is closed: a part never built stays unbuilt (a built one is closed by its owner)."""
        self.closed = True


def join_when_shown(container: w.Tab | w.Accordion, pages: dict[int, Callable[[], w.Widget] | w.Widget]) -> None:
    """Each of ``pages`` (a widget, or a function that makes it) joins its slot of ``container`` (an empty Box)
    when that slot is first selected: the browser draws only the pages shown (and bqplot drawn into a hidden tab,
    with no size, logs SVG errors)."""
    def shown(change) -> None:
        index = change["new"]
        page = pages.get(index) if index is not None else None
        if page is None:
            return
        try:
            widget = page() if callable(page) else page
        except Exception as exc:  # noqa: BLE001 - a part that cannot be drawn says so in its place (tried again)
            log.exception("a dashboard part could not be drawn")
            container.children[index].children = [w.HTML(
                f"<span style='color:#c62828'>This part could not be drawn: {html.escape(str(exc))}. Open the tab "
                "again to retry.</span>")]
            return
        del pages[index]
        container.children[index].children = [widget]

    container.observe(shown, "selected_index")
    shown({"new": container.selected_index})
