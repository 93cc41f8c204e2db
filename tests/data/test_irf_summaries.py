"""The ingest's own IRF reader (``portal.archive.irf``, kept for speed) against gammapy's reading of the
same files, for every release the tests use: H.E.S.S. DR1 (nodes, PSF table), MAGIC (scalar axes,
one offset bin, RAD_MAX_2D), the VERITAS-like and fixed-RAD_MAX releases made from them, the simulated
CTAO release (prod5 bins, triple-Gaussian PSF), the parametric simulation and the point-like test release.
"""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

from portal.archive import irf
from tests.data.conftest import HESS_CRAB_RUNS

NEEDS_DATA = pytest.mark.requires_data  # the releases made from $GAMMAPY_DATA's files
# "parametric" and "pointlike-test" are written by the tests themselves, so they run offline too
RELEASES = [*(pytest.param(name, marks=NEEDS_DATA) for name in (
    "hess-dl3-dr1", "magic", "magic-veritas-like", "hess-veritas-like", "hess-fixed-rad-max", "ctao")),
    "parametric", "pointlike-test"]


@pytest.fixture(scope="module", params=RELEASES)
def release(request, tmp_path_factory) -> tuple[str, Path, list[int] | None]:
    from tests.archive.releases import make_pointlike_release
    from tests.conftest import gammapy_data

    name = request.param
    if name == "hess-dl3-dr1":
        return name, gammapy_data() / "hess-dl3-dr1", HESS_CRAB_RUNS
    if name == "parametric":
        return name, request.getfixturevalue("tiny_release").path, None
    if name == "pointlike-test":
        return name, make_pointlike_release(tmp_path_factory.mktemp("pointlike") / "pointlike"), None
    return name, request.getfixturevalue("releases")[name], None


def observations(release_dir: Path, obs_ids: list[int] | None):
    """(gammapy's Observation, the HDUs by type as astropy reads them) for each observation: at least one,
    so that no test here passes having checked nothing."""
    from portal.jobs.observations import open_release

    store = open_release(release_dir)
    ids = obs_ids or [int(i) for i in store.obs_table["OBS_ID"]]
    assert ids, f"{release_dir} has no observations to check"
    for obs_id in ids:
        obs = store.obs(obs_id, required_irf=["aeff"])
        hdus = {}
        for kind in ("aeff", "edisp", "psf", "rad_max"):
            location = store.hdu_table.hdu_location(obs_id=obs_id, hdu_type=kind, warn_missing=False)
            if location is not None:
                with fits.open(location.path(abs_path=True)) as hdul:
                    hdus[kind] = fits.BinTableHDU(hdul[location.hdu_name].data.copy(),
                                                  header=hdul[location.hdu_name].header.copy())
        yield obs, hdus


def node(axis, value: u.Quantity) -> u.Quantity:
    """The node of a gammapy axis that the bin (or nearest node) holding ``value`` stands for."""
    return axis.center[int(np.clip(np.ravel(axis.coord_to_idx(value, clip=True))[0], 0, axis.nbin - 1))]


def test_field_of_view_and_energy_range(release):
    from portal.jobs.observations import offset_range

    name, path, ids = release
    for obs, hdus in observations(path, ids):
        ours = irf.aeff_summary(hdus["aeff"])
        lo, hi = offset_range(obs)  # gammapy's axes: bin edges, or the first and last nodes
        assert (ours["fov_min"], ours["fov_radius"]) == pytest.approx((lo.deg, hi.deg), rel=1e-6), name
        energy = obs.aeff.axes["energy_true"].edges.to_value("TeV")
        assert (ours["e_min"], ours["e_max"]) == pytest.approx((energy[0], energy[-1]), rel=1e-6), name
        assert ours.get("safe_min") == obs.aeff.meta.get("LO_THRES")
        assert ours.get("safe_max") == obs.aeff.meta.get("HI_THRES")
        assert (ours["irf_type"] == "point-like") == obs.aeff.is_pointlike


def test_point_like_cut(release):
    name, path, ids = release
    for obs, hdus in observations(path, ids):
        if not obs.aeff.is_pointlike:
            assert "rad_max" not in hdus and obs.rad_max is None
            continue
        cuts = obs.rad_max  # a RAD_MAX_2D HDU, or gammapy's RadMax2D.from_irf of the RAD_MAX keyword
        energy, offset = cuts.axes["energy"], cuts.axes["offset"]
        expected = cuts.evaluate(energy=node(energy, 1 * u.TeV), offset=node(offset, 0.5 * u.deg)).to_value("deg")
        ours = irf.rad_max(hdus["rad_max"]) if "rad_max" in hdus else irf.aeff_summary(hdus["aeff"])["rad_max"]
        assert ours == pytest.approx(float(expected), rel=1e-6), name
        assert cuts.is_fixed_rad_max == ("rad_max" not in hdus or cuts.data.size == 1)


def test_psf_containment_radius(release):
    name, path, ids = release
    checked = 0
    for obs, hdus in observations(path, ids):
        if "psf" not in hdus:
            continue
        energy, offset = obs.psf.axes["energy_true"], obs.psf.axes["offset"]
        expected = obs.psf.containment_radius(0.68, energy_true=node(energy, 1 * u.TeV),
                                              offset=node(offset, 0.5 * u.deg)).to_value("deg")
        # PSF tables agree within 0.05% (DR1); gammapy integrates parametric PSFs on its default rad grid:
        # 1.3% apart for prod5's triple Gaussian
        assert irf.psf_r68(hdus["psf"], 0.5) == pytest.approx(float(expected), rel=0.02), name
        checked += 1
    assert checked or name in ("magic", "magic-veritas-like", "hess-fixed-rad-max", "pointlike-test")


def test_energy_dispersion(release):
    name, path, ids = release
    for obs, hdus in observations(path, ids):
        edisp = obs.edisp
        energy, offset, migra = (edisp.axes[n] for n in ("energy_true", "offset", "migra"))
        density = edisp.evaluate(energy_true=node(energy, 1 * u.TeV), offset=node(offset, 0.5 * u.deg),
                                 migra=migra.center).to_value("")
        cdf = np.concatenate([[0], np.cumsum(density * migra.bin_width.to_value(""))])
        expected = np.interp([0.16, 0.84], cdf / cdf[-1], migra.edges.to_value(""))
        np.testing.assert_allclose(irf.migration_quantiles(hdus["edisp"], 0.5), expected, rtol=1e-5, err_msg=name)
