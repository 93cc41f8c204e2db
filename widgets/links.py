"""Connect widgets' states with traitlets link/dlink: one selection shared by table and sky.

``connect(target=..., search=..., sky=...)`` wires whatever is given and returns the links, so that
they can be undone (``link.unlink()``). Nothing links private traits of third-party widgets.
"""

from __future__ import annotations

import traitlets as t


def link_selection(search, sky) -> t.link:
    """The results table's selected rows and the highlighted footprints are one piece of state."""
    sky.state.selection = list(search.state.selection)
    return t.link((search.state, "selection"), (sky.state, "selection"))


def link_results(search, sky) -> t.dlink:
    """Footprints follow the search results (row numbers are the results' rows)."""
    def footprints(table):
        from widgets.sky.footprints import footprints_from_table

        return footprints_from_table(table) if table is not None else []

    return t.dlink((search.state, "results"), (sky.state, "footprints"), footprints)


class TargetLink:
    """A target search wired to a sky view and an ObsCore search; ``unlink()`` undoes it."""

    def __init__(self, target, search=None, sky=None) -> None:
        self.target, self.search, self.sky = target, search, sky
        target.on_target(self.moved)
        if target.target is not None:
            self.moved(target.target, target.radius, target.name)

    def moved(self, coord, radius, name) -> None:
        if self.sky is not None:
            with self.sky.state.hold_trait_notifications():
                self.sky.state.target_name = name
                self.sky.state.radius = float(radius.to_value("deg"))
                self.sky.state.target = coord
        if self.search is not None:
            self.search.set_cone(coord, radius)

    def unlink(self) -> None:
        self.target.on_target(self.moved, remove=True)


def link_target(target, search=None, sky=None) -> list[TargetLink]:
    """A found target moves the sky view and sets the search's cone."""
    return [TargetLink(target, search, sky)]


def connect(target=None, search=None, sky=None) -> list:
    links: list = []
    if search is not None and sky is not None:
        links.append(link_results(search, sky))
        links.append(link_selection(search, sky))
    if target is not None:
        links.extend(link_target(target, search, sky))
    return links
