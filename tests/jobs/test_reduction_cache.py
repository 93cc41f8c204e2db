"""The shared reduction cache (portal.jobs.reduction_cache) on two H.E.S.S. DR1 Crab runs, few bins.

A change of any choice the reduction depends on, or of an input file, misses the cache; a change of a
choice that acts after it (the model, the flux points, stacking) hits it; the results are the same with
and without it; the size bound holds; a vanished or damaged entry is reduced again; the job says so in
its log, its ``inputs`` result and its provenance.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.jobs.conftest import CRAB


RUNS = [23523, 23526]
BASE = {"ra": CRAB[0], "dec": CRAB[1], "on_radius": 0.11, "e_min": 1.0, "e_max": 10.0, "n_bins": 2,
        "reco_bins_per_decade": 20, "containment_correction": True, "n_off_regions": 3, "exclusion": "auto",
        "safe_range": "auto", "aeff_percent": 10.0, "bias_percent": 10.0, "offset_max": None, "e_threshold": None}


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _logger(name: str) -> tuple[logging.Logger, Records]:
    logger = logging.getLogger(f"tests.jobs.reduction_cache.{name}")
    logger.setLevel(logging.INFO)
    records = Records()
    logger.handlers[:] = [records]
    return logger, records


def _open(release: Path, runs=RUNS):
    from portal.jobs.observations import load_observations
    from portal.archive.locate import ObservationLocation

    observations, files = load_observations([ObservationLocation(i, release) for i in runs])
    by_obs: dict[int, list] = {}
    for item in files:
        if "obs_id" in item.attributes:
            by_obs.setdefault(int(item.attributes["obs_id"]), []).append(item)
    return observations, by_obs


@pytest.fixture(scope="module")
def opened(dr1):
    return _open(dr1)


def _cache(folder: Path, files, max_bytes: int = 10**9, logger=None):
    from portal.jobs.reduction_cache import ReductionCache, observation_sources

    return ReductionCache(folder, max_bytes, observation_sources(files), log=logger or logging.getLogger(__name__))


def _reduce(observations, cache, logger=None, **changes):
    """Only the reduction (reduce_1d) with BASE changed by ``changes``."""
    from portal.jobs.binning import binning_of
    from portal.jobs.choices import parse_exclusion
    from portal.jobs.observations import target_coord
    from portal.jobs.onoff import OnOffOptions, reduce_1d
    from portal.jobs.safe import SafeRange

    p = {**BASE, **changes}
    binning = binning_of(p["e_min"], p["e_max"], p["n_bins"], p.get("fit_e_min"), p.get("fit_e_max"),
                         p["reco_bins_per_decade"])
    options = OnOffOptions(p["on_radius"], p["containment_correction"],
                           SafeRange(p["safe_range"], p["aeff_percent"], p["bias_percent"], p["offset_max"],
                                     p["e_threshold"]),
                           p["n_off_regions"], True, parse_exclusion(p["exclusion"]))
    reduction, _ = reduce_1d(observations, target_coord(p["ra"], p["dec"]), binning, options, None, 1, None,
                             logger or logging.getLogger(__name__), cache=cache)
    return reduction


# (first, then): every choice the reduction depends on, changed
REDUCTION_CHOICES = {
    "ra": ({}, {"ra": CRAB[0] + 0.02}),
    "dec": ({}, {"dec": CRAB[1] - 0.02}),
    "on_radius": ({}, {"on_radius": 0.15}),
    "reco_bins_per_decade": ({}, {"reco_bins_per_decade": 10}),
    "e_max beyond the instrument (the axes grow)": ({}, {"e_max": 200.0}),
    "fit_e_min below the instrument (the axes grow)": ({}, {"fit_e_min": 0.005, "fit_e_max": 10.0}),
    "safe_range": ({}, {"safe_range": "aeff-max"}),
    "aeff_percent": ({"safe_range": "aeff-max"}, {"safe_range": "aeff-max", "aeff_percent": 5.0}),
    "bias_percent": ({"safe_range": "edisp-bias"}, {"safe_range": "edisp-bias", "bias_percent": 5.0}),
    "offset_max": ({}, {"offset_max": 2.5}),
    "e_threshold": ({"safe_range": "fixed", "e_threshold": 1.0}, {"safe_range": "fixed", "e_threshold": 0.8}),
    "exclusion none": ({}, {"exclusion": "none"}),
    "exclusion circles": ({}, {"exclusion": "83.0 21.0 0.3"}),
    "containment_correction": ({}, {"containment_correction": False}),
}


@pytest.mark.requires_data
@pytest.mark.parametrize("choice", list(REDUCTION_CHOICES))
def test_a_changed_reduction_choice_misses_the_cache(choice, opened, tmp_path):
    first, then = REDUCTION_CHOICES[choice]
    observations, files = opened
    _reduce(observations, _cache(tmp_path, files), **first)
    again = _cache(tmp_path, files)
    _reduce(observations, again, **first)
    assert sorted(again.reused) == RUNS and again.stored == {}
    changed = _cache(tmp_path, files)
    logger, records = _logger(choice.split()[0])
    _reduce(observations, changed, logger=logger, **then)
    assert changed.reused == {}, f"{choice}: {changed.reused}"
    assert sorted(changed.stored) == RUNS
    assert [line for line in records.lines if line.endswith(("reduced", "(cache)"))] == \
        [f"Observation {i}: reduced" for i in RUNS]


def test_n_off_regions_is_in_the_key_where_the_reduction_uses_it():
    """Wobble off regions are counted only around a point region (an energy-dependent cut); H.E.S.S.'s
    full-enclosure runs ignore ``n_off_regions``, and so does their key (see the hit test below)."""
    from gammapy.maps import MapAxis
    from regions import PointSkyRegion

    from portal.jobs.observations import target_coord
    from portal.jobs.onoff import OnRegion
    from portal.jobs.reduction_cache import ReductionCache, reduction_choices
    from portal.jobs.safe import SafeRange

    target = target_coord(*CRAB)
    axis = MapAxis.from_energy_bounds(0.1, 100, 60, unit="TeV")
    true = MapAxis.from_energy_bounds(0.05, 200, 72, unit="TeV", name="energy_true")
    cache = ReductionCache(Path("/nonexistent"), 1, {23523: "files"})
    keys = {n: cache.key(23523, reduction_choices(target, OnRegion(PointSkyRegion(target), 0.2, False, True, n),
                                                  axis, true, None, SafeRange())) for n in (2, 3)}
    assert keys[2] != keys[3]


@pytest.mark.requires_data
def test_a_new_gammapy_version_misses_the_cache(opened, tmp_path, monkeypatch):
    import gammapy

    observations, files = opened
    _reduce(observations, _cache(tmp_path, files))
    monkeypatch.setattr(gammapy, "__version__", gammapy.__version__ + ".post1")
    changed = _cache(tmp_path, files)
    _reduce(observations, changed)
    assert changed.reused == {}


@pytest.mark.parametrize("changes", [{"n_bins": 1}, {"e_max": 20.0}, {"e_min": 2.0},
                                     {"fit_e_min": 1.0, "fit_e_max": 10.0}, {"n_off_regions": 2}])
@pytest.mark.requires_data
def test_choices_of_the_fit_and_the_flux_points_hit_the_cache(changes, opened, tmp_path):
    observations, files = opened
    _reduce(observations, _cache(tmp_path, files))
    logger, records = _logger("hit")
    again = _cache(tmp_path, files)
    _reduce(observations, again, logger=logger, **changes)
    assert sorted(again.reused) == RUNS and again.stored == {}
    assert [f"Observation {i}: reduction reused (cache)" for i in RUNS] == \
        [line for line in records.lines if line.endswith(("reduced", "(cache)"))]


def _fit(observations, cache, model: str, stack: str = "auto"):
    from portal.jobs.observations import target_coord
    from portal.jobs.spectrum import analyse_spectrum

    result = analyse_spectrum(observations, target_coord(*CRAB), model=model, e_min=1.0, e_max=10.0, n_bins=2,
                              stack=stack, cache=cache, log=logging.getLogger(__name__))
    values = {p.name: (p.value, p.error) for p in result.model.spectral_model.parameters.free_parameters}
    return result, values


@pytest.mark.requires_data
@pytest.mark.parametrize("stack", ["false", "true"])
def test_another_model_reuses_the_reduction_and_gives_the_same_results(opened, tmp_path, stack):
    observations, files = opened
    _fit(observations, _cache(tmp_path, files), "pl", stack)
    cache = _cache(tmp_path, files)
    cached, values = _fit(observations, cache, "lp", stack)
    assert sorted(cache.reused) == RUNS and cache.stored == {}
    plain, expected = _fit(observations, None, "lp", stack)
    assert values.keys() == expected.keys()
    for name, (value, error) in expected.items():
        assert values[name][0] == pytest.approx(value, rel=1e-6), name
        assert values[name][1] == pytest.approx(error, rel=1e-6), name
    assert cached.fit.total_stat == pytest.approx(plain.fit.total_stat, rel=1e-6)
    np.testing.assert_allclose(cached.flux_points.dnde.data, plain.flux_points.dnde.data, rtol=1e-6)
    for mine, theirs in zip(cached.reduction.datasets, plain.reduction.datasets, strict=True):
        assert mine.name == theirs.name
        assert mine.exposure.meta["livetime"] == theirs.exposure.meta["livetime"]
        assert mine.acceptance.data.dtype == theirs.acceptance.data.dtype
        for attr in ("counts", "counts_off", "acceptance", "acceptance_off", "exposure", "mask_safe"):
            assert np.array_equal(getattr(mine, attr).data, getattr(theirs, attr).data), attr
        assert np.array_equal(mine.edisp.edisp_map.data, theirs.edisp.edisp_map.data)


@pytest.mark.requires_data
def test_a_changed_input_file_misses_the_cache(dr1, tmp_path):
    from astropy.io import fits

    release = tmp_path / "release"
    (release / "data").mkdir(parents=True)
    for name in ("hdu-index.fits.gz", "obs-index.fits.gz"):
        shutil.copyfile(dr1 / name, release / name)
    for run in RUNS:
        name = f"hess_dl3_dr1_obs_id_{run:06d}.fits.gz"
        shutil.copyfile(dr1 / "data" / name, release / "data" / name)
    observations, files = _open(release)
    folder = tmp_path / "cache"
    _reduce(observations, _cache(folder, files))
    altered = release / "data" / f"hess_dl3_dr1_obs_id_{RUNS[1]:06d}.fits.gz"
    with fits.open(altered) as hdulist:  # the same events, one header card more: another file
        hdulist[1].header["COMMENT"] = "altered for the reduction-cache test"
        hdulist.writeto(altered, overwrite=True)
    observations, files = _open(release)
    cache = _cache(folder, files)
    _reduce(observations, cache)
    assert list(cache.reused) == [RUNS[0]] and list(cache.stored) == [RUNS[1]]


@pytest.mark.requires_data
def test_eviction_keeps_the_size_bound_least_recently_used_first(opened, tmp_path):
    from portal.jobs.reduction_cache import DATASET, ReductionCache

    observations, files = opened
    cache = _cache(tmp_path, files)
    _reduce(observations, cache)
    _reduce(observations, _cache(tmp_path, files), on_radius=0.15)
    paths = sorted(path for _, _, path in cache.entries())
    assert len(paths) == 4 and all(path.suffix == DATASET for path in paths)
    for age, path in enumerate(paths):  # a distinct last use each, without waiting: paths[0] the oldest
        os.utime(path, (1e9 + age, 1e9 + age))
    assert cache.load(paths[0].name.removesuffix(DATASET), RUNS[0]) is not None  # now the most recent
    sizes = {path: path.stat().st_size for path in paths}
    bound = sizes[paths[0]] + sizes[paths[3]] + 1
    small = ReductionCache(tmp_path, bound, cache.sources)
    freed = small.evict()
    assert freed == sizes[paths[1]] + sizes[paths[2]]
    assert sorted(path for _, _, path in small.entries()) == [paths[0], paths[3]]
    assert small.size() <= bound


@pytest.mark.requires_data
def test_storing_past_the_bound_evicts_while_a_job_keeps_what_it_read(opened, tmp_path):
    observations, files = opened
    _reduce(observations, _cache(tmp_path, files))
    one = max(size for _, size, _ in _cache(tmp_path, files).entries())
    reader = _cache(tmp_path, files, max_bytes=one + 1)
    first = _reduce(observations, reader)  # reads both back
    writer = _cache(tmp_path, files, max_bytes=one + 1)
    _reduce(observations, writer, on_radius=0.15)  # stores two more: only one entry fits
    assert writer.size() <= one + 1 and len(writer.entries()) <= 1
    assert [d.name for d in first.datasets] == [str(i) for i in RUNS]
    assert all(d.counts.data.sum() > 0 for d in first.datasets)  # the reader's copies are whole


@pytest.mark.requires_data
@pytest.mark.parametrize("damage", ["vanished", "damaged"])
def test_a_vanished_or_damaged_entry_is_reduced_again(damage, opened, tmp_path):
    observations, files = opened
    first = _cache(tmp_path, files)
    expected = _reduce(observations, first)
    path = first.path(first.stored[RUNS[0]])
    if damage == "vanished":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[:5000])
    logger, records = _logger(damage)
    cache = _cache(tmp_path, files, logger=logger)
    reduction = _reduce(observations, cache, logger=logger)
    assert list(cache.reused) == [RUNS[1]] and list(cache.stored) == [RUNS[0]]
    assert f"Observation {RUNS[0]}: reduced" in records.lines
    assert (damage == "damaged") == any("damaged" in line for line in records.lines)
    for mine, theirs in zip(reduction.datasets, expected.datasets, strict=True):
        assert np.array_equal(mine.counts_off.data, theirs.counts_off.data)
    assert cache.path(first.stored[RUNS[0]]) is not None  # kept again


@pytest.mark.requires_data
def test_a_left_out_observation_is_cached_with_its_reason(dr1, tmp_path):
    runs = [23523, 23559]  # 0.5 and 1.5 deg from the Crab
    observations, files = _open(dr1, runs)
    first = _cache(tmp_path, files)
    reduction = _reduce(observations, first, offset_max=1.0)
    assert list(reduction.left_out) == [23559]
    assert first.path(first.stored[23559]).suffix == ".json"
    again = _cache(tmp_path, files)
    assert _reduce(observations, again, offset_max=1.0).left_out == reduction.left_out
    assert sorted(again.reused) == runs


def _relations(document: dict, kind: str) -> list[dict]:
    """The relations of a PROV-JSON document (one id may hold a list of them)."""
    found = []
    for value in document.get(kind, {}).values():
        found.extend(value if isinstance(value, list) else [value])
    return found


class ServiceContext:
    """The in-process LocalContext with what the job service's context adds: its jobs folder, notes."""

    def __init__(self, release: Path, data_dir: Path, name: str) -> None:
        from tests.jobs.local_context import LocalContext

        self.local = LocalContext(release, data_dir / "uws" / "jobs" / name, job_id=name)
        self.jobs_dir = data_dir / "uws" / "jobs"
        self.notes: dict[str, str] = {}
        self.log, self.records = _logger(name)

    def note(self, name: str, value) -> None:
        self.notes[name] = str(value)

    def __getattr__(self, name):
        return getattr(self.local, name)


@pytest.mark.requires_data
def test_the_job_says_which_reductions_it_reused(dr1, tmp_path, monkeypatch):
    from portal.jobs import spectrum
    from portal.provenance.record import ProvenanceInfo, build

    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PORTAL_REDUCTION_CACHE_BYTES", raising=False)
    params = {"obs_ids": RUNS, "ra": CRAB[0], "dec": CRAB[1], "on_radius": 0.11, "model": "pl", "e_min": 1.0,
              "e_max": 10.0, "n_bins": 2}
    first = ServiceContext(dr1, tmp_path, "first")
    spectrum.run(first, params)
    # the observations are reduced in parallel: their lines come in the order they end
    assert sorted(f"Observation {i}: reduced" for i in RUNS) == \
        sorted(x for x in first.records.lines if x.endswith("reduced"))
    stored = first.notes["reductionsStored"].split(",")
    assert len(stored) == 2 and (tmp_path / "cache" / "reductions" / f"{stored[0]}.pickle").is_file()
    second = ServiceContext(dr1, tmp_path, "second")
    spectrum.run(second, {**params, "model": "lp"})
    assert sorted(f"Observation {i}: reduction reused (cache)" for i in RUNS) == \
        sorted(x for x in second.records.lines if x.endswith("(cache)"))
    inputs = json.loads(second.published["inputs"][-1].read_text())
    assert inputs["decisions"]["reduction"]["value"] == {"reused": RUNS, "reduced": []}
    used = [(path, attrs) for path, role, attrs in second.inputs if role == "reduction"]
    assert [attrs["reduction"] for _, attrs in used] == stored and [attrs["obs_id"] for _, attrs in used] == RUNS
    assert second.notes["reductionReused"] == ",".join(map(str, RUNS)) and "reductionsStored" not in second.notes

    def record(ctx, notes):
        return json.loads(build(ProvenanceInfo(
            job_id=ctx.job_id, definition="spectrum", description="", owner="tester", phase="COMPLETED", start=None,
            end=None, parameters=[], notes=notes,
            inputs=[{"path": str(p), "role": role, "sha256": None, "attributes": a} for p, role, a in ctx.inputs],
            results=[{"id": "model", "path": "results/model.yaml", "mime_type": "application/yaml"}],
        )).serialize(format="json"))

    earlier = record(first, first.notes)
    later = record(second, second.notes)
    ids = {f"portal:reduction_{key}" for key in stored}
    assert ids <= set(earlier["entity"]) and ids <= set(later["entity"])
    assert {g["prov:entity"] for g in _relations(earlier, "wasGeneratedBy")} >= ids
    assert {u["prov:entity"] for u in _relations(later, "used")} >= ids
    derived = {(d["prov:generatedEntity"], d["prov:usedEntity"]) for d in _relations(later, "wasDerivedFrom")}
    assert derived == {("portal:job_second_result_model", i) for i in ids}


def test_the_cache_is_off_for_jobs_outside_the_data_dir_or_at_zero_bytes(tmp_path):
    from portal.jobs.reduction_cache import for_job

    class Ctx:
        log = logging.getLogger(__name__)
        jobs_dir = tmp_path / "data" / "uws" / "jobs"

    env = {"PORTAL_DATA_DIR": str(tmp_path / "data")}
    assert for_job(Ctx(), {}, env).folder == tmp_path / "data" / "cache" / "reductions"
    assert for_job(Ctx(), {}, {**env, "PORTAL_REDUCTION_CACHE_BYTES": "0"}) is None
    assert for_job(Ctx(), {}, {"PORTAL_DATA_DIR": str(tmp_path / "elsewhere")}) is None
    Ctx.jobs_dir = None
    assert for_job(Ctx(), {}, env) is None


_UNPICKLED: list = []


def _unpickled(text: str) -> str:
    _UNPICKLED.append(text)
    return text


class _Runs:
    """A pickle that says when it is read (a pickle is code: it runs what it names)."""

    def __reduce__(self):
        return _unpickled, ("read",)


@pytest.mark.parametrize("how", ["writable by others", "a link"])
def test_an_entry_anyone_else_could_have_written_is_not_unpickled(how, tmp_path):
    import pickle

    from portal.jobs.reduction_cache import DATASET, ReductionCache

    cache = ReductionCache(tmp_path / "cache", 10**9, {23523: "digest"})
    cache.folder.mkdir(mode=0o700)
    key = cache.key(23523, {"choice": 1})
    entry, raw = cache.folder / f"{key}{DATASET}", pickle.dumps(_Runs())
    if how == "a link":
        elsewhere = tmp_path / "elsewhere.pickle"
        elsewhere.write_bytes(raw)
        elsewhere.chmod(0o600)
        entry.symlink_to(elsewhere)
    else:
        entry.write_bytes(raw)
        entry.chmod(0o666)
    _UNPICKLED.clear()
    assert cache.load(key, 23523) is None and _UNPICKLED == []  # reduced again, the file left as it is
    assert entry.is_symlink() or entry.is_file()
    os.chmod(elsewhere if how == "a link" else entry, 0o600)
    if how == "a link":
        entry.unlink()
        entry.write_bytes(raw)
        entry.chmod(0o600)
    assert cache.load(key, 23523) is None and _UNPICKLED == ["read"]  # its own entry is read (a damaged one: a miss)
