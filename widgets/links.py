"""Wire widgets to one :class:`~widgets.session.Session`: ``connect(...)`` is the one call.

    links = connect(target=target, search=search, sky=sky, launcher=launcher, monitor=monitor)
    links.session.target, links.session.selected, links.session.active_job
    for link in links: link.unlink()          # undo

Each widget joins the session by its own ``attach(session)`` (its class says what it ``observes`` and
``publishes``): the library's widgets move their state into the session (``state.join(session)``), so
the values they share are the session's alone, and ``unlink()`` gives each a session of its own again.
``connect`` knows no widget type. Today:

- the target search sets the session's target; the sky view and the search's cone follow it;
- the search's results and its selected rows are the session's; the sky's footprints and its
  selection are drawn from them, and a click in the sky selects there (one selection, table and sky);
- the launcher pre-fills from the session's target (its position and, where a catalog gives it,
  its size) and selected rows; a job it submits becomes the session's active job, which the monitor
  lists at once (they share one client);
- the job chosen in the monitor is the active job; "run again" and "joint fit" (``joint_spectrum``
  with the completed spectrum jobs picked in the monitor) are the session's draft, which the launcher fills;
- the DataLink panel shows the selected rows' links;
- an SED view follows the active job (a spectrum or a joint fit; a job it is given to follow becomes the
  active job), shows catalog counterparts of the target and the session's catalog sources.

A widget of another kind may join with any links it likes (:class:`Observer` undoes an observer like a
link). Nothing links private traits of third-party widgets.
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


def connect(*widgets, session: Session | None = None, **named) -> Connection:
    """Wire each widget given (positional or named: ``target=``, ``search=``, any name) to ``session`` (a new one
    by default) through its own ``attach(session)``; see :mod:`widgets.session` for the rule."""
    session = session or Session()
    links = Connection(session)
    for widget in (*widgets, *named.values()):
        if widget is None:
            continue
        attach = getattr(widget, "attach", None)
        if attach is None:
            raise TypeError(f"{type(widget).__name__} cannot join a session: it has no attach(session) method "
                            "(see widgets.session)")
        links.extend(attach(session))
    return links
