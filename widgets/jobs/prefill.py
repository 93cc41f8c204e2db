"""What a job form can be filled from, for any definition: its parameters' UCDs and ObsCore columns.

A definition (``GET /uws``) says per parameter where its value may come from: ``column`` names an
ObsCore column of the selected rows (``obs_id`` for a list of observation ids), ``ucd`` the kind
of value (``pos.eq.ra;meta.main``: the target's right ascension; ``phys.angSize;src``: its size).
:func:`prefill` turns the dashboard's target and selected rows into form texts by those rules
alone, so a job kind added with ``PORTAL_JOB_DEFINITIONS`` is pre-filled without code of its own.
An ``obs-list`` parameter gets plain obs ids, or ``<collection>/<obs_id>`` for every row when the
selection spans several collections (ObsCore ``obs_collection``): releases may share obs ids.

A size parameter (``phys.angSize``) is an on-region radius: :func:`region_radius` makes one that
contains an extended source, and a point-like source keeps the definition's default (the
point-source region, e.g. H.E.S.S.'s 0.11 deg). :func:`origins` says where each value came from.
"""

from __future__ import annotations

import math
from collections.abc import Collection

import numpy as np
from astropy.coordinates import SkyCoord

from portal.seam.params import Parameter, obs_item
from portal.seam.sizes import SourceSize
from widgets.client import Definition

__all__ = ["prefill", "summary", "column_values", "origins", "region_radius"]

COLLECTION_COLUMN = "obs_collection"  # ObsCore: the release an observation belongs to
LIVETIME_COLUMNS = ("livetime", "t_exptime")  # seconds: the portal's high-energy column, else ObsCore's
#: Radius of a 2D Gaussian's 70 % containment in units of its sigma, sqrt(-2 ln 0.3): HGPS's R70.
CONTAINMENT_70 = math.sqrt(-2 * math.log(0.3))


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


def _text(value) -> str | None:
    if np.ma.is_masked(value):
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    value = value.item() if hasattr(value, "item") else value
    text = str(value).strip()
    return text or None


def _observations(p: Parameter, rows, shared: Collection[int] = ()) -> str | None:
    """The rows' observations, each once: plain obs ids, or all qualified by collection when the rows
    come from several collections, or when one of their ids is in several collections of the archive
    (``shared``): an obs id then may name two observations."""
    pairs = []
    for i in range(len(rows)):
        number = _text(rows[p.column][i])
        collection = _text(rows[COLLECTION_COLUMN][i]) if COLLECTION_COLUMN in rows.colnames else None
        if number is None:
            continue
        try:
            pairs.append((collection, int(float(number))))
        except ValueError:
            return None
    pairs = list(dict.fromkeys(pairs))
    ambiguous = len({c for c, _ in pairs}) > 1 or any(n in shared for _, n in pairs)
    if ambiguous and all(c for c, _ in pairs):
        return ",".join(f"{c}/{n}" for c, n in pairs)
    return ",".join(map(str, dict.fromkeys(n for _, n in pairs))) or None


def _from_column(p: Parameter, rows, shared: Collection[int] = ()) -> str | None:
    values = column_values(rows, p.column)
    if not values:
        return None
    if p.type == "obs-list":
        return _observations(p, rows, shared)
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


def _is_size(p: Parameter) -> bool:
    return (p.ucd or "").lower().startswith("phys.angsize")


def _point_radius(p: Parameter) -> float:
    """The definition's region for a point source: its default, else its lower bound."""
    for value in (p.default, p.minimum):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
    return 0.0


def region_radius(size: SourceSize, point_radius: float) -> tuple[float, str]:
    """An on-region radius (degrees) that contains the source, and how it was chosen.

    - The catalog's own spectrum region when it gives one (HGPS ``RSpec``: R70, the radius holding
      70 % of the PSF-convolved source, kept within 0.15 to 0.5 deg; H.E.S.S. Collaboration 2018).
    - A Gaussian of sigma s: the same 70 % containment, sqrt((1.552 s)^2 + r_pt^2), where r_pt,
      the point-source region, stands for the PSF (a point source gets r_pt itself).
    - A disk, shell, ring or map of outer radius R: R + r_pt, its edge blurred by the PSF.
    """
    if size.region is not None:
        return size.region, f"{size.column} {size.radius:.3g} deg; RSpec, the spectrum region of {size.source}"
    if size.model == "gaussian":
        return (math.hypot(CONTAINMENT_70 * size.radius, point_radius),
                f"70 % containment of a Gaussian of sigma {size.radius:.3g} deg ({size.source}) with the PSF")
    return (size.radius + point_radius,
            f"{size.model} radius {size.radius:.3g} deg of {size.source} plus the PSF")


def _from_ucd(p: Parameter, target: SkyCoord | None, size: SourceSize | None) -> str | None:
    ucd = (p.ucd or "").lower()
    if target is not None and ucd.startswith("pos.eq.ra"):
        return _number(p, float(target.icrs.ra.deg), 8)
    if target is not None and ucd.startswith("pos.eq.dec"):
        return _number(p, float(target.icrs.dec.deg), 8)
    if size is not None and _is_size(p):
        return _number(p, region_radius(size, _point_radius(p))[0], 3)
    return None


def origins(definition: Definition, texts: dict, size: SourceSize | None, target_name: str = "",
            target: SkyCoord | None = None) -> dict[str, str]:
    """Where the size parameters' values come from, per parameter name, for the form and the summary:
    ``"on_radius 0.215 deg from HGPS size of MSH 15-52 (Size 0.145 deg; RSpec, the spectrum region of
    HESS J1514-591)"``."""
    notes: dict[str, str] = {}
    if target is None:
        return notes
    who = target_name or "the target"
    for p in definition.parameters:
        text = texts.get(p.name, "")
        if not _is_size(p) or not text:
            continue
        unit = f" {p.unit}" if p.unit else ""
        if size is None:
            notes[p.name] = f"{p.name} {text}{unit}, the default for a point-like source ({who}: no catalog size)"
            continue
        wanted, how = region_radius(size, _point_radius(p))
        note = f"{p.name} {text}{unit} from {size.label} size of {who} ({how})"
        if p.maximum is not None and wanted > p.maximum:
            note += f"; it would need {wanted:.3g}{unit}, more than the job allows"
        notes[p.name] = note
    return notes


def prefill(definition: Definition, rows=None, target: SkyCoord | None = None,
            size: SourceSize | None = None, shared: Collection[int] = ()) -> dict[str, str]:
    """Form texts for the parameters that the rows or the target say something about (``shared``: obs ids
    the archive holds in several collections, see :func:`shared_obs_ids`)."""
    texts: dict[str, str] = {}
    for p in definition.parameters:
        text = _from_column(p, rows, shared) if p.column else None
        if text is None:
            text = _from_ucd(p, target, size)
        if text is not None:
            texts[p.name] = text
    return texts


def _observation_refs(definition: Definition, values: dict) -> list[tuple[str | None, int]] | None:
    for p in definition.parameters:
        if (p.ucd or "").lower().startswith("meta.id;obs") or p.column == "obs_id":
            ids = values.get(p.name)
            if isinstance(ids, (list, tuple)):
                try:
                    return [obs_item(i) for i in ids]
                except ValueError:
                    return None
    return None


def summary(definition: Definition, values: dict, rows=None, target_name: str = "") -> str:
    """One line saying what will run: "spectrum on 4 observations of Crab, 6.2 h live time"."""
    refs = _observation_refs(definition, values)
    what = definition.name
    if refs is not None:
        what += f" on {len(refs)} observation{'s' if len(refs) != 1 else ''}"
    if target_name:
        what += f" of {target_name}"
    if refs and rows is not None and "obs_id" in rows.colnames:
        wanted = {n: c for c, n in refs}  # a job takes each obs id once
        collections = rows[COLLECTION_COLUMN] if COLLECTION_COLUMN in rows.colnames else [None] * len(rows)
        for column in LIVETIME_COLUMNS:
            if column not in rows.colnames:
                continue
            seconds, found = 0.0, set()
            for obs, collection, value in zip(rows["obs_id"], collections, rows[column]):
                if np.ma.is_masked(obs) or np.ma.is_masked(value):
                    continue
                try:
                    obs_id = int(float(obs.decode() if isinstance(obs, bytes) else obs))
                except (TypeError, ValueError):
                    continue
                if obs_id not in wanted or obs_id in found:
                    continue
                if wanted[obs_id] is not None and collection is not None and _text(collection) != wanted[obs_id]:
                    continue  # the same obs id in another collection: another observation
                seconds += float(value)
                found.add(obs_id)
            if found:
                partial = "" if found == set(wanted) else f" for {len(found)} of them"
                what += f", {seconds / 3600:.1f} h live time{partial}"
                break
    return what


def shared_obs_ids(client, rows) -> set[int]:
    """I/O (any thread): the obs ids of ``rows`` that the archive holds in more than one collection (TAP)."""
    if rows is None or COLLECTION_COLUMN not in rows.colnames or "obs_id" not in rows.colnames:
        return set()
    ids = sorted({int(float(v)) for v in (_text(x) for x in rows["obs_id"]) if v is not None})
    if not ids:
        return set()
    quoted = ", ".join(f"'{i}'" for i in ids[:500])  # integers only: nothing typed reaches the query
    table = client.tap_service().search(
        f"SELECT obs_id, COUNT(DISTINCT obs_collection) AS n FROM ivoa.obscore WHERE obs_id IN ({quoted}) "
        "GROUP BY obs_id").to_table()
    return {int(float(_text(row["obs_id"]))) for row in table if int(row["n"]) > 1}
