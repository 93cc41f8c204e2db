"""A simulated release of many short, low-count runs of a known log-parabola (``faint-lp`` of
:mod:`portal.datasets.sources`), for the stacking tests and the analysis benchmark."""

from __future__ import annotations

import os
from pathlib import Path

from portal.datasets.sources import source_by_tag

_SOURCE = source_by_tag("faint-lp")
SOURCE = {"ra": _SOURCE.ra, "dec": _SOURCE.dec}
TRUTH = {"amplitude": float(_SOURCE.spectral["amplitude"].split()[0]), "alpha": _SOURCE.spectral["alpha"],
         "beta": _SOURCE.spectral["beta"]}
FIRST_OBS_ID = 300001
ONTIME_MIN = 2.0  # minutes per run: a few counts per bin, as FACT's short Crab runs


def simulate_low_count_release(path: Path, n_runs: int) -> Path:
    """``n_runs`` runs of two minutes of the faint log-parabola (CTAO-North prod5 IRFs from ``$GAMMAPY_DATA``,
    else parametric ones), written as a GADF release at ``path``."""
    from portal.datasets.plan import SimulationConfig
    from portal.datasets.simulate import simulate_release

    caldb = Path(os.environ.get("GAMMAPY_DATA", "/nonexistent")) / "cta-caldb"
    config = SimulationConfig(sources=("faint-lp",), runs_per_source=n_runs, ontime_min=ONTIME_MIN, gap_min=0.5,
                              fov_radius=1.5, first_obs_id=FIRST_OBS_ID)
    return simulate_release(Path(path), config, caldb=caldb if caldb.is_dir() else None, overwrite=True).path
