"""The reduced datasets as a job result, in gammapy's own format, and reading them back.

``datasets`` is a tar archive of what :meth:`gammapy.datasets.Datasets.write` writes: a
``datasets.yaml`` index, one gadf/OGIP FITS file per on/off spectrum, and the fitted models
(``models.yaml``). Each spectrum's safe mask is what the fit used: its safe range within the
job's fit range (the OGIP files carry no fit mask), so that a refit, or a joint fit with other
instruments, uses each instrument's own energies as its job did. Unpacked,
``Datasets.read("datasets.yaml", filename_models="models.yaml")`` reads them back, so anyone can refit
them with gammapy; the ``joint_spectrum`` job does.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from pathlib import Path

from gammapy.datasets import Datasets

__all__ = ["INDEX", "MODELS", "TAR", "write_datasets", "read_datasets"]

INDEX = "datasets.yaml"
MODELS = "models.yaml"
TAR = "application/x-tar"
MAX_MEMBERS = 10_000


def write_datasets(datasets: Datasets, path: Path) -> Path:
    """``datasets`` (with their models) as a tar archive at ``path``, written atomically."""
    path = Path(path)
    datasets = Datasets([_as_fitted(d) for d in datasets])
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        folder = Path(tmp)
        datasets.write(folder / INDEX, filename_models=folder / MODELS if datasets.models else None,
                       overwrite=True, checksum=True)
        partial = path.with_name(f".{path.name}.tmp")
        with tarfile.open(partial, "w") as tar:
            for item in sorted(folder.iterdir()):
                tar.add(item, arcname=item.name)
        os.replace(partial, path)
    return path


def _as_fitted(dataset):
    """A copy of ``dataset`` whose safe mask is the bins its fit used."""
    copy = dataset.copy(name=dataset.name)
    if dataset.mask_fit is not None:
        copy.mask_safe = dataset.mask_safe & dataset.mask_fit
        copy.mask_fit = None
    copy.models = dataset.models
    return copy


def read_datasets(archive: Path, folder: Path) -> Datasets:
    """The datasets of a ``datasets`` result, unpacked into ``folder`` (plain files only, no paths)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r") as tar:
        members = tar.getmembers()
        if len(members) > MAX_MEMBERS:
            raise ValueError(f"{Path(archive).name}: too many files ({len(members)})")
        for member in members:
            if not member.isfile() or Path(member.name).name != member.name or member.name.startswith("."):
                raise ValueError(f"{Path(archive).name}: unexpected member {member.name!r}")
        tar.extractall(folder, members=members, filter="data")
    models = folder / MODELS
    return Datasets.read(folder / INDEX, filename_models=models if models.is_file() else None, lazy=False)
