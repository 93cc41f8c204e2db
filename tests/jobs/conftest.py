"""Fixtures of the analysis tests: H.E.S.S. DR1 observations and shared (expensive) analyses."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

CRAB = (83.633, 22.014)
CRAB_RUNS = [23523, 23526, 23559, 23592]  # 0.5 and 1.5 deg from the Crab
PKS2155 = (329.71693826, -30.2255890)
# Three nights: the July 2006 flare and two quiet nights of August 2008.
PKS2155_RUNS = [33787, 33788, 47802, 47827]


@pytest.fixture(scope="session")
def dr1() -> Path:
    return Path(os.environ["GAMMAPY_DATA"]) / "hess-dl3-dr1"


@pytest.fixture(scope="session")
def data_store(dr1):
    from gammapy.data import DataStore

    return DataStore.from_dir(dr1)


@pytest.fixture(scope="session")
def crab_observations(data_store):
    return data_store.get_observations(CRAB_RUNS, required_irf=["aeff", "edisp", "bkg"])


@pytest.fixture(scope="session")
def crab_spectrum(crab_observations):
    """The spectral analysis of the Crab (power law, 4 flux points, with their sensitivity), with every
    intermediate SED."""
    from portal.jobs.observations import target_coord
    from portal.jobs.spectrum import analyse_spectrum

    seen = []
    result = analyse_spectrum(crab_observations, target_coord(*CRAB), model="pl", e_min=1.0, e_max=30.0, n_bins=4,
                              sensitivity=True,
                              on_flux_point=lambda points, done, total: seen.append((points, done, total)),
                              log=logging.getLogger("tests.jobs.crab"))
    return result, seen
