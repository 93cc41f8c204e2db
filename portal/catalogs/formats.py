"""A catalog source's data in the field's formats: flux points as a gadf SED FITS file, models as gammapy YAML.

Both come from gammapy's catalog objects (``flux_points``, ``spectral_model``); gammapy writes them
(``FluxPoints.to_table(format="gadf-sed")``, ``Models.to_dict``). The FITS table keeps the
catalog's own SED type (``flux`` for Fermi, ``dnde`` for HGPS and gamma-cat); a reader converts
between types with the source's model as reference, as gammapy's catalog classes do.
"""

from __future__ import annotations

import io

from astropy.io import fits

from portal.catalogs.source import CatalogSource


def flux_points_fits(source: CatalogSource) -> bytes | None:
    """The source's flux points as a gadf SED FITS file (FLUXPOINTS HDU), or None when the catalog has none."""
    points = source.flux_points()
    if points is None:
        return None
    table = points.to_table(sed_type=points.sed_type_init, format="gadf-sed")
    hdu = fits.BinTableHDU(table, name="FLUXPOINTS")
    hdu.header["CATALOG"] = (source.catalog, "catalog tag (gammapy)")
    hdu.header["OBJECT"] = (source.name, "source name in the catalog")
    hdu.header["RA_OBJ"] = (source.ra, "[deg] ICRS right ascension")
    hdu.header["DEC_OBJ"] = (source.dec, "[deg] ICRS declination")
    reference = _reference_id(source) or source.spec.reference
    if reference:
        hdu.header["REFERENC"] = (reference[:68], "publication of the data")
    out = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(out)
    return out.getvalue()


def models_yaml(source: CatalogSource) -> str | None:
    """The source's spectral model(s) as gammapy YAML (one SkyModel per component), or None.

    Besides gammapy's ``components`` the file says where each model applies (``energy_range``,
    TeV) and where it comes from (``source``); gammapy's reader ignores both.
    """
    from gammapy.modeling.models import Models, SkyModel
    from gammapy.utils.scripts import to_yaml

    found = source.spectral_models()
    if not found:
        return None
    models, ranges = [], {}
    for component, spectral in found.items():
        name = f"{source.name} {component}".strip()
        models.append(SkyModel(spectral_model=spectral, name=name))
        ranges[name] = list(source.model_energy_range(component))
    about = {"catalog": source.catalog, "name": source.name, "ra": source.ra, "dec": source.dec,
             "reference": _reference_id(source) or source.spec.reference}
    return to_yaml({"source": about, "energy_range": ranges, **Models(models).to_dict()})


def _reference_id(source: CatalogSource) -> str:
    """The publication of a gamma-cat source's spectrum and flux points (its ``reference_id``)."""
    try:
        data = source.gammapy.data
    except Exception:  # noqa: BLE001 - a catalog without per-source data
        return ""
    for key in ("sed_reference_id", "reference_id"):
        value = data.get(key) if hasattr(data, "get") else None
        if value is not None and str(value).strip() not in ("", "--"):
            return str(value).strip()
    return ""
