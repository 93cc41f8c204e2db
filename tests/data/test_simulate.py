"""The simulated dataset: observing plan, parametric IRFs, a GADF release gammapy reads back."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from portal.datasets.default import is_release
from portal.datasets.plan import SimulationConfig, plan_runs
from portal.datasets.simulate import simulate_release
from portal.datasets.sources import SOURCES


def test_default_plan_is_a_realistic_campaign():
    runs = plan_runs(SimulationConfig())
    assert len(runs) == 16
    assert len({r.obs_id for r in runs}) == 16
    assert {r.source.name for r in runs} == {"Crab Nebula", "PKS 2155-304", "MSH 15-52", "RX J1713.7-3946"}
    for run in runs:
        offset = np.degrees(np.arccos(
            np.sin(np.radians(run.dec_pnt)) * np.sin(np.radians(run.source.dec))
            + np.cos(np.radians(run.dec_pnt)) * np.cos(np.radians(run.source.dec))
            * np.cos(np.radians(run.ra_pnt - run.source.ra))))
        assert offset == pytest.approx(run.source.wobble, abs=1e-6)  # wobble mode
        assert run.alt_pnt > 50  # observed near culmination
        assert run.ontime == pytest.approx(28 * 60)
    crab = [r for r in runs if r.source.tag == "crab"]
    assert {r.site for r in crab} == {"north"}
    assert all(r.site == "south" for r in runs if r.source.tag != "crab")


def test_runs_happen_at_night():
    import astropy.units as u
    from astropy.coordinates import AltAz, get_body

    from portal.datasets.plan import SITES

    for run in plan_runs(SimulationConfig())[::4]:
        mid = run.tstart + (run.tstop - run.tstart) / 2
        sun = get_body("sun", mid).transform_to(AltAz(obstime=mid, location=SITES[run.site]))
        assert sun.alt < -18 * u.deg  # astronomical night


def test_parametric_release_is_complete_gadf(tiny_release):
    release = tiny_release.path
    assert is_release(release)
    assert tiny_release.n_obs == 1 and tiny_release.n_events > 1000
    assert "parametric" in tiny_release.irf_origin["north"]
    hdu_index = Table.read(release / "hdu-index.fits.gz")
    assert sorted(hdu_index["HDU_TYPE"]) == ["aeff", "bkg", "edisp", "events", "gti", "psf"]
    assert set(hdu_index["HDU_CLASS"]) == {"events", "gti", "aeff_2d", "edisp_2d", "psf_table", "bkg_2d"}
    obs_index = Table.read(release / "obs-index.fits.gz")
    row = obs_index[0]
    assert row["OBJECT"] == "Crab Nebula" and row["EVENT_COUNT"] == tiny_release.n_events
    assert row["LIVETIME"] == pytest.approx(300 * 0.97)
    assert obs_index.meta["HDUCLAS2"] == "OBS"
    path = release / hdu_index["FILE_DIR"][0] / hdu_index["FILE_NAME"][0]
    with fits.open(path) as hdul:
        events = hdul["EVENTS"]
        assert events.header["TELESCOP"] == "CTAO" and events.header["OBS_ID"] == row["OBS_ID"]
        assert events.header["HDUCLAS1"] == "EVENTS"
        assert [h.header.get("HDUCLAS2") for h in hdul[3:]] == ["EFF_AREA", "EDISP", "RPSF", "BKG"]
        time = events.data["TIME"]
        assert np.all(np.diff(time) >= 0)
        assert time.min() >= events.header["TSTART"] and time.max() <= events.header["TSTOP"]
    description = json.loads((release / "simulation.json").read_text())
    assert description["sources"]["crab"]["spectral"]["index"] == 2.63
    assert not (release.parent / "tiny-sim.partial").exists()


def test_gammapy_reads_the_simulated_release(tiny_release):
    from gammapy.data import DataStore

    store = DataStore.from_dir(tiny_release.path)
    obs = store.obs(int(store.obs_table["OBS_ID"][0]))
    assert len(obs.events.table) == tiny_release.n_events
    assert obs.aeff is not None and obs.edisp is not None and obs.psf is not None and obs.bkg is not None
    offsets = obs.events.radec.separation(obs.get_pointing_icrs(obs.tmid)).deg
    assert offsets.max() < 3.0
    # the source is there: more events within 0.2 deg of the Crab than in a same-size region off it
    crab = next(s for s in SOURCES if s.tag == "crab")
    from astropy.coordinates import SkyCoord

    on = obs.events.radec.separation(SkyCoord(crab.ra, crab.dec, unit="deg")).deg < 0.2
    off = obs.events.radec.separation(SkyCoord(crab.ra, crab.dec - 1.0, unit="deg")).deg < 0.2
    assert on.sum() > 5 * off.sum()


def test_existing_release_is_not_overwritten(tiny_release):
    with pytest.raises(FileExistsError):
        simulate_release(tiny_release.path, SimulationConfig(sources=("crab",), runs_per_source=1))
