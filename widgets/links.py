"""Wire widgets to one :class:`~widgets.session.Session`: ``connect(...)`` is the one call.

    links = connect(target=target, search=search, sky=sky, launcher=launcher, monitor=monitor)
    links.session.target, links.session.selected, links.session.active_job
    for link in links: link.unlink()          # undo

Each widget is wired to the session only, never to another widget:

- the target search sets the session's target; the sky view and the search's cone follow it;
- the search's results and its selected rows are the session's; the sky's footprints and its
  selection follow them (one selection shared by table and sky);
- the launcher pre-fills from the session's target (its position and, where a catalog gives it,
  its size) and selected rows; a job it submits becomes
  the session's active job and appears in the monitor at once (they share one client);
- the job chosen in the monitor becomes the active job; "run again" fills the launcher, and so does
  "joint fit" (``joint_spectrum`` with the completed spectrum jobs picked in the monitor);
- an SED view follows the active job (a spectrum or a joint fit) and shows catalog counterparts of the target.

Nothing links private traits of third-party widgets.
"""

from __future__ import annotations

import traitlets as t

from widgets.session import Session

__all__ = ["Connection", "connect"]


class Connection(list):
    """The links ``connect`` made (each with ``unlink()``), and the session they share."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def unlink(self) -> None:
        for link in self:
            link.unlink()
        self.clear()


class Observer:
    """An observer of ``owner``'s traits that can be undone like a traitlets link."""

    def __init__(self, owner: t.HasTraits, handler, names, fire: bool = False) -> None:
        self.owner, self.handler, self.names = owner, handler, names
        owner.observe(handler, names)
        if fire:
            handler(None)

    def unlink(self) -> None:
        self.owner.unobserve(self.handler, self.names)


class Callback:
    """A callback registered with ``register(callback, remove=False)``, undone by ``unlink()``."""

    def __init__(self, register, callback) -> None:
        self.register, self.callback = register, callback
        register(callback)

    def unlink(self) -> None:
        self.register(self.callback, remove=True)


def _footprints(table):
    from widgets.sky.footprints import footprints_from_table

    return footprints_from_table(table) if table is not None else []


def _target_to_session(target, session: Session) -> Callback:
    def found(coord, radius, name):
        session.set_target(coord, radius.deg, name, getattr(target, "size", None))
    link = Callback(target.on_target, found)
    if target.target is not None:
        found(target.target, target.radius, target.name)
    return link


def _session_to_sky(session: Session, sky) -> Observer:
    def moved(_change):
        if session.target is None:
            return
        with sky.state.hold_trait_notifications():
            sky.state.target_name = session.target_name
            sky.state.radius = session.radius
            sky.state.target = session.target
    return Observer(session, moved, "target_moves", fire=session.target is not None)


def _session_to_search(session: Session, search) -> Observer:
    def moved(_change):
        if session.target is not None:
            search.set_cone(session.target, session.radius)
    return Observer(session, moved, "target_moves", fire=session.target is not None)


def _session_to_launcher(session: Session, launcher) -> list:
    state = launcher.state

    def moved(_change):
        state.set_target(session.target, session.target_name, session.target_size)
    return [t.dlink((session, "selected"), (state, "rows")), Observer(session, moved, "target_moves", fire=True)]


def connect(target=None, search=None, sky=None, launcher=None, monitor=None, sed=None,
            session: Session | None = None) -> Connection:
    """Wire the given widgets to ``session`` (a new one by default); see the module docstring."""
    session = session or Session()
    links = Connection(session)
    if search is not None:
        session.results = search.state.results
        links.append(t.dlink((search.state, "results"), (session, "results")))
        session.selection = list(search.state.selection)
        links.append(t.link((search.state, "selection"), (session, "selection")))
    if sky is not None:
        links.append(t.dlink((session, "results"), (sky.state, "footprints"), _footprints))
        sky.state.selection = list(session.selection)
        links.append(t.link((session, "selection"), (sky.state, "selection")))
    if target is not None:
        links.append(_target_to_session(target, session))
    if sky is not None:
        links.append(_session_to_sky(session, sky))
    if search is not None:
        links.append(_session_to_search(session, search))
    if launcher is not None:
        links.extend(_session_to_launcher(session, launcher))
        links.append(Callback(launcher.on_submit, lambda job: setattr(session, "active_job", job)))
        if monitor is not None:
            links.append(Callback(launcher.on_submit, monitor.add))
            links.append(Callback(monitor.on_rerun, launcher.fill))
    if monitor is not None:
        links.append(t.dlink((monitor.state, "selected"), (session, "active_job")))
    if sed is not None:
        links.extend(_sed_links(session, sed))
    return links


def _sed_links(session: Session, sed) -> list:
    """An SED view follows the active job (a spectrum or a joint fit) and shows the target's catalog counterparts."""
    from widgets.sed.live import KINDS

    def job(_change):
        handle = session.active_job
        if handle is not None and handle.definition in KINDS:
            sed.follow(handle)

    def moved(_change):
        if session.target is not None and hasattr(sed, "set_target"):
            sed.set_target(session.target, session.target_name)
    return [Observer(session, job, "active_job", fire=session.active_job is not None),
            Observer(session, moved, "target_moves", fire=session.target is not None)]
