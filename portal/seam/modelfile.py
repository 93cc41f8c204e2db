"""The model file a spectrum job writes and the SED reads: gammapy's models YAML with values and errors, and a
``fit`` section (gammapy ignores it) with the fit's status and the covariance of the free parameters.
gammapy is imported when a file is read or written, not with this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["read_model", "write_model"]


def write_model(models, result, path: Path, extra: dict[str, Any] | None = None) -> Path:
    """Gammapy models YAML with values and errors, and the covariance of the free parameters in it.

    The file reads with ``Models.read``; its ``fit`` section (which gammapy ignores) holds the fit
    status and the covariance matrix, restored by :func:`read_model`.
    """
    free = models.parameters.free_parameters
    covariance = models.covariance.get_subcovariance(free).data
    names = [f"{m.name}.{p.name}" for m in models for p in m.parameters.free_parameters]
    fit = {
        "success": bool(result.success),
        "message": str(result.optimize_result.message),
        "total_stat": float(result.total_stat),
        "covariance": {"parameters": names, "matrix": np.asarray(covariance).tolist()},
    }
    fit.update(extra or {})
    from gammapy.utils.scripts import to_yaml

    text = to_yaml({"fit": fit, **models.to_dict()})
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path


def read_model(path: Path):
    """Read a model file written by :func:`write_model`, covariance included."""
    import yaml
    from gammapy.modeling.models import Models

    models = Models.read(path)
    stored = yaml.safe_load(Path(path).read_text())["fit"]["covariance"]
    free = models.parameters.free_parameters
    names = [f"{m.name}.{p.name}" for m in models for p in m.parameters.free_parameters]
    if names != stored["parameters"]:
        raise ValueError(f"{path}: covariance parameters {stored['parameters']} do not match the model's {names}")
    data = models.covariance.data.copy()
    idx = [models.parameters.index(p) for p in free]
    data[np.ix_(idx, idx)] = np.array(stored["matrix"])
    models.covariance = data
    return models
