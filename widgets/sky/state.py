"""SkyState: what the sky view shows, as plain traits (testable without a browser)."""

from __future__ import annotations

import traitlets as t
from astropy.coordinates import SkyCoord

from widgets.session import valid_selection
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


class SkyState(t.HasTraits):
    """The target and search circle, the observations' footprints, the selection and the coverage.

    ``footprints`` is a list of ``(row, stcs)``: row numbers index the results table, so a selection
    (a sorted list of rows) means the same thing in the table and in the sky.
    """

    target = t.Instance(SkyCoord, allow_none=True)
    target_name = t.Unicode("")
    radius = t.Float(0.0)  # degrees; 0 hides the search circle
    footprints = t.List()
    selection = t.List(t.Int())
    survey = t.Unicode(OFFLINE_SURVEY)
    online = t.Bool(False)
    coverage = t.Dict()  # MOC JSON {order: [cells]}
    coverage_note = t.Unicode("")

    @t.validate("selection")
    def _sorted_unique(self, proposal):
        return valid_selection(proposal["value"])  # rows of the results, which the session bounds

    def surveys(self) -> dict[str, str]:
        """The surveys to offer: remote HiPS only when online, the offline sky always."""
        offered = dict(REMOTE_SURVEYS) if self.online else {}
        offered[OFFLINE_LABEL] = OFFLINE_SURVEY
        return offered

    def set_results(self, table, region_column: str = "s_region") -> None:
        """Footprints from a results table (rows are numbered in table order); clears the selection."""
        with self.hold_trait_notifications():
            self.selection = []
            self.footprints = footprints_from_table(table, region_column) if table is not None else []

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
