"""ObsCoreForm: every useful ObsCore field as a trait, and the ADQL they mean.

Empty fields (None, "", []) add no condition. :meth:`ObsCoreForm.problems` lists what cannot be
used, in sentences; :meth:`ObsCoreForm.adql` refuses to build a query while there are problems.
The high-energy columns (energy in TeV, zenith, offset, telescopes, IRF type, live time, events)
are used when the service's table has them (``columns``, from its VOSI /tables).
"""

from __future__ import annotations

import datetime as dt
import math
import re

import traitlets as t

from widgets.obscore import adql
from widgets.products.ref import PRODUCT_TYPES  # the science products a gateway publishes (calib_level 4)

DATAPRODUCT_TYPES = ("event", "image", "cube", "spectrum", "sed", "timeseries", "visibility", "measurements")
IRF_TYPES = ("full-enclosure", "point-like")
# what to look for -> (dataproduct_type, data levels): a shortcut that fills both fields of the form
SCOPES = {"all": ((), ()), "observations": (("event",), ()), "products": (PRODUCT_TYPES, ("DL5",))}


class FormError(ValueError):
    """The form cannot make a query; ``problems`` lists why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _opt_float(**kw) -> t.Float:
    return t.Float(None, allow_none=True, **kw)


def _opt_int(**kw) -> t.Int:
    return t.Int(None, allow_none=True, **kw)


def mjd(day: dt.date) -> float:
    """MJD (UTC) at the start of a calendar day (t_min and t_max are TT: 1 minute apart, ignored)."""
    from astropy.time import Time

    return float(Time(dt.datetime.combine(day, dt.time.min), scale="utc").mjd)


class ObsCoreForm(t.HasTraits):
    table = t.Unicode("ivoa.obscore")
    columns = t.List(t.Unicode())  # the table's columns; empty means "standard ObsCore"
    # where
    ra = _opt_float()
    dec = _opt_float()
    radius = _opt_float()  # degrees
    cone_mode = t.Enum(["fov", "pointing"], "fov")
    # what
    dataproduct_type = t.List(t.Unicode())
    data_levels = t.List(t.Unicode())  # "DL0".."DL5", see adql.DATA_LEVELS
    obs_collection = t.Unicode("")
    facility_name = t.Unicode("")
    instrument_name = t.Unicode("")
    target_name = t.Unicode("")
    obs_ids = t.Unicode("")  # comma or space separated
    proposal_id = t.Unicode("")
    # when, which energies, how long
    date_start = t.Instance(dt.date, allow_none=True)
    date_end = t.Instance(dt.date, allow_none=True)
    energy_min = _opt_float()  # TeV
    energy_max = _opt_float()  # TeV
    exposure_min = _opt_float()  # s
    exposure_max = _opt_float()  # s
    # high-energy columns
    zenith_max = _opt_float()  # deg
    offset_max = _opt_float()  # deg
    n_tels_min = _opt_int()
    irf_type = t.Unicode("")
    livetime_min = _opt_float()  # s
    events_min = _opt_int()
    top = _opt_int()
    input_errors = t.Dict()  # field -> message, for values typed that are not numbers

    def set_number(self, name: str, text: str, label: str | None = None) -> bool:
        """Set an optional numeric field from typed text ("" clears it); remember why if it cannot."""
        text = (text or "").strip()
        errors = dict(self.input_errors)
        errors.pop(name, None)
        trait = self.traits()[name]
        try:
            value = None if not text else (int(text) if isinstance(trait, t.Int) else float(text))
        except ValueError:
            kind = "a whole number" if isinstance(trait, t.Int) else "a number"
            errors[name] = f"{label or name.replace('_', ' ')}: {text!r} is not {kind}"
            self.input_errors = errors
            return False
        if value is not None and not math.isfinite(value):
            errors[name] = f"{label or name.replace('_', ' ')}: {text!r} is not a number"
            self.input_errors = errors
            return False
        self.input_errors = errors
        setattr(self, name, value)
        return True

    def scope(self) -> str:
        """``observations``, ``products`` or ``all`` when the product type and data level fields say so, else ""."""
        now = (tuple(sorted(self.dataproduct_type)), tuple(sorted(self.data_levels)))
        return next((k for k, (types, levels) in SCOPES.items() if now == (tuple(sorted(types)), tuple(levels))), "")

    def set_scope(self, scope: str) -> None:
        """Look for observations (event lists), products (SEDs, light curves, sky maps: calib_level 4) or both."""
        types, levels = SCOPES[scope]
        with self.hold_trait_notifications():
            self.dataproduct_type = list(types)
            self.data_levels = list(levels)

    def has(self, column: str) -> bool:
        return not self.columns or column in self.columns

    def high_energy(self) -> bool:
        """Does the table have the high-energy columns?"""
        return bool(self.columns) and all(c in self.columns for c in ("energy_min", "energy_max"))

    def obs_id_list(self) -> list[str]:
        return [p for p in re.split(r"[\s,;]+", self.obs_ids.strip()) if p]

    def problems(self) -> list[str]:
        out = list(self.input_errors.values())
        cone = (self.ra, self.dec, self.radius)
        if any(v is not None for v in cone) and any(v is None for v in cone):
            out.append("the cone needs RA, Dec and a radius (or none of them)")
        if self.ra is not None and not 0 <= self.ra < 360:
            out.append(f"RA must be between 0 and 360 degrees, not {self.ra:g}")
        if self.dec is not None and not -90 <= self.dec <= 90:
            out.append(f"Dec must be between -90 and +90 degrees, not {self.dec:g}")
        if self.radius is not None and not 0 < self.radius <= 180:
            out.append(f"the radius must be larger than 0 and at most 180 degrees, not {self.radius:g}")
        for name in ("energy_min", "energy_max", "exposure_min", "exposure_max", "livetime_min"):
            value = getattr(self, name)
            if value is not None and value < 0:
                out.append(f"{name.replace('_', ' ')} cannot be negative ({value:g})")
        if None not in (self.energy_min, self.energy_max) and self.energy_min > self.energy_max:
            out.append(f"energy min ({self.energy_min:g} TeV) is above energy max ({self.energy_max:g} TeV)")
        if None not in (self.exposure_min, self.exposure_max) and self.exposure_min > self.exposure_max:
            out.append(f"exposure min ({self.exposure_min:g} s) is above exposure max ({self.exposure_max:g} s)")
        if None not in (self.date_start, self.date_end) and self.date_start > self.date_end:
            out.append(f"the start date ({self.date_start}) is after the end date ({self.date_end})")
        if self.zenith_max is not None and not 0 <= self.zenith_max <= 90:
            out.append(f"the maximum zenith angle must be between 0 and 90 degrees, not {self.zenith_max:g}")
        if self.offset_max is not None and not 0 <= self.offset_max <= 180:
            out.append(f"the maximum offset must be between 0 and 180 degrees, not {self.offset_max:g}")
        if self.n_tels_min is not None and self.n_tels_min < 1:
            out.append(f"the minimum number of telescopes must be at least 1, not {self.n_tels_min}")
        if self.events_min is not None and self.events_min < 0:
            out.append(f"the minimum number of events cannot be negative ({self.events_min})")
        unknown = [lv for lv in self.data_levels if lv not in adql.DATA_LEVELS]
        if unknown:
            out.append(f"unknown data level(s): {', '.join(unknown)} (use DL0 to DL5)")
        for name, column in (("zenith_max", "zenith"), ("offset_max", "target_offset"), ("n_tels_min", "n_tels"),
                             ("irf_type", "irf_type"), ("livetime_min", "livetime"), ("events_min", "ev_xel")):
            if getattr(self, name) not in (None, "") and self.columns and column not in self.columns:
                out.append(f"this service's table has no {column} column")
        try:
            adql.identifier(self.table)
        except ValueError as exc:
            out.append(str(exc))
        return out

    def has_cone(self) -> bool:
        return None not in (self.ra, self.dec, self.radius)

    def conditions(self, cone_mode: str | None = None) -> list[str]:
        """The WHERE conditions, in form order (checked: call problems() first); ``cone_mode``
        replaces the form's own (see :func:`widgets.obscore.adql.cone`)."""
        c: list[str | None] = []
        if self.has_cone():
            c.append(adql.cone(self.ra, self.dec, self.radius, cone_mode or self.cone_mode))
        c.append(adql.one_of("dataproduct_type", self.dataproduct_type))
        levels = sorted({adql.DATA_LEVELS[lv] for lv in self.data_levels})
        c.append(adql.one_of("calib_level", levels, numeric=True))
        c.append(adql.one_of("obs_collection", [self.obs_collection.strip()] if self.obs_collection.strip() else []))
        c.append(adql.one_of("facility_name", [self.facility_name.strip()] if self.facility_name.strip() else []))
        c.append(adql.one_of("instrument_name", [self.instrument_name.strip()] if self.instrument_name.strip() else []))
        c.append(adql.text_match("target_name", self.target_name))
        c.append(adql.one_of("obs_id", self.obs_id_list()))
        c.append(adql.one_of("proposal_id", [self.proposal_id.strip()] if self.proposal_id.strip() else []))
        start = mjd(self.date_start) if self.date_start else None
        end = mjd(self.date_end + dt.timedelta(days=1)) if self.date_end else None  # the whole end day
        c.extend(adql.overlap("t_min", "t_max", start, end))
        if self.high_energy():
            c.extend(adql.overlap("energy_min", "energy_max", self.energy_min, self.energy_max))
        else:
            c.extend(adql.energy_as_wavelength(self.energy_min, self.energy_max))
        c.append(adql.at_least("t_exptime", self.exposure_min))
        c.append(adql.at_most("t_exptime", self.exposure_max))
        c.append(adql.at_most("zenith", self.zenith_max))
        c.append(adql.at_most("target_offset", self.offset_max))
        c.append(adql.at_least("n_tels", self.n_tels_min))
        c.append(adql.one_of("irf_type", [self.irf_type] if self.irf_type else []))
        c.append(adql.at_least("livetime", self.livetime_min))
        c.append(adql.at_least("ev_xel", self.events_min))
        return [x for x in c if x]

    def adql(self, cone_mode: str | None = None) -> str:
        problems = self.problems()
        if problems:
            raise FormError(problems)
        return adql.select(self.table, self.conditions(cone_mode), top=self.top)
