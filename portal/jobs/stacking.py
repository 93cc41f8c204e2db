"""Stacking the runs of a 1D analysis into one spectrum, when a joint fit over them is not safe.

The rule of ``stack=auto`` is :func:`portal.jobs.choices.should_stack` (pure Python, documented
there); this module measures what it needs and stacks with gammapy
(:meth:`Datasets.stack_reduce`: counts and off counts added within each run's safe range,
exposure and energy dispersion weighted by exposure, the off-region acceptance combined).
"""

from __future__ import annotations

import logging

import numpy as np
from gammapy.datasets import Datasets

from portal.jobs.binning import EnergyBinning
from portal.jobs.choices import StackDecision, should_stack
from portal.jobs.energy import set_fit_range

log = logging.getLogger(__name__)

__all__ = ["STACKED", "on_counts_per_bin", "decide", "stacked"]

STACKED = "stacked"  # the name of the stacked dataset


def _fitted(dataset) -> np.ndarray:
    mask = np.asarray(dataset.mask.data if dataset.mask is not None else np.ones(dataset.counts.data.shape, bool))
    return mask.astype(bool)


def on_counts_per_bin(datasets: Datasets) -> list[float]:
    """For each dataset, its on counts within the bins it fits (safe range and fit range) per such bin."""
    values = []
    for dataset in datasets:
        fitted = _fitted(dataset)
        n = int(fitted.sum())
        values.append(float(dataset.counts.data[fitted].sum()) / n if n else 0.0)
    return values


def decide(choice: str, datasets: Datasets, log: logging.Logger = log) -> StackDecision:
    """Whether to stack ``datasets`` under ``choice`` (auto, true, false), logged with the reason."""
    decision = should_stack(choice, on_counts_per_bin(datasets))
    log.info("%s the %d observation(s): %s", "Stacking" if decision.stack else "Not stacking", len(datasets),
             decision.reason)
    return decision


def stacked(datasets: Datasets, binning: EnergyBinning, log: logging.Logger = log) -> Datasets:
    """One stacked on/off spectrum of ``datasets``, with the fit range of ``binning``."""
    result = Datasets([datasets.stack_reduce(name=STACKED)])
    set_fit_range(result, binning)
    info = result[0].info_dict()
    log.info("Stacked spectrum of %d observations: livetime %.1f min, on %d, off %d, excess %.1f, significance "
             "%.1f sigma", len(datasets), info["livetime"].to_value("min"), info["counts"], info["counts_off"],
             info["excess"], info["sqrt_ts"])
    return result
