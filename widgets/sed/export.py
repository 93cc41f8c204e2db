"""Export: the figure as PNG or SVG, the data as ECSV or gadf FITS, a refit model as gammapy YAML or
as a table of its parameters (ECSV or FITS).

Data and models are written by gammapy (``FluxPoints.write``, the model-file format's ``write_model``
with the fit's covariance). A log-parabola's beta is gammapy's, in the natural log; every model
export says so and gives the log10 value beside it (``beta_log10 = ln(10) beta``). The figure is
drawn by the browser, so its PNG and SVG come from the page (bqplot's ``get_png_data`` /
``get_svg_data``) or download straight from it (``save_png``). In the widget every export is also
a download link (a data: URL; nothing goes through a server).
"""

from __future__ import annotations

import base64
import html
import tempfile
import textwrap
from pathlib import Path

DATA_FORMATS = {".ecsv": "text/plain", ".fits": "application/fits"}
MODEL_FORMATS = (".yaml", ".yml", ".ecsv", ".fits")


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
    """A refit model as gammapy YAML with its values, errors and covariance (``Models.read`` reads it).

    A log-parabola's file starts with a comment on beta's convention; its ``fit`` section (which
    gammapy ignores) has the convention and beta in log10 with its error.
    """
    from gammapy.modeling.models import Models, SkyModel

    from portal.seam.modelfile import write_model
    from widgets.sed.refit import BETA_CONVENTION, beta_log10

    models = Models([SkyModel(spectral_model=refit.model.copy(), name=f"refit-{refit.kind}")])
    models.covariance = refit.model.covariance.data
    extra = {"spectral_model": refit.kind, "fitted_to": refit.included, "statistics": refit.statistics}
    log10 = beta_log10(refit.model)
    if log10 is not None:
        extra.update(beta_convention=BETA_CONVENTION, beta_log10={"value": log10[0], "error": log10[1]})
    with tempfile.TemporaryDirectory() as tmp:
        path = write_model(models, refit.result, Path(tmp) / "refit.yaml", extra=extra)
        text = path.read_text()
    return text if log10 is None else f"# log-parabola beta: {BETA_CONVENTION}\n{text}"


def refit_table(refit):
    """A refit model's parameters as an astropy Table (name, value, error, unit, frozen, note).

    A log-parabola has a derived ``beta_log10`` row; the meta say which convention ``beta`` uses.
    """
    from astropy.table import Table

    from widgets.sed.refit import BETA_CONVENTION, beta_log10

    rows = [(p.name, p.value, p.error, p.unit.to_string("fits"), p.frozen, "") for p in refit.model.parameters]
    log10 = beta_log10(refit.model)
    if log10 is not None:
        rows = [(*row[:5], "natural log (gammapy's convention)") if row[0] == "beta" else row for row in rows]
        rows.append(("beta_log10", *log10, "", False, "derived: ln(10) * beta, the log10 convention"))
    table = Table(rows=rows, names=("name", "value", "error", "unit", "frozen", "note"))
    fitted = " + ".join(refit.included).encode("ascii", "replace").decode()  # FITS headers are ASCII
    table.meta.update(MODEL=refit.model.tag[0], KIND=refit.kind, STAT=float(refit.result.total_stat), FITTED=fitted,
                      EXTNAME="REFIT")
    if log10 is not None:
        table.meta["BETACONV"] = "natural log (ln); beta_log10 = ln(10) beta"  # gammapy's beta
        table.meta["comments"] = textwrap.wrap(f"log-parabola beta: {BETA_CONVENTION}", 70)  # a FITS card each
    return table


def refit_bytes(refit, suffix: str) -> bytes:
    """A refit model as gammapy YAML (``.yaml``) or its parameters as a table (``.ecsv``, ``.fits``)."""
    suffix = suffix.lower()
    if suffix not in MODEL_FORMATS:
        raise ExportError(f"A refit model is written as {', '.join(MODEL_FORMATS)}, not {suffix or 'no suffix'}.")
    if suffix in (".yaml", ".yml"):
        return refit_yaml(refit).encode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"refit{suffix}"
        refit_table(refit).write(path, format="ascii.ecsv" if suffix == ".ecsv" else "fits")
        return path.read_bytes()


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
