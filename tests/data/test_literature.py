"""The joint-crab paper (Nigro et al. 2019, A&A 625, A10) through the job service: H.E.S.S. DR1 and MAGIC
with the paper's choices, each within 1 sigma of the published log-parabola and equal to gammapy used
directly with the same choices; then the joint fit of the two instruments' datasets, equal to gammapy's
own joint fit of the same datasets."""

from __future__ import annotations

import io
import logging
import math
import tarfile
import time
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from tests.data.conftest import CRAB
from tests.support.watch import result, wait_final

pytestmark = [pytest.mark.requires_data, pytest.mark.slow, pytest.mark.timeout(1800)]

HESS_RUNS = [23523, 23526, 23559, 23592]
MAGIC_RUNS = [5029747, 5029748]
LN10 = math.log(10)
# the paper's log-parabolas (Table 3; beta in log10, as the paper writes it), amplitude at 1 TeV in cm-2 s-1 TeV-1
PAPER = {
    "hess": {"amplitude": (4.47e-11, 0.29e-11), "alpha": (2.39, 0.18), "beta": (0.37, 0.22)},
    "magic": {"amplitude": (4.15e-11, 0.30e-11), "alpha": (2.60, 0.10), "beta": (0.44, 0.11)},
}
# the paper's choices: H.E.S.S. 0.11 deg with containment correction, 0.66 to 30 TeV, the IRFs' thresholds;
# MAGIC the IRFs' RAD_MAX cut, 0.08 to 30 TeV; 20 reconstructed bins per decade (the default); a log-parabola
HESS = {"obs_ids": HESS_RUNS, "ra": CRAB[0], "dec": CRAB[1], "on_radius": 0.11, "containment_correction": True,
        "fit_e_min": 0.66, "fit_e_max": 30.0, "safe_range": "thresholds", "model": "lp", "e_min": 0.7,
        "e_max": 30.0, "n_bins": 6}
MAGIC = {"obs_ids": MAGIC_RUNS, "ra": CRAB[0], "dec": CRAB[1], "containment_correction": False, "fit_e_min": 0.08,
         "fit_e_max": 30.0, "model": "lp", "e_min": 0.1, "e_max": 10.0, "n_bins": 5}
figures = logging.getLogger("tests.data.literature")


@pytest.fixture(scope="module")
def service(tmp_path_factory, magic_release):
    from portal.archive.ingest import ingest_release
    from portal.archive.store import db_path
    from tests.conftest import gammapy_data
    from tests.data.conftest import analysis_service

    data_dir = tmp_path_factory.mktemp("literature")
    for path in (gammapy_data() / "hess-dl3-dr1", magic_release):
        ingest_release(db_path(data_dir), path)
    with analysis_service(data_dir, "nigro") as client:
        yield client


@pytest.fixture(scope="module")
def jobs(service):
    """The two instruments' jobs, then the joint fit of both (submitted once both completed)."""
    started = time.perf_counter()
    urls = {name: service.uws.create("spectrum", params, run=True) for name, params in (("hess", HESS),
                                                                                        ("magic", MAGIC))}
    done = {name: wait_final(service, url, started) for name, url in urls.items()}
    for name, watched in done.items():
        assert watched.phase == "COMPLETED", f"{name}: {watched.error}"
    joint = service.uws.create("joint_spectrum", {"jobs": ",".join(urls.values()), "model": "lp", "e_min": 0.1,
                                                   "e_max": 30.0, "n_bins": 8}, run=True)
    done["joint"] = wait_final(service, joint, started)
    done["urls"] = {**urls, "joint": joint}
    return done


def fitted(service, watched):
    import tempfile

    from portal.jobs.spectrum import read_model

    assert watched.phase == "COMPLETED", watched.error
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.yaml"
        path.write_bytes(result(service, watched, "model"))
        return read_model(path)["target"].spectral_model


def datasets_of(service, watched, folder: Path, prefix: str):
    """A job's ``datasets`` result read back with gammapy alone (Datasets.read), each renamed ``prefix-name``."""
    from gammapy.datasets import Datasets

    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(result(service, watched, "datasets"))) as tar:
        tar.extractall(folder, filter="data")
    datasets = Datasets.read(folder / "datasets.yaml", filename_models=folder / "models.yaml")
    models = datasets.models
    renamed = Datasets([d.copy(name=f"{prefix}-{d.name}") for d in datasets])
    renamed.models = models
    return renamed


def check_paper(name: str, model) -> None:
    values = {"amplitude": model.amplitude, "alpha": model.alpha, "beta": model.beta}
    text = []
    for key, par in values.items():
        scale = LN10 if key == "beta" else 1.0  # gammapy's natural log -> the paper's log10
        value, error = par.value * scale, par.error * scale
        paper, paper_error = PAPER[name][key]
        text.append(f"{key} {value:.4g} +- {error:.2g} (paper {paper:.4g} +- {paper_error:.2g}, "
                    f"{abs(value - paper) / paper_error:.2f} sigma)")
        assert abs(value - paper) <= paper_error, f"{name} {key}: {value:.4g}, paper {paper} +- {paper_error}"
    figures.warning("%s with the paper's choices: %s", name, "; ".join(text))


def direct_lp(observations, target, on_radius, containment_correction, fit_e_min):
    """The paper's 1D analysis written with gammapy alone: 20 bins per decade (reconstructed and true) through
    1 TeV over the effective areas' energies, reflected (circle) or three wobble (point region: RAD_MAX) off
    regions with the portal's exclusions, the IRFs' thresholds, the fit from ``fit_e_min`` to 30 TeV: a
    log-parabola."""
    from gammapy.datasets import Datasets
    from gammapy.modeling import Fit
    from gammapy.modeling.models import LogParabolaSpectralModel, SkyModel
    from regions import CircleSkyRegion, PointSkyRegion

    from tests.data.test_release_jobs import direct_fit, tutorial_axes

    region = PointSkyRegion(target) if on_radius is None else CircleSkyRegion(target, on_radius * u.deg)
    _, datasets = direct_fit(observations, target, region, tutorial_axes(observations, 1.0, 30.0, 4),
                             containment_correction, used_from=fit_e_min, fit_max=30.0)
    model = LogParabolaSpectralModel(alpha=2.5, beta=0.1, amplitude=1e-12 * u.Unit("cm-2 s-1 TeV-1"),
                                     reference=1 * u.TeV)
    datasets = Datasets(datasets)
    datasets.models = [SkyModel(spectral_model=model, name="direct")]
    assert Fit().run(datasets).success
    return model


def compare(name: str, ours, direct) -> None:
    for key in ("amplitude", "alpha", "beta"):
        a, b = getattr(ours, key), getattr(direct, key)
        assert a.value == pytest.approx(b.value, rel=1e-3), key
        assert a.error == pytest.approx(b.error, rel=1e-3), key
    figures.warning("%s job = gammapy directly: alpha %.5f / %.5f, beta %.5f / %.5f", name, ours.alpha.value,
                    direct.alpha.value, ours.beta.value, direct.beta.value)


def test_hess_with_the_papers_choices(jobs, service):
    from gammapy.data import DataStore

    from tests.conftest import gammapy_data

    ours = fitted(service, jobs["hess"])
    check_paper("hess", ours)
    observations = DataStore.from_dir(gammapy_data() / "hess-dl3-dr1").get_observations(HESS_RUNS)
    direct = direct_lp(observations, SkyCoord(*CRAB, unit="deg"), 0.11, True, 0.66)
    compare("H.E.S.S.", ours, direct)


def test_magic_with_the_papers_choices(jobs, service, magic_release):
    from gammapy.data import DataStore

    ours = fitted(service, jobs["magic"])
    check_paper("magic", ours)
    observations = DataStore.from_dir(magic_release).get_observations(MAGIC_RUNS, required_irf="point-like")
    direct = direct_lp(observations, SkyCoord(*CRAB, unit="deg"), None, False, 0.08)
    compare("MAGIC", ours, direct)


def test_the_datasets_result_reads_back_with_gammapy(jobs, service, tmp_path):
    hess = datasets_of(service, jobs["hess"], tmp_path / "hess", "hess")
    assert sorted(d.name for d in hess) == sorted(f"hess-{i}" for i in HESS_RUNS)  # 4 runs, not stacked
    refit = datasets_of(service, jobs["hess"], tmp_path / "again", "again")
    from gammapy.modeling import Fit

    model = refit.models["target"].spectral_model
    expected = fitted(service, jobs["hess"])
    Fit().run(refit)  # from the fitted values: the same optimum
    assert model.alpha.value == pytest.approx(expected.alpha.value, rel=1e-3)


def test_joint_fit_equals_gammapys_joint_fit_of_the_same_datasets(jobs, service, tmp_path):
    """The forward-folded joint likelihood of H.E.S.S. and MAGIC: the job against gammapy reading the two
    jobs' datasets results and fitting one log-parabola to all of them."""
    import json

    from gammapy.datasets import Datasets
    from gammapy.modeling import Fit
    from gammapy.modeling.models import LogParabolaSpectralModel, SkyModel

    joint = jobs["joint"]
    assert joint.phase == "COMPLETED", joint.error
    ours = fitted(service, joint)
    datasets = Datasets([*datasets_of(service, jobs["hess"], tmp_path / "h", "h"),
                         *datasets_of(service, jobs["magic"], tmp_path / "m", "m")])
    model = LogParabolaSpectralModel(alpha=2.5, beta=0.1, amplitude=1e-12 * u.Unit("cm-2 s-1 TeV-1"),
                                     reference=1 * u.TeV)
    datasets.models = [SkyModel(spectral_model=model, name="direct")]
    assert Fit().run(datasets).success
    for key in ("amplitude", "alpha", "beta"):
        assert getattr(ours, key).value == pytest.approx(getattr(model, key).value, rel=1e-3), key
        assert getattr(ours, key).error == pytest.approx(getattr(model, key).error, rel=1e-3), key
    figures.warning("joint H.E.S.S. + MAGIC: amplitude %.4g +- %.2g, alpha %.4f +- %.4f, beta(log10) %.4f +- %.4f "
                    "(paper, five instruments: 3.85e-11, 2.51 +- 0.03, 0.24 +- 0.02)", ours.amplitude.value,
                    ours.amplitude.error, ours.alpha.value, ours.alpha.error, LN10 * ours.beta.value,
                    LN10 * ours.beta.error)
    # the joint fit is tighter than either instrument alone
    hess, magic = fitted(service, jobs["hess"]), fitted(service, jobs["magic"])
    assert ours.alpha.error < min(hess.alpha.error, magic.alpha.error)
    # provenance: used the two datasets results (by SHA-256), the products derived from them
    provenance = json.loads(result(service, joint, "provenance"))
    hess_id, magic_id = (jobs["urls"][k].rstrip("/").rsplit("/", 1)[-1] for k in ("hess", "magic"))
    used = {f"portal:job_{hess_id}_result_datasets", f"portal:job_{magic_id}_result_datasets"}
    assert {u["prov:entity"] for u in provenance["used"].values()} >= used
    derived = list(provenance["wasDerivedFrom"].values())
    assert {d["prov:usedEntity"] for d in derived} == used
    assert {d["prov:generatedEntity"].rsplit("_result_", 1)[1] for d in derived} >= {"model", "flux_points",
                                                                                      "datasets"}
    inputs = json.loads(result(service, joint, "inputs"))
    assert [j["job_id"] for j in inputs["jobs"]] == [hess_id, magic_id]
    hess_provenance = json.loads(result(service, jobs["hess"], "provenance"))
    sha = next(e for k, e in hess_provenance["entity"].items() if k.endswith("_result_datasets"))["portal:sha256"]
    assert provenance["entity"][f"portal:job_{hess_id}_result_datasets"]["portal:sha256"] == sha
    assert np.isfinite(ours.alpha.error)
