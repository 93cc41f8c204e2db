"""TAP UPLOAD: VOTables sent with a query become tables TAP_UPLOAD.<name> for that query only."""

from __future__ import annotations

import io
import logging
import re
import warnings

import numpy as np
from astropy.io.votable import parse_single_table

from portal.archive import sphere
from portal.archive.adql.catalog import CatalogTable
from portal.archive.adql.types import meta
from portal.archive.errors import TapError
from portal.archive.fetch import generic
from portal.archive.limits import MAX_UPLOAD_ROWS, Limits

log = logging.getLogger("portal.archive.uploads")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


def parse_upload_param(value: str) -> list[tuple[str, str]]:
    """``UPLOAD=name,param:part;name2,https://...`` -> [(name, "param:part" or the URL)]."""
    out = []
    for spec in filter(None, (s.strip() for s in value.split(";"))):
        name, sep, uri = spec.partition(",")
        name, uri = name.strip(), uri.strip()
        if not sep or not name or not uri:
            raise TapError(f"UPLOAD {spec!r} is not of the form name,param:part")
        if not _NAME.match(name):
            raise TapError(f"UPLOAD table name {name!r} must be a plain ADQL name (letters, digits, _)")
        if not uri.startswith(("param:", "http://", "https://")):
            raise TapError(f"UPLOAD {name}: {uri!r} is neither an inline part (param:...) nor an http(s) URL")
        if any(n.lower() == name.lower() for n, _ in out):
            raise TapError(f"UPLOAD table name {name} is used twice")
        out.append((name, uri))
    return out


def refuse_unnamed_parts(files, named: set[str]) -> None:
    """Refuse a request whose file parts are not all named by UPLOAD (``param:part``): such a part is never
    stored, since only what the query can use is kept."""
    unnamed = sorted(set(files) - named)
    if unnamed:
        raise TapError(f"the request has file parts that no UPLOAD names ({', '.join(unnamed)}); "
                       "name each one, e.g. UPLOAD=mytable,param:" + unnamed[0])


def load_upload(name: str, content: bytes, by_url: bool = False,
                limits: Limits = Limits()) -> tuple[CatalogTable, tuple[str, list[str], list[tuple]]]:
    """Read one uploaded VOTable: its catalogue entry and (name, column names, rows) for SQLite.

    For a table fetched by URL (``by_url``), a file that is not a VOTable gets the same message
    as a URL that could not be read (see :mod:`portal.archive.fetch`); the detail is logged.
    """
    if len(content) > limits.max_upload_bytes:
        raise TapError(f"UPLOAD {name} is {len(content):,} bytes; the limit is {limits.max_upload_bytes:,}", 413)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = parse_single_table(io.BytesIO(content), verify="ignore")
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's file
        if by_url:
            log.warning("UPLOAD %s: the fetched document is not a readable VOTable: %s", name, exc)
            raise TapError(f"UPLOAD {name}: {generic(limits)}") from None
        raise TapError(f"UPLOAD {name} is not a readable VOTable: {exc}") from None
    nrows = len(table.array)  # table.nrows is None for BINARY and BINARY2 serialisations
    if nrows > MAX_UPLOAD_ROWS:
        raise TapError(f"UPLOAD {name} has {nrows:,} rows; the limit is {MAX_UPLOAD_ROWS:,}")
    columns, converters = [], []
    seen = set()
    for field in table.fields:
        cname = field.name or field.ID or f"col{len(columns) + 1}"
        if cname.lower() in seen:
            raise TapError(f"UPLOAD {name} has two columns named {cname}")
        seen.add(cname.lower())
        m, convert = _column(name, cname, field)
        columns.append(m)
        converters.append(convert)
    data = table.array
    names = data.dtype.names
    cols = [[conv(v) for v in data[names[k]]] for k, conv in enumerate(converters)]
    rows = list(zip(*cols)) if cols else []
    sql_columns = [(c, '{t}."c' + str(k + 1) + '"') for k, c in enumerate(columns)]
    entry = CatalogTable("TAP_UPLOAD", name, f'tap_upload."{name}"', sql_columns)
    return entry, (name, [c.name for c in columns], rows)


def _column(table: str, name: str, field):
    xtype = (field.xtype or "").lower()
    kwargs = dict(unit=str(field.unit) if field.unit else None, ucd=field.ucd, description="")
    if xtype in ("point", "circle", "polygon"):
        def convert(v, kind=xtype):
            if np.ma.is_masked(v) or v is None:
                return None
            numbers = [float(x) for x in np.ma.filled(np.ma.asarray(v).ravel(), np.nan)]
            try:
                return sphere.build(kind.upper(), numbers).stcs()
            except sphere.GeometryError as exc:
                raise TapError(f"UPLOAD {table}.{name}: {exc}") from None
        out = {"point": "point", "circle": "circle", "polygon": "polygon"}[xtype]
        size = {"point": "2", "circle": "3"}.get(out, "*")
        return meta(name, "double", size, out, unit="deg", ucd=field.ucd), convert
    if field.arraysize and field.datatype not in ("char", "unicodeChar"):
        raise TapError(f"UPLOAD {table}.{name}: array columns are not supported (except point, circle, "
                       "polygon xtypes)")
    kwargs["xtype"] = field.xtype
    if field.datatype in ("char", "unicodeChar"):
        return meta(name, field.datatype, **kwargs), _text
    if field.datatype in ("boolean", "bit", "unsignedByte", "short", "int", "long"):
        dt = {"bit": "boolean", "unsignedByte": "short"}.get(field.datatype, field.datatype)
        return meta(name, dt, **kwargs), _integer
    if field.datatype in ("float", "double"):
        return meta(name, field.datatype, **kwargs), _real
    raise TapError(f"UPLOAD {table}.{name}: datatype {field.datatype} is not supported")


def _text(v):
    if np.ma.is_masked(v) or v is None:
        return None
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def _integer(v):
    if np.ma.is_masked(v) or v is None:
        return None
    return int(v)


def _real(v):
    if np.ma.is_masked(v) or v is None:
        return None
    f = float(v)
    return None if np.isnan(f) else f
