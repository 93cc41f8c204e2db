"""The results in a data grid, sortable and filterable, with row selection bound to the state.

Up to :data:`STREAM_ABOVE` rows the grid is ipydatagrid's ``DataGrid`` (the rows travel to the
browser once); above, its ``StreamingDataGrid`` (only the rows in view travel, so 100,000 rows stay
fast). ``StreamingDataGrid`` 1.4 logs a TypeError in the browser console on every cell click (its
click event looks the row up in data it never received: ``getDatasetRowFromView``), which is why
ordinary searches (MAXREC 10,000 by default) use the plain grid; :func:`make_grid` chooses.

The grid's selections are rectangles of *view* rows (after sorting and filtering); the state's
selection is a list of *table* rows. :class:`RowMapping` converts between the two.

Times are a display layer: ObsCore's ``t_min``/``t_max`` are MJD; the grid shows them as UTC dates to the
second under a header that says so (:func:`date_header`), converted from the column's time scale (the
portal's archive says "MJD, TT" in the column's description). The table itself, which the state, the
selection, the sky and the exports read, keeps the MJD floats.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
from ipydatagrid import DataGrid, StreamingDataGrid

from widgets.products.ref import PRODUCT_LEVEL

ROW_INDEX = "row"
STREAM_ABOVE = 20_000  # rows; more go to the streaming grid
DEBOUNCE_MS = 40  # the streaming grid's wait after a scroll before it asks for the rows in view
# Columns shown first (when present), the most telling ones for choosing observations.
FIRST_COLUMNS = ("obs_id", "target_name", "s_ra", "s_dec", "t_min", "t_exptime", "energy_min", "energy_max",
                 "zenith", "target_offset", "livetime", "n_tels", "ev_xel", "dataproduct_type", "calib_level",
                 "obs_collection", "facility_name", "instrument_name")
# Results that hold products (SEDs, light curves, sky maps: calib_level 4) show what they are first, then the
# target and the job that made them (the portal's products have obs_id "<job id>/<result>" and a title naming
# the job).
PRODUCT_FIRST = ("dataproduct_type", "calib_level", "target_name", "obs_title", "obs_id", "dataproduct_subtype",
                 "s_ra", "s_dec", "t_min", "energy_min", "energy_max", "obs_collection")
PRODUCT_WIDTHS = {"dataproduct_type": 156, "obs_id": 190, "obs_title": 330, "dataproduct_subtype": 140}  # px
TIME_COLUMNS = ("t_min", "t_max")  # ObsCore: MJD; shown as UTC dates
DATE_WIDTH = 196  # px: the date and its header, "t_max (UTC; MJD in exports)"
_SCALE = re.compile(r"\b(UTC|TT|TAI|TDB|TCG|TCB)\b")


def to_dataframe(table) -> pd.DataFrame:
    """A DataFrame of the table for display: text for bytes and array cells, index = table row."""
    columns = {}
    names = [c for c in first_columns(table) if c in table.colnames]
    names += [c for c in table.colnames if c not in names]
    for name in names:
        col = table[name]
        if is_date_column(name, col):
            columns[date_header(name)] = iso_dates(col, time_scale(col))
        elif col.ndim > 1 or col.dtype.kind == "O":
            columns[name] = [_cell_text(v) for v in col]
        elif col.dtype.kind == "S":
            columns[name] = np.char.decode(np.asarray(col, dtype=col.dtype), "utf-8", "replace")
        elif hasattr(col, "mask") and np.any(col.mask):
            filled = col.filled(np.nan) if col.dtype.kind == "f" else col.astype(object).filled(None)
            columns[name] = np.asarray(filled)
        else:
            columns[name] = np.asarray(col)
    frame = pd.DataFrame(columns)
    frame.index = pd.RangeIndex(len(table), name=ROW_INDEX)
    return frame


def has_products(table) -> bool:
    """Whether the rows include science products (calib_level 4)."""
    if "calib_level" not in table.colnames or len(table) == 0:
        return False
    levels = np.ma.filled(np.ma.asarray(table["calib_level"]).astype(float), np.nan)
    return bool(np.any(levels >= PRODUCT_LEVEL))


def first_columns(table) -> tuple[str, ...]:
    """The columns shown first: what a product is and who made it when there are products, else the observations'
    most telling ones."""
    return PRODUCT_FIRST if has_products(table) else FIRST_COLUMNS


def date_header(name: str) -> str:
    """The grid's header of a time column shown as dates."""
    return f"{name} (UTC; MJD in exports)"


def is_date_column(name: str, col) -> bool:
    """An ObsCore time column (MJD: unit day or none given, or an astropy Time column)."""
    from astropy.time import Time

    if isinstance(col, Time):
        return col.ndim == 1
    if name not in TIME_COLUMNS or col.ndim != 1 or col.dtype.kind not in "fiu":
        return False
    unit = getattr(col, "unit", None)
    return unit is None or str(unit) in ("d", "day")


def time_scale(col) -> str:
    """The time scale of an MJD column, from its description ("... (MJD, TT)"); UTC when it names none."""
    if hasattr(col, "scale") and hasattr(col, "mjd"):  # an astropy Time column
        return col.scale
    found = _SCALE.search(str(getattr(col, "description", None) or ""))
    return found.group(1).lower() if found else "utc"


def iso_dates(col, scale: str = "utc") -> np.ndarray:
    """UTC dates to the second ("2004-12-04 22:07:06") of MJDs in ``scale`` (or of a Time column); None
    where the time is missing; the MJD as text where it is no date astropy can convert."""
    from astropy.time import Time

    if isinstance(col, Time):
        values, scale = np.ma.filled(np.ma.asarray(col.mjd, dtype=float), np.nan), col.scale
    else:
        values = np.ma.filled(np.ma.asarray(col, dtype=float), np.nan)
    out = np.full(len(values), None, dtype=object)
    known = np.isfinite(values)
    if known.any():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ERFA's "dubious year" for dates far from ours
                out[known] = _iso_utc(Time(values[known], format="mjd", scale=scale, precision=0).utc)
        except Exception:  # noqa: BLE001 - not dates (a service's odd values): the numbers, as text
            out[known] = [f"MJD {v:.6f}" for v in values[known]]
    return out


def _iso_utc(utc) -> np.ndarray:
    """``utc.iso`` to the second, rounded, in a tenth of astropy's time for 100,000 rows: ERFA's calendar
    fields, and the text put together from two tables of characters (each day that occurs, written once by
    numpy, and the 86,400 clock times of a day) instead of one Python format per row. A leap second
    (23:59:60), which numpy cannot write, is left to astropy."""
    import erfa

    year, month, day, hms = erfa.d2dtf("UTC", 0, utc.jd1, utc.jd2)
    days = ((year - 1970).astype("M8[Y]").astype("M8[M]") + (month - 1).astype("m8[M]")).astype("M8[D]")
    days = days + (day - 1).astype("m8[D]")
    seconds = (hms["h"] * 3600 + hms["m"] * 60 + hms["s"]).astype(np.int64)
    leap = hms["s"] >= 60
    four_digits = (year >= 0) & (year <= 9999) & ~leap  # "YYYY-MM-DD": ten characters
    out = np.full(len(days), None, dtype=object)
    if four_digits.any():
        numbers = days[four_digits].astype(np.int64)  # days since 1970
        first, last = int(numbers.min()), int(numbers.max())
        if last - first < 4 * len(numbers):  # every day of the span, written once (no sort)
            unique, inverse = np.arange(first, last + 1).astype("M8[D]"), numbers - first
        else:
            unique, inverse = np.unique(days[four_digits], return_inverse=True)
        dates = np.datetime_as_string(unique, unit="D").astype("U10").view(np.uint32).reshape(-1, 10)
        codes = np.empty((len(numbers), 19), dtype=np.uint32)
        codes[:, :10] = dates[inverse.ravel()]
        codes[:, 10] = ord(" ")
        codes[:, 11:] = _clock()[seconds[four_digits]]
        out[four_digits] = codes.view("U19").ravel()
    other = ~four_digits & ~leap
    if other.any():  # years numpy writes with more or fewer characters
        stamps = days[other].astype("M8[s]") + seconds[other].astype("m8[s]")
        out[other] = np.char.replace(np.datetime_as_string(stamps, unit="s"), "T", " ")
    if leap.any():
        out[leap] = utc[leap].iso
    return out


_CLOCKS: list[np.ndarray] = []


def _clock() -> np.ndarray:
    """The characters (code points) of "HH:MM:SS" for each second of a day, (86400, 8); made once."""
    if not _CLOCKS:
        text = np.datetime_as_string(np.datetime64("2000-01-01T00:00:00") + np.arange(86400).astype("m8[s]"),
                                     unit="s").astype("U19")
        _CLOCKS.append(np.ascontiguousarray(text.view(np.uint32).reshape(86400, 19)[:, 11:]))
    return _CLOCKS[0]


def date_note(table) -> str:
    """What the grid's dates are, for the line above it ("" when it shows none)."""
    scales = sorted({time_scale(table[n]).upper() for n in table.colnames if is_date_column(n, table[n])})
    if not scales:
        return ""
    source = "" if scales == ["UTC"] else f", converted from MJD ({', '.join(scales)})"
    return (f"Times are UTC dates{source}; search.results and the exported files keep ObsCore's MJD values.")


def selected_times(table, rows: list[int], limit: int = 3) -> str:
    """The exact times of the selected rows, as ObsCore gives them (MJD) beside the grid's dates: what a tooltip
    on the cell would say ("obs 23523: t_min MJD 53343.922340 (2004-12-04 22:07:06 UTC), ..."); "" when the
    table has no time column or nothing is selected."""
    if table is None or not rows:
        return ""
    names = [n for n in table.colnames if is_date_column(n, table[n])]
    if not names:
        return ""
    label = "obs_id" if "obs_id" in table.colnames else None
    parts = []
    for row in rows[:limit]:
        times = []
        for name in names:
            col = table[name]
            value = col.mjd[row] if hasattr(col, "mjd") else col[row]
            if np.ma.is_masked(value) or not np.isfinite(float(value)):
                continue
            date = iso_dates(col[row:row + 1], time_scale(col))[0]
            times.append(f"{name} MJD {float(value):.6f} ({date} UTC)")
        if times:
            who = f"obs {_cell_text(table[label][row])}" if label else f"row {row}"
            parts.append(f"{who}: {', '.join(times)}")
    more = f"; and {len(rows) - limit} more selected" if len(rows) > limit else ""
    return "; ".join(parts) + more


def _cell_text(value) -> str:
    if value is None or np.ma.is_masked(value):
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in np.ravel(value))
    return str(value)


class RowMapping:
    """Table rows in the grid's current view order (after its sort and filter transforms)."""

    def __init__(self, order: np.ndarray) -> None:
        self.order = np.asarray(order, dtype=int)  # view row -> table row
        self._index = pd.Index(self.order)

    def to_table(self, view_rows) -> list[int]:
        view_rows = np.asarray([r for r in view_rows if 0 <= r < len(self.order)], dtype=int)
        return sorted(set(self.order[view_rows].tolist()))

    def to_view(self, table_rows) -> list[int]:
        positions = self._index.get_indexer(np.asarray(list(table_rows), dtype=int))
        return sorted(int(p) for p in positions if p >= 0)


def rectangles(view_rows: list[int], n_columns: int) -> list[dict]:
    """Grid selection rectangles covering ``view_rows`` (one per run of consecutive rows)."""
    rects = []
    for row in sorted(set(view_rows)):
        if rects and rects[-1]["r2"] == row - 1:
            rects[-1]["r2"] = row
        else:
            rects.append({"r1": row, "r2": row, "c1": 0, "c2": max(0, n_columns - 1)})
    return rects


def rows_of(selections: list[dict]) -> list[int]:
    rows: set[int] = set()
    for rect in selections:
        lo, hi = sorted((int(rect["r1"]), int(rect["r2"])))
        rows.update(range(lo, hi + 1))
    return sorted(rows)


class _Rows:
    """What both grids add: which table row each view row shows, and new rows in the same grid."""

    def mapping(self) -> RowMapping:
        return RowMapping(self._view_frame().index.to_numpy())

    def _reset(self, frame: pd.DataFrame) -> None:
        self._frame = frame
        self.selections = []
        self._transforms = []  # a sort or filter of the previous rows means nothing now


class ResultsGrid(_Rows, DataGrid):
    """The grid for ordinary results: all rows in the browser, sorted and filtered there."""

    streaming = False

    def __init__(self, frame: pd.DataFrame, **kwargs) -> None:
        self._frame = frame
        super().__init__(frame, selection_mode="row", **kwargs)

    def set_frame(self, frame: pd.DataFrame) -> None:
        self._reset(frame)
        self.data = frame

    @property
    def _row_count(self) -> int:
        return len(self._frame)

    def _view_frame(self) -> pd.DataFrame:
        # the browser applies the transforms; the same ones applied here give the same row order
        if not self._transforms:
            return self._frame
        return StreamingDataGrid._apply_frontend_transforms(self, self._transforms, self._frame)


class StreamedResultsGrid(_Rows, StreamingDataGrid):
    """The grid for large results: only the rows in view travel to the browser.

    The browser asks for the rows in view :data:`DEBOUNCE_MS` after the view last moved (ipydatagrid's
    default, 160 ms, delayed the first rows of every new result by as much)."""

    streaming = True

    def __init__(self, frame: pd.DataFrame, **kwargs) -> None:
        self._frame = frame
        kwargs.setdefault("debounce_delay", DEBOUNCE_MS)
        super().__init__(frame, selection_mode="row", **kwargs)

    def set_frame(self, frame: pd.DataFrame) -> None:
        """Show other rows in the same grid (cheaper than a new grid in the browser)."""
        self._reset(frame)
        self.data = frame
        self._transformed_data = None
        self._row_count = len(frame)
        self.tick()

    def _view_frame(self) -> pd.DataFrame:
        transformed = getattr(self, "_transformed_data", None)
        return transformed if transformed is not None else self._frame


def make_grid(frame: pd.DataFrame, **kwargs):
    """The grid for these rows: plain up to STREAM_ABOVE rows, streaming above."""
    return (StreamedResultsGrid if len(frame) > STREAM_ABOVE else ResultsGrid)(frame, **kwargs)


def fits(grid, frame: pd.DataFrame) -> bool:
    """Whether ``grid`` can show ``frame`` (the same kind of grid as make_grid would choose)."""
    return grid.streaming == (len(frame) > STREAM_ABOVE)


class SelectionBinding:
    """Keep ``state.selection`` (table rows) and ``grid.selections`` (view rectangles) in step."""

    def __init__(self, grid: ResultsGrid, state, n_columns: int) -> None:
        self.grid, self.state, self.n_columns = grid, state, n_columns
        self._busy = False
        grid.observe(self._from_grid, "selections")
        grid.observe(self._to_grid, "_transforms")  # a new sort: redraw the same rows where they now are
        state.watch(self._to_grid, "selection")  # a SessionState: the selection is its session's
        self._to_grid()

    def unbind(self) -> None:
        self.grid.unobserve(self._from_grid, "selections")
        self.grid.unobserve(self._to_grid, "_transforms")
        self.state.unwatch(self._to_grid, "selection")

    def _from_grid(self, change) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            self.state.selection = self.grid.mapping().to_table(rows_of(change["new"]))
        finally:
            self._busy = False

    def _to_grid(self, _change=None) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            view_rows = self.grid.mapping().to_view(self.state.selection)
            self.grid.selections = rectangles(view_rows, self.n_columns)
        finally:
            self._busy = False
