"""Session: the one piece of state the dashboard's widgets share (glue-jupyter's shared data
collection, without glue's weight).

It holds what the journey carries from one widget to the next: the target, the archive search's
results and the rows selected (in the table or the sky), the active job (chosen in the monitor,
or just submitted), the job to prepare next (a "Run again" or a "Joint fit" for the launcher) and
the catalog sources the SED shows besides the job (added by name).

The rule: the session is the one source of truth for what widgets share. A widget never talks to
another widget: it publishes what it makes to the session and observes there what others made.
Each widget says which of the session's traits it observes and publishes (``observes`` and
``publishes``, class attributes) and wires itself in ``attach(session)``, which returns its links;
:func:`widgets.links.connect` only calls ``attach`` on each widget given, so a new kind of widget
joins a dashboard without any change to ``connect``.
"""

from __future__ import annotations

import numpy as np
import traitlets as t
from astropy.coordinates import SkyCoord
from astropy.table import Table

from portal.seam.sizes import SourceSize

__all__ = ["JobDraft", "Session", "valid_selection"]


def valid_selection(rows, n: int | None = None) -> list[int]:
    """Row numbers as a selection of a table of ``n`` rows (any number when None): integers within it, each
    once, sorted."""
    return sorted({int(r) for r in rows if 0 <= int(r) and (n is None or int(r) < n)})


class JobDraft:
    """A job to prepare in a launcher: its kind and parameters ("Run again", "Joint fit"). Each draft is news,
    even one equal to the last (the same job run again twice)."""

    __slots__ = ("definition", "parameters")

    def __init__(self, definition: str, parameters: dict) -> None:
        self.definition, self.parameters = definition, dict(parameters)

    def __repr__(self) -> str:
        return f"JobDraft({self.definition!r}, {self.parameters!r})"


class Session(t.HasTraits):
    target = t.Instance(SkyCoord, allow_none=True)
    target_name = t.Unicode("")
    radius = t.Float(0.0)  # degrees, the search radius around the target
    target_size = t.Instance(SourceSize, allow_none=True)  # the target's angular size, when a catalog gives it
    target_moves = t.Int(0)  # counts set_target calls: the same target with a new radius is news too
    results = t.Instance(Table, allow_none=True)  # the archive search's rows
    selection = t.List(t.Int())  # row numbers of ``results``, sorted
    selected = t.Instance(Table, allow_none=True, read_only=True)  # the selected rows (derived)
    active_job = t.Instance("widgets.jobs.handle.JobHandle", allow_none=True)
    draft = t.Instance(JobDraft, allow_none=True)  # the job a launcher is to prepare next
    sed_sources = t.List()  # catalog sources an SED was asked to show besides the job: (catalog tag, name) pairs

    def set_target(self, coord: SkyCoord | None, radius_deg: float, name: str = "",
                   size: SourceSize | None = None) -> None:
        with self.hold_trait_notifications():
            self.target_name = name
            self.target_size = size
            self.radius = float(radius_deg)
            self.target = coord
            self.target_moves += 1

    def prepare(self, definition: str, parameters: dict) -> None:
        """Ask for a job to be prepared (a launcher fills its form with it)."""
        self.draft = JobDraft(definition, parameters)

    @t.validate("selection")
    def _valid_selection(self, proposal):
        return valid_selection(proposal["value"], 0 if self.results is None else len(self.results))

    @t.observe("results")
    def _new_results(self, _change) -> None:
        self.selection = []
        self._derive()

    @t.observe("selection")
    def _derive(self, _change=None) -> None:
        rows = None
        if self.results is not None and self.selection:
            rows = self.results[np.asarray(self.selection, dtype=int)]
        self.set_trait("selected", rows)
