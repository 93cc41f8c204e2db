"""TAP services with an ObsCore table: the embedded archive, well-known remote ones, or any URL.

:func:`describe` reads a table's columns from the service's VOSI ``/tables`` (through pyvo), so
that the form offers the high-energy fields only where the table has them.
"""

from __future__ import annotations

from dataclasses import dataclass

from widgets.config import portal_url


@dataclass(frozen=True)
class Service:
    label: str
    url: str  # TAP base URL
    table: str = "ivoa.obscore"
    remote: bool = True  # needs the internet

    @property
    def key(self) -> str:
        return f"{self.url}#{self.table}"


REMOTE_SERVICES = (
    Service("H.E.S.S. DL3 DR1, Paris Observatory (VO-Paris HE)", "http://voparis-tap-he.obspm.fr/tap",
            "hess_dr.obscore_sdc"),
    Service("VO-Paris high-energy ObsCore (all collections)", "http://voparis-tap-he.obspm.fr/tap", "ivoa.obscore"),
    Service("HEASARC ObsCore (NASA)", "https://heasarc.gsfc.nasa.gov/xamin/vo/tap", "ivoa.obscore"),
    Service("GAVO Data Center ObsCore", "https://dc.g-vo.org/tap", "ivoa.obscore"),
)


def embedded(base: str | None = None) -> Service:
    """The portal's own archive (PORTAL_URL/tap)."""
    return Service("Embedded archive (this portal)", (base or portal_url()).rstrip("/") + "/tap",
                   "ivoa.obscore", remote=False)


def known_services(base: str | None = None) -> list[Service]:
    return [embedded(base), *REMOTE_SERVICES]


def custom(url: str, table: str = "ivoa.obscore") -> Service:
    """Any TAP service typed in; the URL must be http(s)."""
    url = url.strip().rstrip("/")
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"a TAP service URL starts with http:// or https://, not {url!r}")
    if url.endswith(("/sync", "/async")):
        url = url.rsplit("/", 1)[0]
    return Service(f"TAP service at {url}", url, table.strip() or "ivoa.obscore")


@dataclass(frozen=True)
class Column:
    name: str
    unit: str
    datatype: str
    description: str


def describe(service: Service, client=None) -> list[Column]:
    """The columns of the service's ObsCore table, from VOSI /tables (raises on failure)."""
    from widgets.client import default_client

    tap = (client or default_client()).tap_service(service.url)
    tables = tap.tables
    wanted = service.table.lower()
    for name in tables.keys():
        if name.lower() == wanted or name.lower().split(".")[-1] == wanted and "." not in wanted:
            table = tables[name]
            return [Column(c.name, str(c.unit or ""), str(getattr(c.datatype, "content", "") or ""),
                           str(c.description or "")) for c in table.columns]
    raise LookupError(f"{service.url} has no table {service.table}")
