"""SearchState: the service, the form, the ADQL, the results and the selected rows of an ObsCore search."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future

import numpy as np
import traitlets as t
from astropy.table import Table

from widgets.background import Background, UsesBackground
from widgets.client import PortalClient, default_client
from widgets.obscore import query as tap_query
from widgets.obscore.code import pyvo_code
from widgets.obscore.export import to_bytes
from widgets.obscore.form import FormError, ObsCoreForm
from widgets.obscore.services import Column, Service, describe, embedded
from widgets.session import SessionState

log = logging.getLogger("widgets.obscore")

SUGGESTED = ("obs_collection", "facility_name", "instrument_name", "target_name")
NO_FOOTPRINTS = ("This service gives no field of view for its observations (s_region is empty), so "
                 "'field of view overlaps' cannot match any: the search looked instead for pointings closer "
                 "than the radius plus half the field of view (s_fov).")


def distinct_values(service: Service, columns: list[str], limit: int = 500,
                    client: PortalClient | None = None) -> dict[str, list[str]]:
    """The distinct values of a few text columns (for suggestions); columns that fail are left out."""
    tap = (client or default_client()).tap_service(service.url)
    out = {}
    for column in columns:
        try:
            table = tap.run_sync(f"SELECT DISTINCT {column} FROM {service.table}", maxrec=limit).to_table()
        except Exception:  # noqa: BLE001 - suggestions are a convenience
            continue
        values = {str(v).strip() for v in table[column] if not np.ma.is_masked(v) and str(v).strip()}
        out[column] = sorted(values, key=str.lower)
    return out


class SearchState(UsesBackground, SessionState):
    """ObsCore search over TAP. The ADQL follows the form until the user edits it by hand.

    ``results`` is an astropy Table (None before the first run); ``selection`` lists selected row
    numbers of ``results`` (sorted). Both are the session's: the search publishes its rows there, and
    shares the selection with whoever else selects (the sky). The cone follows the session's target.
    ``status`` is ``idle``, ``running``, ``done`` or ``error``;
    ``message`` says what happened (plain text, its lines kept); ``problems`` lists what is wrong
    with the form. ``stale`` is True while the results shown are those of an earlier search because
    the latest one failed.

    A "field of view overlaps" search that finds nothing on a service whose ``s_region`` is empty
    (DaCHS publishing H.E.S.S. DR1 does this) is run again on the pointings (see :data:`NO_FOOTPRINTS`).
    """

    observes = ("target_moves", "results", "selection")
    publishes = ("results", "selection")

    service = t.Instance(Service)
    form = t.Instance(ObsCoreForm)
    adql = t.Unicode("")
    editing = t.Bool(False)
    mode = t.Enum(["sync", "async"], "sync")
    maxrec = t.Int(10_000)
    status = t.Enum(["idle", "running", "done", "error"], "idle")
    message = t.Unicode("")
    problems = t.List(t.Unicode())
    overflow = t.Bool(False)
    stale = t.Bool(False)
    columns = t.List(t.Instance(Column))
    columns_note = t.Unicode("")
    suggestions = t.Dict()  # column -> distinct values, offered in the form's text fields

    def __init__(self, service: Service | None = None, client: PortalClient | None = None,
                 background: Background | None = None, **kwargs) -> None:
        kwargs.setdefault("form", ObsCoreForm())
        super().__init__(service=service or embedded(), **kwargs)
        self.client = client or default_client()
        self.background = background
        self._run_lock = threading.Lock()
        self._footprintless: set[str] = set()  # services found to give no s_region
        self.form.table = self.service.table
        self.form.observe(self._on_form_edit)
        self._on_form_edit()
        self.watch(self._moved, "target_moves")

    # -- what the session holds -----------------------------------------------------------------------
    @property
    def results(self) -> Table | None:
        return self.session.results

    @results.setter
    def results(self, table: Table | None) -> None:
        self.session.results = table  # the session clears the selection: its rows meant the old results

    @property
    def selection(self) -> list[int]:
        return list(self.session.selection)

    @selection.setter
    def selection(self, rows) -> None:
        self.session.selection = list(rows)  # the session keeps rows of the results, each once, sorted

    def _moved(self, _change=None) -> None:
        if self.session.target is not None:
            self.set_cone(self.session.target, self.session.radius)

    def set_cone(self, target, radius) -> None:
        """Search around ``target`` (a SkyCoord) within ``radius`` (an Angle, or degrees)."""
        icrs = target.icrs
        deg = radius.to_value("deg") if hasattr(radius, "to_value") else float(radius)
        with self.form.hold_trait_notifications():
            self.form.input_errors = {k: v for k, v in self.form.input_errors.items()
                                      if k not in ("ra", "dec", "radius")}
            self.form.ra = round(float(icrs.ra.deg), 6)
            self.form.dec = round(float(icrs.dec.deg), 6)
            self.form.radius = round(deg, 6)

    # -- the query ----------------------------------------------------------------------------------
    def _on_form_edit(self, _change=None) -> None:
        self.problems = self.form.problems()
        if self.editing:
            return
        try:
            self.adql = self.form.adql()
        except FormError:
            pass  # the previous query stays; `problems` says why the form cannot make a new one

    @t.observe("editing")
    def _on_editing(self, change) -> None:
        if not change["new"]:
            self._on_form_edit()  # back to the form: the ADQL follows it again

    def set_service(self, service: Service, background: bool = False) -> None:
        """Use another TAP service; its table's columns are read from VOSI /tables."""
        self.service = service
        self.form.table = service.table
        self.columns, self.columns_note = [], f"reading the columns of {service.table}..."
        if background:
            self.bg.run(self._read_columns, service, on_done=self._apply_columns)
        else:
            self._apply_columns(self._read_columns(service))

    def describe(self) -> bool:
        """Read the current service's columns now (in the calling thread); True when they came."""
        return self._apply_columns(self._read_columns(self.service))

    def _read_columns(self, service: Service) -> tuple:
        """I/O only (any thread): the columns, or the failure, and the suggestions."""
        try:
            columns = describe(service, client=self.client)
        except Exception as exc:  # noqa: BLE001 - a service down or without /tables
            return service, None, exc, {}
        names = [c.name for c in columns]
        suggestions = {} if service.remote else distinct_values(service, [c for c in SUGGESTED if c in names],
                                                                client=self.client)
        return service, columns, None, suggestions

    def _apply_columns(self, read: tuple) -> bool:
        service, columns, exc, suggestions = read
        if service is not self.service:
            return False  # the user chose another service meanwhile
        if columns is None:
            self.columns_note = (f"could not read the columns of {service.table} at {service.url} "
                                 f"({type(exc).__name__}); the form assumes standard ObsCore")
            self.form.columns = []
            return False
        self.columns = columns
        self.form.columns = [c.name for c in columns]
        extra = " including the high-energy ones" if self.form.high_energy() else ""
        self.columns_note = f"{service.table}: {len(columns)} columns{extra}"
        if suggestions:
            self.suggestions = suggestions
        return True

    def run(self) -> bool:
        """Run the query (in the calling thread); True when results arrived."""
        if not self._begin():
            return False
        return self._finish(self._query())

    def run_in_background(self) -> Future | None:
        """Run the query in a worker thread; its results are applied on the kernel's loop."""
        if not self._begin():
            return None
        return self.bg.run(self._query, on_done=self._finish, on_error=self._crashed)

    def _begin(self) -> bool:
        if not self.editing and self.problems:
            self._failed("The form cannot make a query: " + "; ".join(self.problems))
            return False
        if not self._run_lock.acquire(blocking=False):
            self.message = "A query is already running."
            return False
        self.status, self.message = "running", f"Running the query on {self.service.url} ({self.mode})..."
        return True

    def _query(self) -> tap_query.Outcome:
        """I/O only (any thread)."""
        service, fov = self.service, self._fov_search()
        if fov and service.key in self._footprintless:
            return self._pointing_search(service)
        outcome = tap_query.run(service, self.adql, self.maxrec, self.mode, client=self.client)
        if fov and outcome.ok and len(outcome.table) == 0 and not tap_query.has_footprints(service, self.client):
            self._footprintless.add(service.key)
            return self._pointing_search(service)
        return outcome

    def _fov_search(self) -> bool:
        return not self.editing and self.form.cone_mode == "fov" and self.form.has_cone()

    def _pointing_search(self, service: Service) -> tap_query.Outcome:
        query = self.form.adql(cone_mode="pointing_fov")
        outcome = tap_query.run(service, query, self.maxrec, self.mode, client=self.client)
        outcome.adql = query
        if outcome.ok:
            outcome.message = f"{outcome.message}. {NO_FOOTPRINTS}"
        return outcome

    def _failed(self, message: str) -> None:
        with self.hold_trait_notifications():
            self.stale = self.results is not None
            self.status, self.message = "error", message[:1].upper() + message[1:]

    def _crashed(self, exc: Exception) -> None:
        self._run_lock.release()
        log.warning("query failed", exc_info=exc)
        self._failed(f"The query failed: {exc}")

    def _finish(self, outcome: tap_query.Outcome) -> bool:
        try:
            if not outcome.ok:
                self._failed(outcome.message)
                return False
            try:
                with self.hold_trait_notifications():
                    self.overflow = outcome.overflow
                    self.results = outcome.table
                    self.stale = False
                    if outcome.adql:
                        self.adql = outcome.adql
                    self.status, self.message = "done", outcome.message
            except Exception as exc:  # noqa: BLE001 - a view failing on these rows: a message, not a traceback
                log.warning("results could not be shown", exc_info=True)
                self._failed(f"The results arrived but could not be shown: {exc}")
                return False
            return True
        finally:
            self._run_lock.release()

    # -- results ------------------------------------------------------------------------------------
    @property
    def selected(self) -> Table | None:
        if self.results is None:
            return None
        return self.results[np.asarray(self.selection, dtype=int)]

    def export(self, fmt: str = "VOTable", rows: list[int] | None = None) -> bytes:
        """The selected rows (or ``rows``) as file content in ``fmt`` ("VOTable" or "CSV")."""
        if self.results is None:
            raise ValueError("there are no results yet: run a search first")
        chosen = self.selection if rows is None else rows
        return to_bytes(self.results[np.asarray(chosen, dtype=int)], fmt)

    def pyvo_code(self) -> str:
        return pyvo_code(self.service, self.adql, self.maxrec, self.mode)
