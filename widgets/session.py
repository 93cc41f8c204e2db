"""Session: the one piece of state the dashboard's widgets share (glue-jupyter's shared data
collection, without glue's weight).

It holds what the journey carries from one widget to the next: the target, the archive search's
results and the rows selected (in the table or the sky), the active job (chosen in the monitor,
or just submitted) and the sources an SED shows. Widgets never talk to each other: they observe
the session, and :func:`widgets.links.connect` wires each one to it.
"""

from __future__ import annotations

import numpy as np
import traitlets as t
from astropy.coordinates import SkyCoord
from astropy.table import Table

from portal.catalogs.extent import SourceSize

__all__ = ["Session"]


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
    sed_sources = t.List()  # what the SED shows besides the active job: (catalog tag, source name) pairs

    def set_target(self, coord: SkyCoord | None, radius_deg: float, name: str = "",
                   size: SourceSize | None = None) -> None:
        with self.hold_trait_notifications():
            self.target_name = name
            self.target_size = size
            self.radius = float(radius_deg)
            self.target = coord
            self.target_moves += 1

    @t.validate("selection")
    def _valid_selection(self, proposal):
        n = 0 if self.results is None else len(self.results)
        return sorted({int(r) for r in proposal["value"] if 0 <= int(r) < n})

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
