"""The observing plan of the simulated dataset: when and where each run points.

Each source is observed on a night when it culminates around local midnight at its CTAO site,
in wobble mode (pointings offset from the source in four directions), with consecutive runs
centred on its transit, like a real observing campaign. Pure astropy: no gammapy here.
"""

from __future__ import annotations

from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.coordinates import AltAz, EarthLocation, SkyCoord, get_body
from astropy.time import Time
from astropy.utils import iers

from portal.datasets.sources import SOURCES, SimulatedSource, source_by_tag

# CTAO sites (as in gammapy.data.observatory_locations), so that planning needs no gammapy
SITES = {
    "north": EarthLocation(lon=-17.892005 * u.deg, lat=28.761758 * u.deg, height=2147 * u.m),
    "south": EarthLocation(lon=-70.316345 * u.deg, lat=-24.683429 * u.deg, height=2147 * u.m),
}
ARRAYS = {"north": ("CTAO-North", 13), "south": ("CTAO-South", 51)}  # (instrument, telescopes)
SIDEREAL_DAY_HOURS = 23.9344696
WOBBLE_DIRECTIONS = ((0, 1), (0, -1), (1, 0), (-1, 0))  # (dRA, dDec) unit steps: N, S, E, W


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate. The defaults are the portal's default dataset."""

    sources: tuple[str, ...] = tuple(s.tag for s in SOURCES)
    runs_per_source: int = 4
    ontime_min: float = 28.0  # minutes per run, as H.E.S.S. and CTAO runs
    gap_min: float = 2.0  # minutes between runs
    deadtime_fraction: float = 0.03
    fov_radius: float = 3.0  # degrees: events are kept within this offset
    e_min: float = 0.1  # TeV, reconstructed energy range of the event lists
    e_max: float = 100.0
    seed: int = 20240601
    year: int = 2024
    first_obs_id: int = 100001
    mjdref: float = 51910.0  # MJD of the time reference (2001-01-01, as H.E.S.S. DR1)


@dataclass(frozen=True)
class PlannedRun:
    """One observation run of the plan."""

    obs_id: int
    source: SimulatedSource
    site: str
    ra_pnt: float
    dec_pnt: float
    tstart: Time
    tstop: Time
    alt_pnt: float  # degrees, at mid-run
    az_pnt: float
    seed: int

    @property
    def ontime(self) -> float:
        return float((self.tstop - self.tstart).to_value(u.s))


def _best_night(source: SimulatedSource, year: int) -> Time:
    """Noon (UTC) before the night of ``year`` when the Sun is farthest from the source."""
    days = Time(f"{year}-01-01T12:00:00", scale="utc") + np.arange(365) * u.day
    gcrs = get_body("sun", days)
    sun = SkyCoord(gcrs.ra, gcrs.dec, frame="icrs")  # the direction only: geocentric, good to arcminutes
    sep = SkyCoord(source.ra, source.dec, unit="deg", frame="icrs").separation(sun).deg
    return days[int(np.argmax(sep))]


def _transit(source: SimulatedSource, site: str, noon: Time) -> Time:
    """Time of the source's upper culmination (local sidereal time = RA) in the 24 h after ``noon``."""
    lst = noon.sidereal_time("apparent", longitude=SITES[site].lon).deg
    hours = ((source.ra - lst) % 360.0) / 360.0 * SIDEREAL_DAY_HOURS
    return noon + hours * u.hour


def wobble_pointing(source: SimulatedSource, k: int) -> tuple[float, float]:
    """The k-th wobble pointing: ``source.wobble`` degrees north, south, east or west of the source."""
    d_ra, d_dec = WOBBLE_DIRECTIONS[k % len(WOBBLE_DIRECTIONS)]
    center = SkyCoord(source.ra, source.dec, unit="deg")
    angle = np.degrees(np.arctan2(d_ra, d_dec))  # position angle, east of north
    pnt = center.directional_offset_by(angle * u.deg, source.wobble * u.deg)
    return float(pnt.ra.deg), float(pnt.dec.deg)


def plan_runs(config: SimulationConfig) -> list[PlannedRun]:
    """Every run of the simulated dataset, in obs id order."""
    runs: list[PlannedRun] = []
    obs_id = config.first_obs_id
    ontime = config.ontime_min * u.min
    step = (config.ontime_min + config.gap_min) * u.min
    with iers.conf.set_temp("auto_download", False):
        for tag in config.sources:
            source = source_by_tag(tag)
            site = source.site
            transit = _transit(source, site, _best_night(source, config.year))
            first = transit - step * config.runs_per_source / 2
            for k in range(config.runs_per_source):
                tstart = first + k * step
                tstop = tstart + ontime
                ra, dec = wobble_pointing(source, k)
                mid = tstart + ontime / 2
                altaz = SkyCoord(ra, dec, unit="deg").transform_to(AltAz(obstime=mid, location=SITES[site]))
                runs.append(PlannedRun(
                    obs_id=obs_id, source=source, site=site, ra_pnt=ra, dec_pnt=dec,
                    tstart=tstart, tstop=tstop, alt_pnt=float(altaz.alt.deg), az_pnt=float(altaz.az.deg),
                    seed=config.seed + obs_id,
                ))
                obs_id += 1
    return runs
