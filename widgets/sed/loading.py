"""Reading SED data: flux points (gadf SED FITS of any sed_type, ECSV, gamma-cat) and models (gammapy YAML).

Everything is read by gammapy and astropy (``FluxPoints.from_table``, ``Models.from_dict``); a
model file of the job service carries the covariance of its fit, restored by the service's own
reader (:func:`portal.seam.modelfile.read_model`). Whatever cannot be read raises
:class:`SEDInputError` with a sentence saying why.
"""

from __future__ import annotations

import io
import logging
import tempfile
from pathlib import Path

import astropy.units as u
import yaml
from astropy.io import fits
from astropy.table import Table

log = logging.getLogger(__name__)

ENERGY_COLUMNS = ("e_ref", "e_min")
PREFERRED_HDUS = ("FLUXPOINTS", "SED")


class SEDInputError(ValueError):
    """Input that is not an SED (or not a model); the message says why, in one sentence."""



def _name(source) -> str:
    """How messages call the input: its file name, or "the data" for bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "the data"
    return Path(source).name or str(source)


def _bytes_of(source) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), _name(source)
    path = Path(source)
    try:
        return path.read_bytes(), path.name
    except OSError as exc:
        raise SEDInputError(f"Cannot read {path}: {exc.strerror or exc}.") from None


def flux_points_table(source) -> Table:
    """The SED table of a gadf FITS file (its FLUXPOINTS HDU, else the first table with energies) or ECSV."""
    data, what = _bytes_of(source)
    if data[:6] == b"SIMPLE":
        try:
            with fits.open(io.BytesIO(data), memmap=False, lazy_load_hdus=True) as hdus:
                chosen = _preferred_hdu(hdus)  # found by name, the HDUs after it are not read
                if chosen is None:
                    tables = [h for h in hdus if isinstance(h, fits.BinTableHDU)]
                    chosen = next((h for h in tables if any(c in h.columns.names for c in ENERGY_COLUMNS)), None)
                if chosen is None:
                    raise SEDInputError(f"No SED in {what}: the FITS file has no FLUXPOINTS table and no table "
                                        "with e_ref or e_min columns.")
                table = Table.read(chosen, format="fits")
        except SEDInputError:
            raise
        except Exception as exc:  # noqa: BLE001 - astropy raises many kinds on a broken file
            raise SEDInputError(f"Cannot read {what}: it is not a valid FITS file ({type(exc).__name__}).") from None
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SEDInputError(f"Cannot read {what}: it is neither FITS nor a text table (ECSV).") from None
        if not text.lstrip().startswith("# %ECSV"):
            raise SEDInputError(f"Cannot read {what}: it is neither a FITS file nor an ECSV table.")
        try:
            table = Table.read(text.splitlines(), format="ascii.ecsv")
        except Exception as exc:  # noqa: BLE001
            raise SEDInputError(f"Cannot read {what}: it is not an ECSV table ({_first_line(exc)}).") from None
    if not any(c in table.colnames for c in ENERGY_COLUMNS):
        raise SEDInputError(f"No SED in {what}: the table has no energy columns (e_ref, or e_min and e_max); "
                            f"its columns are {', '.join(table.colnames[:12]) or 'none'}.")
    return table


def _preferred_hdu(hdus):
    """The first table HDU called FLUXPOINTS, else SED (None when there is none)."""
    for name in PREFERRED_HDUS:
        try:
            hdu = hdus[name]
        except KeyError:
            continue
        if isinstance(hdu, fits.BinTableHDU):
            return hdu
    return None


def read_flux_points(source, reference_model=None):
    """gammapy ``FluxPoints`` from a FluxPoints object, a file path or its bytes (FITS or ECSV, any sed_type).

    ``reference_model`` (a spectral or sky model) is the spectral shape gammapy uses to convert
    between SED types when the table has only one (catalogs give their own model).
    """
    from gammapy.estimators import FluxPoints
    from gammapy.modeling.models import SkyModel, SpectralModel

    if isinstance(source, FluxPoints):
        return source
    table = flux_points_table(source)
    if isinstance(reference_model, SpectralModel):
        reference_model = SkyModel(spectral_model=reference_model, name="reference")
    try:
        return points_from_table(table, reference_model=reference_model, copy=False)
    except Exception as exc:  # noqa: BLE001 - gammapy says what is missing in many ways
        raise SEDInputError(f"Cannot read {_name(source)} as gadf flux points ({_first_line(exc)}).") from None


def points_from_table(table, reference_model=None, copy: bool = True):
    """gammapy's ``FluxPoints.from_table(table, format="gadf-sed")``, step for step, with the table's axes read
    once instead of once per quantity (17 times for a job's likelihood SED; most of the cost). Tested equal.
    Without ``copy`` the table (one only read for this) has its units standardised in place."""
    from gammapy.estimators import FluxPoints
    from gammapy.maps import MapAxes, Maps, RegionGeom, RegionNDMap
    from gammapy.maps.axes import flat_if_equal
    from gammapy.modeling.models import TemplateSpectralModel
    from gammapy.utils.table import table_standardise_units_copy, table_standardise_units_inplace

    table = table_standardise_units_copy(table) if copy else table_standardise_units_inplace(table)
    sed_type = table.meta.get("SED_TYPE", None)
    if sed_type is None:
        sed_type = FluxPoints._guess_sed_type(table.colnames)
    if sed_type is None:
        raise ValueError("Specifying the SED type is required")
    if sed_type == "likelihood":
        table = FluxPoints._convert_loglike_columns(table)
        if reference_model is None:
            reference_model = TemplateSpectralModel(energy=flat_if_equal(table["e_ref"].quantity),
                                                    values=flat_if_equal(table["ref_dnde"].quantity))
    maps = Maps()
    table.meta.setdefault("SED_TYPE", sed_type)
    axes = MapAxes.from_table(table=table, format="gadf-sed")
    geoms: dict[tuple, RegionGeom] = {}
    for name in FluxPoints.all_quantities(sed_type=sed_type):
        if name not in table.colnames:
            continue
        names = ("norm", "energy") if name == "stat_scan" else \
            ("dataset", "energy") if name in ("counts", "npred", "npred_excess") else ("energy",)
        if names not in geoms:
            geoms[names] = RegionGeom.create(region=None, axes=axes[list(names)])
        geom = geoms[names]
        data = table[name].data
        data = data.reshape(geom.data_shape)
        maps[name] = RegionNDMap(geom=geom, data=data, unit=table[name].unit or "", meta=table.meta, dtype=data.dtype)
    return FluxPoints.from_maps(maps=maps, reference_model=reference_model, meta=FluxPoints._get_meta_gadf(table),
                                sed_type=sed_type, gti=None)


def read_models(source, name: str = "model"):
    """gammapy ``Models`` from a model object or gammapy YAML (text, bytes or a path).

    A file from the job service (a ``fit`` section with the covariance) is read with the
    service's reader so that the envelope uses the fit's full covariance; any other gammapy YAML
    keeps the parameter errors it gives (a diagonal covariance).
    """
    from gammapy.modeling.models import Models, SkyModel, SpectralModel

    if isinstance(source, Models):
        return source
    if isinstance(source, SkyModel):
        return Models([source])
    if isinstance(source, SpectralModel):
        return Models([SkyModel(spectral_model=source, name=name)])
    text, what = _yaml_text(source)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SEDInputError(f"Cannot read {what} as a model: it is not YAML ({_first_line(exc)}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("components"), list):
        raise SEDInputError(f"No model in {what}: it is not a gammapy models file (no list of components).")
    try:
        if isinstance(data.get("fit"), dict) and "covariance" in data["fit"]:
            return _read_with_covariance(text)
        return Models.from_dict(data)
    except SEDInputError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise SEDInputError(f"Cannot read {what} as a gammapy model ({_first_line(exc)}).") from None


def energy_ranges(source) -> dict[str, u.Quantity]:
    """The ``energy_range`` section of a catalog model file: model name -> [min, max] (TeV)."""
    try:
        text, _ = _yaml_text(source)
        data = yaml.safe_load(text)
    except (SEDInputError, yaml.YAMLError):
        return {}
    ranges = data.get("energy_range") if isinstance(data, dict) else None
    if not isinstance(ranges, dict):
        return {}
    return {str(k): u.Quantity(v, "TeV") for k, v in ranges.items() if isinstance(v, list) and len(v) == 2}


def _yaml_text(source) -> tuple[str, str]:
    if isinstance(source, str) and ("\n" in source or source.lstrip().startswith(("components", "{"))):
        return source, "the model text"
    data, what = _bytes_of(source)
    try:
        return data.decode("utf-8"), what
    except UnicodeDecodeError:
        raise SEDInputError(f"Cannot read {what} as a model: it is not a text (YAML) file.") from None


def _read_with_covariance(text: str):
    from portal.seam.modelfile import read_model

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.yaml"
        path.write_text(text)
        try:
            return read_model(path)
        except ValueError as exc:
            raise SEDInputError("The model's covariance does not fit its parameters: "
                                f"{str(exc).replace(str(path) + ': ', '')}.") from None


def _first_line(exc: BaseException, limit: int = 140) -> str:
    """An exception as a short clause: its type and the first line of its message."""
    text = (str(exc).strip().splitlines() or [""])[0][:limit]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
