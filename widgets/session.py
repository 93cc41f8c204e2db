"""Session: the one piece of state the dashboard's widgets share (glue-jupyter's shared data
collection, without glue's weight).

It holds what the journey carries from one widget to the next: the target, the archive search's
results and the rows selected (in the table or the sky), the active job (chosen in the monitor,
just submitted, or followed in the SED), the job to prepare next (a "Run again" or a "Joint fit" for
the launcher) and the catalog sources the SED shows besides the job (added by name).

The rule: the session is the one source of truth for what widgets share. Each widget's state is a
:class:`SessionState`: it keeps no copy of a shared value, but reads it from its ``session`` and writes
it there (``state.selection``, ``state.target`` are the session's), and it reacts to the session's
changes through :meth:`SessionState.watch`. A widget never talks to another widget. Each state class
says which of the session's traits it observes and publishes (``observes`` and ``publishes``, which its
widget repeats); a widget made alone has a session of its own, and ``attach(session)`` moves its state
into a shared one (:meth:`SessionState.join`), so :func:`widgets.links.connect`, which only calls
``attach``, takes a new kind of widget without changing.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import traitlets as t
from astropy.coordinates import SkyCoord
from astropy.table import Table

from portal.seam.sizes import SourceSize

__all__ = ["JobDraft", "Membership", "Session", "SessionState", "valid_selection"]


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


class Rows(t.Instance):
    """An astropy Table trait whose change is told whenever another table is set. traitlets asks ``old == new``
    to stay silent on equal values; for two tables that compares every cell (0.7 s for 100,000 rows of 50
    columns), then cannot say "equal" for more than one row. A search's answer is news even when it equals the
    last one; the same table set again is not (a table changed in place is not news either: set a new one)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(Table, **kwargs)

    def set(self, obj, value) -> None:
        new = self._validate(obj, value)
        old = obj._trait_values.get(self.name, self.default_value)
        obj._trait_values[self.name] = new
        if new is not old:
            obj._notify_trait(self.name, old, new)


# the session's traits in the order a change is told (a selection after its results); ``draft`` is news, never state
SHARED = ("target", "target_name", "radius", "target_size", "target_moves", "results", "selection", "selected",
          "active_job", "sed_sources")


class Session(t.HasTraits):
    target = t.Instance(SkyCoord, allow_none=True)
    target_name = t.Unicode("")
    radius = t.Float(0.0)  # degrees, the search radius around the target
    target_size = t.Instance(SourceSize, allow_none=True)  # the target's angular size, when a catalog gives it
    target_moves = t.Int(0)  # counts set_target calls: the same target with a new radius is news too
    results = Rows(allow_none=True)  # the archive search's rows
    selection = t.List(t.Int())  # row numbers of ``results``, sorted (any rows while there are no results)
    selected = Rows(allow_none=True, read_only=True)  # the selected rows (derived)
    active_job = t.Instance("widgets.jobs.handle.JobHandle", allow_none=True)
    draft = t.Instance(JobDraft, allow_none=True)  # the job a launcher is to prepare next
    sed_sources = t.List()  # catalog sources an SED was asked to show besides the job: (catalog tag, name) pairs
    # a product of the archive to show (its SED, or its map on the sky): news, like ``draft``, never state
    product = t.Instance("widgets.products.ref.OpenProduct", allow_none=True)

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

    def add_source(self, tag: str, name: str) -> None:
        """Show a catalog source in the SEDs (once)."""
        if (tag, name) not in self.sed_sources:
            self.sed_sources = [*self.sed_sources, (tag, name)]

    def adopt(self, other: Session, names) -> None:
        """Take from ``other`` (a widget's own session, as the widget joins this one) the values of ``names`` that
        it holds and this one does not: what the widget published before it joined is not lost."""
        names = set(names)
        if "target" in names and other.target is not None and self.target is None:
            self.set_target(other.target, other.radius, other.target_name, other.target_size)
        if "results" in names and other.results is not None and self.results is None:
            self.results = other.results
            self.selection = list(other.selection)  # a selection goes with its results
        if "active_job" in names and other.active_job is not None and self.active_job is None:
            self.active_job = other.active_job
        if "sed_sources" in names:
            for tag, name in other.sed_sources:
                self.add_source(tag, name)

    def detached(self) -> Session:
        """A session of its own with this one's values (a widget leaving this one keeps what it showed)."""
        copy = Session(target=self.target, target_name=self.target_name, radius=self.radius,
                       target_size=self.target_size, target_moves=self.target_moves, results=self.results,
                       active_job=self.active_job, sed_sources=list(self.sed_sources))
        copy.selection = list(self.selection)
        return copy

    @t.validate("selection")
    def _valid_selection(self, proposal):
        return valid_selection(proposal["value"], None if self.results is None else len(self.results))

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


def _differs(a, b) -> bool:
    if a is b:
        return False
    if isinstance(a, (int, float, str, list, tuple)) and type(a) is type(b):
        return a != b
    return True


class SessionState(t.HasTraits):
    """A widget's state whose shared values are its ``session``'s (see the module's rule).

    Subclasses read and write shared values through properties on ``self.session``, and react to their
    changes with :meth:`watch` (its views too), never with ``session.observe``: a watcher follows the state
    into the session it joins. ``observes`` and ``publishes`` name the session traits it reads and writes.
    """

    observes: ClassVar[tuple[str, ...]] = ()
    publishes: ClassVar[tuple[str, ...]] = ()
    session = t.Instance(Session)

    def __init__(self, *, session: Session | None = None, **kwargs) -> None:
        self._watchers: list[tuple] = []  # (handler, names), in the order they were asked for
        self.session = session if session is not None else Session()
        super().__init__(**kwargs)

    def watch(self, handler, names) -> None:
        """Call ``handler(change)`` when one of the session's ``names`` changes, in whichever session this state
        is in; also when joining a session whose value differs."""
        names = (names,) if isinstance(names, str) else tuple(names)
        self._watchers.append((handler, names))
        self.session.observe(handler, list(names))

    def unwatch(self, handler, names) -> None:
        names = (names,) if isinstance(names, str) else tuple(names)
        if (handler, names) in self._watchers:
            self._watchers.remove((handler, names))
            self.session.unobserve(handler, list(names))

    def join(self, session: Session) -> Membership:
        """Share ``session`` from now on (what ``attach`` does); the link's ``unlink()`` gives this state a session
        of its own again, with the values it showed."""
        return Membership(self, session)

    @t.observe("session")
    def _rebind(self, change) -> None:
        old, new = change["old"], change["new"]
        if not isinstance(old, Session):
            return  # the first session (traitlets gives no old value)
        for handler, names in self._watchers:
            old.unobserve(handler, list(names))
        new.adopt(old, self.publishes)
        for handler, names in self._watchers:
            new.observe(handler, list(names))
        for name in SHARED:  # what differs is news to this state: it hears it as a change
            before, after = getattr(old, name), getattr(new, name)
            if not _differs(before, after):
                continue
            event = t.Bunch(name=name, old=before, new=after, owner=new, type="change")
            for handler, names in list(self._watchers):
                if name in names:
                    handler(event)


class Membership:
    """A state's place in a shared session, undone like a traitlets link (``unlink()``)."""

    def __init__(self, state: SessionState, session: Session) -> None:
        self.state, self.session = state, session
        state.session = session

    def unlink(self) -> None:
        if self.state.session is self.session:
            self.state.session = self.session.detached()
