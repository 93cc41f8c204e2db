"""Export: the figure as PNG or SVG, the data as ECSV or gadf FITS, a refit model as gammapy YAML.

Data and models are written by gammapy (``FluxPoints.write``, the job service's ``write_model``
with the fit's covariance). The figure is drawn by the browser, so its PNG and SVG come from the
page (bqplot's ``get_png_data`` / ``get_svg_data``) or download straight from it (``save_png``).
In the widget every export is also a download link (a data: URL; nothing goes through a server).
"""

from __future__ import annotations

import base64
import html
import tempfile
from pathlib import Path

DATA_FORMATS = {".ecsv": "text/plain", ".fits": "application/fits"}


class ExportError(ValueError):
    """Nothing to export, or a format that is not offered; the message is a sentence."""


def flux_points_bytes(points, suffix: str, sed_type: str | None = None) -> bytes:
    """Flux points as a gadf SED table, ``.ecsv`` or ``.fits`` (by default in their own SED type:
    a job's ``likelihood`` points keep their profiles)."""
    suffix = suffix.lower()
    if suffix not in DATA_FORMATS:
        raise ExportError(f"Flux points are written as {' or '.join(DATA_FORMATS)}, not {suffix or 'no suffix'}.")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"points{suffix}"
        points.write(path, sed_type=sed_type or points.sed_type_init, overwrite=True)
        return path.read_bytes()


def refit_yaml(refit) -> str:
    """A refit model as gammapy YAML with its values, errors and covariance (``Models.read`` reads it)."""
    from gammapy.modeling.models import Models, SkyModel

    from portal.jobs.spectrum import write_model

    models = Models([SkyModel(spectral_model=refit.model.copy(), name=f"refit-{refit.kind}")])
    models.covariance = refit.model.covariance.data
    with tempfile.TemporaryDirectory() as tmp:
        path = write_model(models, refit.result, Path(tmp) / "refit.yaml",
                           extra={"spectral_model": refit.kind, "fitted_to": refit.included,
                                  "statistic": "likelihood profiles (FluxPointsDataset, stat_type=profile)"})
        return path.read_text()


def download_link(data: bytes, filename: str, mime: str, text: str) -> str:
    """An HTML anchor that downloads ``data`` as ``filename``."""
    payload = base64.b64encode(data).decode("ascii")
    name = html.escape(filename, quote=True)
    return (f"<a download='{name}' href='data:{mime};base64,{payload}' class='portal-sed-download'>"
            f"{html.escape(text)}</a>")


def figure_image(figure, path, kind: str = "png", on_saved=None) -> None:
    """Ask the page for the figure as PNG or SVG and write it to ``path`` when the page answers.

    The figure must be on show in a browser (a notebook or Voila); ``on_saved(path)`` is called
    once the file is written.
    """
    target = Path(path)

    def write(data) -> None:
        target.write_bytes(data if isinstance(data, (bytes, bytearray, memoryview)) else str(data).encode("utf-8"))
        if on_saved is not None:
            on_saved(target)

    if kind == "png":
        figure.get_png_data(lambda data: write(bytes(data)))
    elif kind == "svg":
        figure.get_svg_data(write)
    else:
        raise ExportError(f"The figure is saved as png or svg, not {kind}.")
