"""A product found in the archive (an ObsCore row of ``calib_level`` 4: an SED, a light curve, a sky map) and
the request to open it in a view: plain data, no widgets, no network.

:func:`product_of` reads a result row; :class:`ProductLinks` is what its DataLink document gives (the file, the
fitted model, the provenance record); :class:`OpenProduct` is the session's ``product``: the product a person
asked to see, and where (``sed``: its flux points in the SED view; ``sky``: its map on the sky). Each request is
news, even one equal to the last (the same product opened twice).
"""

from __future__ import annotations

from dataclasses import dataclass

from widgets.datalink.fetch import row_value as _cell  # ObsCore rows: one reading of a cell

__all__ = ["OpenProduct", "Product", "ProductLinks", "PRODUCT_TYPES", "is_product", "product_of"]

PRODUCT_TYPES = ("sed", "timeseries", "image")  # what the gateway publishes
PRODUCT_LEVEL = 4  # ObsCore calib_level of science products (CTAO DL5)
TYPE_WORDS = {"sed": "SED", "timeseries": "light curve", "image": "sky map"}


@dataclass(frozen=True)
class Product:
    """A product row: enough to find its DataLink document and to name it to a person."""

    did: str  # obs_publisher_did
    dataproduct_type: str  # sed, timeseries, image
    access_url: str  # its DataLink document
    target: str = ""
    obs_id: str = ""  # the portal's products: "<job id>/<result id>"
    title: str = ""
    subtype: str = ""  # dataproduct_subtype: gadf-sed, significance-map...
    calib_level: int | None = None

    @property
    def job_id(self) -> str:
        """The id of the job that made it (the portal's products), else ""."""
        return self.obs_id.split("/", 1)[0] if "/" in self.obs_id else ""

    @property
    def kind(self) -> str:
        """In words: "SED", "light curve", "significance map"..."""
        if self.subtype.endswith("-map"):
            return self.subtype.removesuffix("-map") + " map"
        return TYPE_WORDS.get(self.dataproduct_type, self.dataproduct_type)

    @property
    def label(self) -> str:
        """"SED of Crab nebula (job 1a2b3c4d)"."""
        job = f" (job {self.job_id[:8]})" if self.job_id else ""
        return f"{self.kind[:1].upper()}{self.kind[1:]} of {self.target or 'an unnamed target'}{job}"


def is_product(row) -> bool:
    """A science product the dashboard can open: an SED, a light curve or a sky map with a DataLink document."""
    kind = str(_cell(row, "dataproduct_type") or "").lower()
    level = _cell(row, "calib_level")
    url, fmt = _cell(row, "access_url"), str(_cell(row, "access_format") or "datalink").lower()
    return (kind in PRODUCT_TYPES and bool(url) and "datalink" in fmt
            and (level is None or int(level) >= PRODUCT_LEVEL - 1))


def product_of(row) -> Product | None:
    """The product of a result row (None for an observation, or a row without a DataLink document)."""
    if not is_product(row):
        return None
    level = _cell(row, "calib_level")
    return Product(did=str(_cell(row, "obs_publisher_did") or _cell(row, "access_url")),
                   dataproduct_type=str(_cell(row, "dataproduct_type")).lower(),
                   access_url=str(_cell(row, "access_url")), target=str(_cell(row, "target_name") or ""),
                   obs_id=str(_cell(row, "obs_id") or ""), title=str(_cell(row, "obs_title") or ""),
                   subtype=str(_cell(row, "dataproduct_subtype") or ""),
                   calib_level=None if level is None else int(level))


@dataclass(frozen=True)
class ProductLinks:
    """What a product's DataLink document gives: its file (``#this``), the job's fitted model (an
    ``#auxiliary`` row named ``model``), its provenance record (``#provenance``, PROV-JSON)."""

    file_url: str = ""
    file_type: str = ""
    model_url: str = ""
    provenance_url: str = ""
    provn_url: str = ""


class OpenProduct:
    """The session's ``product``: ``product`` with its ``links``, to be shown in ``view`` ("sed" or "sky")."""

    __slots__ = ("links", "product", "view")

    def __init__(self, product: Product, links: ProductLinks, view: str) -> None:
        if view not in ("sed", "sky"):
            raise ValueError(f"a product opens in the SED ('sed') or on the sky ('sky'), not {view!r}")
        self.product, self.links, self.view = product, links, view

    def __repr__(self) -> str:
        return f"OpenProduct({self.product.did!r}, view={self.view!r})"
