"""gammapy's likelihood evaluations without the work that does not change their values (issue 22).

A fit or a flux point evaluates the statistic hundreds of times; profiled in a `spectrum` job (4 H.E.S.S.
runs, gammapy 2.0), most of each evaluation's time was bookkeeping around the numbers, not the numbers:

- :meth:`gammapy.datasets.Datasets.stat_sum` rebuilds the datasets' models and their covariance matrix at
  every call, only to read the parameters' priors (40 % of a fit);
- building a covariance asks whether ``ray`` is running with ``from ray import ...``: without ``ray``
  installed, every call searches the whole import path for it, and fails (a fifth of a fit);
- a norm-only change (the flux points' whole work: norm fit, errors, upper limit, profile) scales the
  cached predicted counts with map arithmetic, which deep-copies the map's geometry, WCS and region
  included (half of a flux point's time).

:func:`fast_statistics` removes these three for the ``with`` block, in this process and in the processes it
forks: the statistic is summed the same way from the same values (priors of the same parameters, the
datasets' own ``stat_sum``), ``ray`` is marked absent when it is not installed (its import fails at once, as
it would after the search), and map arithmetic shares the (never modified) geometry with its result instead
of copying it. gammapy's own code computes every value; the tests check that fits and flux points are equal
bit for bit with and without (``tests/jobs/test_fastpaths.py``).

What the block skips: at each evaluation, gammapy also resets the models' covariance to the one the
datasets had when their models were set (a side effect of rebuilding the models). A fit sets the covariance
it estimates after its last evaluation and the estimators read it at once, so no value changes; the tests
compare the parameter errors too. Outside the gammapy versions this was checked on (:data:`CHECKED`), the
statistic is gammapy's own.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["CHECKED", "fast_statistics"]

CHECKED = ("2.0.",)  # gammapy versions whose Datasets.stat_sum the fast sum was compared with
_lock = threading.Lock()
_depth = 0
_saved: dict[str, object] = {}


def _stat_sum(self) -> float:
    """:meth:`Datasets.stat_sum` without rebuilding the models: the datasets' statistics plus the priors of
    the parameters of their models (each model once, in the order gammapy lists them)."""
    models: dict = {}
    for dataset in self:
        if dataset.models is not None:
            for model in dataset.models:
                models[model] = model
    prior_stat_sum = 0.0
    for model in models:
        for par in model.parameters:
            if par.prior is not None:
                prior_stat_sum += par.prior_stat_sum()
    stat_sum = 0.0
    for dataset in self:
        stat_sum += dataset.stat_sum()
    return stat_sum + prior_stat_sum


def _install() -> None:
    import gammapy
    from gammapy.datasets import Datasets
    from gammapy.maps import Map

    arithmetics = Map._arithmetics

    def _arithmetics(self, operator, other, copy):
        if copy is True:  # a new map: its data, unit and meta copied, its geometry shared (never modified)
            return arithmetics(self.copy(geom=self.geom), operator, other, False)
        return arithmetics(self, operator, other, copy)

    _saved["arithmetics"] = arithmetics
    Map._arithmetics = _arithmetics
    if gammapy.__version__.startswith(CHECKED):
        _saved["stat_sum"] = Datasets.stat_sum
        Datasets.stat_sum = _stat_sum
    if "ray" not in sys.modules and importlib.util.find_spec("ray") is None:
        sys.modules["ray"] = None  # `import ray` raises ModuleNotFoundError at once, as it does after a search
        _saved["ray"] = True


def _uninstall() -> None:
    from gammapy.datasets import Datasets
    from gammapy.maps import Map

    Map._arithmetics = _saved.pop("arithmetics")
    if "stat_sum" in _saved:
        Datasets.stat_sum = _saved.pop("stat_sum")
    if _saved.pop("ray", False) and sys.modules.get("ray", 0) is None:
        del sys.modules["ray"]


@contextmanager
def fast_statistics() -> Iterator[None]:
    """gammapy's fits and estimators in this block skip the work that does not change their values (see the
    module docstring). Blocks may nest and run in several threads; the first in installs, the last out
    restores gammapy as it was."""
    global _depth
    with _lock:
        if _depth == 0:
            _install()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _uninstall()
