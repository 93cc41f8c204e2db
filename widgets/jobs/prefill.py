"""What a job form can be filled from, for any definition: its parameters' UCDs and ObsCore columns.

A definition (``GET /uws``) says per parameter where its value may come from: ``column`` names an
ObsCore column of the selected rows (``obs_id`` for a list of observation ids), ``ucd`` the kind
of value (``pos.eq.ra;meta.main``: the target's right ascension; ``phys.angSize;src``: its size).
:func:`prefill` turns the dashboard's target and selected rows into form texts by those rules
alone, so a job kind added with ``PORTAL_JOB_DEFINITIONS`` is pre-filled without code of its own.
"""

from __future__ import annotations

import numpy as np
from astropy.coordinates import SkyCoord

from portal.uws.definitions import Parameter
from widgets.client import Definition

__all__ = ["prefill", "summary", "column_values"]

LIVETIME_COLUMNS = ("livetime", "t_exptime")  # seconds: the portal's high-energy column, else ObsCore's


def column_values(rows, column: str) -> list:
    """The column's values in the rows, masked ones left out, as Python scalars (text decoded)."""
    if rows is None or column not in rows.colnames:
        return []
    out = []
    for value in rows[column]:
        if np.ma.is_masked(value):
            continue
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        value = value.item() if hasattr(value, "item") else value
        if isinstance(value, str) and not value.strip():
            continue
        out.append(value)
    return out


def _number(p: Parameter, value: float, digits: int = 6) -> str:
    if p.minimum is not None:
        value = max(value, p.minimum)
    if p.maximum is not None:
        value = min(value, p.maximum)
    return f"{value:.{digits}g}" if p.type == "float" else str(int(round(value)))


def _from_column(p: Parameter, rows) -> str | None:
    values = column_values(rows, p.column)
    if not values:
        return None
    if p.type == "int-list":
        ids, seen = [], set()
        for v in values:
            try:
                number = int(float(v))
            except (TypeError, ValueError):
                return None
            if number not in seen:
                seen.add(number)
                ids.append(number)
        return ",".join(map(str, ids))
    unique = {str(v) for v in values}
    return unique.pop() if len(unique) == 1 else None  # rows that disagree fill nothing


def _from_ucd(p: Parameter, target: SkyCoord | None, size: float | None) -> str | None:
    ucd = (p.ucd or "").lower()
    if target is not None and ucd.startswith("pos.eq.ra"):
        return _number(p, float(target.icrs.ra.deg), 8)
    if target is not None and ucd.startswith("pos.eq.dec"):
        return _number(p, float(target.icrs.dec.deg), 8)
    if size is not None and ucd.startswith("phys.angsize") and size > 0:
        return _number(p, float(size), 3)
    return None


def prefill(definition: Definition, rows=None, target: SkyCoord | None = None,
            size: float | None = None) -> dict[str, str]:
    """Form texts for the parameters that the rows or the target say something about."""
    texts: dict[str, str] = {}
    for p in definition.parameters:
        text = _from_column(p, rows) if p.column else None
        if text is None:
            text = _from_ucd(p, target, size)
        if text is not None:
            texts[p.name] = text
    return texts


def _obs_ids(definition: Definition, values: dict) -> list[int] | None:
    for p in definition.parameters:
        if (p.ucd or "").lower().startswith("meta.id;obs") or p.column == "obs_id":
            ids = values.get(p.name)
            if isinstance(ids, (list, tuple)):
                return [int(i) for i in ids]
    return None


def summary(definition: Definition, values: dict, rows=None, target_name: str = "") -> str:
    """One line saying what will run: "spectrum on 4 observations of Crab, 6.2 h live time"."""
    ids = _obs_ids(definition, values)
    what = definition.name
    if ids is not None:
        what += f" on {len(ids)} observation{'s' if len(ids) != 1 else ''}"
    if target_name:
        what += f" of {target_name}"
    if ids and rows is not None and "obs_id" in rows.colnames:
        wanted = set(ids)
        for column in LIVETIME_COLUMNS:
            if column not in rows.colnames:
                continue
            seconds, found = 0.0, set()
            for obs, value in zip(rows["obs_id"], rows[column]):
                if np.ma.is_masked(obs) or np.ma.is_masked(value):
                    continue
                try:
                    obs_id = int(float(obs.decode() if isinstance(obs, bytes) else obs))
                except (TypeError, ValueError):
                    continue
                if obs_id in wanted and obs_id not in found:
                    seconds += float(value)
                    found.add(obs_id)
            if found:
                partial = "" if found == wanted else f" for {len(found)} of them"
                what += f", {seconds / 3600:.1f} h live time{partial}"
                break
    return what
