"""SkyState: what the sky view shows, as plain traits (testable without a browser)."""

from __future__ import annotations

import traitlets as t
from astropy.coordinates import SkyCoord

from widgets.session import SessionState
from widgets.sky.footprints import footprints_from_table

OFFLINE_SURVEY = "gamma-portal:offline-sky"
# Remote HiPS offered when the network is up (CDS identifiers, resolved by Aladin Lite).
REMOTE_SURVEYS = {
    "DSS2 colour (optical)": "CDS/P/DSS2/color",
    "Mellinger colour (optical, wide field)": "CDS/P/Mellinger/color",
    "2MASS colour (near infrared)": "CDS/P/2MASS/color",
    "Planck HFI colour (microwave)": "CDS/P/PLANCK/R2/HFI/color",
    "Fermi-LAT colour (gamma rays)": "CDS/P/Fermi/color",
}
OFFLINE_LABEL = "Offline sky (no survey)"
DEFAULT_ONLINE_SURVEY = REMOTE_SURVEYS["DSS2 colour (optical)"]


class SkyState(SessionState):
    """The target and search circle, the observations' footprints, the selection and the coverage.

    The target (``target``, ``target_name``, ``radius`` in degrees) and the selection (sorted row numbers
    of the results) are the session's: the sky reads them there and writes them back, so a selection means
    the same thing in the table and in the sky. ``footprints`` is a list of ``(row, stcs)`` drawn from
    the session's results (rows numbered in table order), or set from code.
    """

    # the last two are its overlay's (widgets.sky.overlay.OverlayState, which the view joins to the same session):
    # a completed skymap job's maps, and the sky-map products opened
    observes = ("target", "target_name", "radius", "results", "selection", "active_job", "product")
    publishes = ("selection", "target")

    footprints = t.List()
    survey = t.Unicode(OFFLINE_SURVEY)
    online = t.Bool(False)
    coverage = t.Dict()  # MOC JSON {order: [cells]}
    coverage_note = t.Unicode("")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.watch(self._new_results, "results")
        if self.session.results is not None:
            self._new_results()

    def _new_results(self, _change=None) -> None:
        table = self.session.results
        self.footprints = footprints_from_table(table) if table is not None else []

    # -- the session's target and selection ------------------------------------------------------
    @property
    def target(self) -> SkyCoord | None:
        return self.session.target

    @target.setter
    def target(self, coord: SkyCoord | None) -> None:
        s = self.session
        s.set_target(coord, s.radius, s.target_name, s.target_size)

    @property
    def target_name(self) -> str:
        return self.session.target_name

    @target_name.setter
    def target_name(self, name: str) -> None:
        s = self.session
        s.set_target(s.target, s.radius, name, s.target_size)

    @property
    def radius(self) -> float:
        """Degrees; 0 hides the search circle."""
        return self.session.radius

    @radius.setter
    def radius(self, degrees: float) -> None:
        s = self.session
        s.set_target(s.target, degrees, s.target_name, s.target_size)

    @property
    def selection(self) -> list[int]:
        return list(self.session.selection)

    @selection.setter
    def selection(self, rows) -> None:
        self.session.selection = list(rows)

    def surveys(self) -> dict[str, str]:
        """The surveys to offer: remote HiPS only when online, the offline sky always."""
        offered = dict(REMOTE_SURVEYS) if self.online else {}
        offered[OFFLINE_LABEL] = OFFLINE_SURVEY
        return offered

    def click(self, rows: list[int], additive: bool = False) -> None:
        """A click on footprints: select their rows; with Ctrl/Shift, toggle them in the selection."""
        rows = set(rows)
        if additive:
            self.selection = sorted(set(self.selection) ^ rows)
        else:
            self.selection = sorted(rows)

    def load_coverage(self, url: str, client=None) -> bool:
        """Fetch a MOC JSON (the archive's ``/coverage/moc.json``) now; the note says what happened."""
        return self.apply_coverage(fetch_coverage(url, client))

    def apply_coverage(self, fetched: tuple[dict, str]) -> bool:
        self.coverage, self.coverage_note = fetched
        return bool(self.coverage)


def fetch_coverage(url: str, client=None) -> tuple[dict, str]:
    """I/O only (any thread): the MOC JSON at ``url`` and a note ("" when it came)."""
    from widgets.client import ServiceError, default_client

    try:
        moc = (client or default_client()).get_json(url)
    except ServiceError as exc:
        return {}, f"coverage unavailable: {exc.message[:1].lower()}{exc.message[1:].rstrip('.')}"
    moc = moc if isinstance(moc, dict) else {}
    return moc, "" if moc else "the archive is empty: no coverage to show"
