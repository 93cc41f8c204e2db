"""Query results and error documents: VOTable (astropy; BINARY2 or TABLEDATA), CSV and TSV.

Results follow DALI/TAP 1.1: a RESOURCE of type "results" with an INFO QUERY_STATUS=OK before
the TABLE, and an INFO QUERY_STATUS=OVERFLOW after it when MAXREC truncated the result.
"""

from __future__ import annotations

import base64
import csv
import io
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from astropy.io.votable.tree import Field, Info, Resource, TableElement, VOTableFile
from lxml import etree

from portal import __version__
from portal.archive import sphere
from portal.archive.adql.types import OutputColumn
from portal.archive.binary2 import FastTableElement, binary2_payload
from portal.parsing import xml_safe
from portal.votable import to_xml_bytes

VOTABLE_MIME = "application/x-votable+xml"


@dataclass(frozen=True)
class OutputFormat:
    name: str
    mime: str  # what the response says it is
    aliases: tuple[str, ...]
    serialization: str | None = None  # VOTable serialization: binary2, tabledata


FORMATS = (
    OutputFormat("votable", VOTABLE_MIME, ("votable", "votable/b2", "application/x-votable+xml",
                                           "text/xml", "application/x-votable+xml;serialization=binary2"),
                 "binary2"),
    OutputFormat("votable/td", VOTABLE_MIME + ";serialization=TABLEDATA",
                 ("votable/td", "application/x-votable+xml;serialization=tabledata"), "tabledata"),
    OutputFormat("csv", "text/csv;header=present", ("csv", "text/csv", "text/csv;header=present")),
    OutputFormat("tsv", "text/tab-separated-values", ("tsv", "text/tab-separated-values")),
)
DEFAULT_FORMAT = FORMATS[0]

CHECK_EVERY = 2000  # rows (or writes) between two calls of a writer's check()


def _no_check() -> None:
    return None


_NUMPY = {"boolean": "bool", "short": "i2", "int": "i4", "long": "i8", "float": "f4", "double": "f8"}
_NULLS = {"short": -32768, "int": -2147483648, "long": -9223372036854775808}


def find_format(value: str | None) -> OutputFormat | None:
    if not value:
        return DEFAULT_FORMAT
    key = "".join(value.split()).lower()
    for f in FORMATS:
        if key in f.aliases:
            return f
    return None


def _geometry(kind: str, text):
    shape = sphere.parse(text)
    if isinstance(shape, sphere.Point):
        return [shape.ra, shape.dec]
    if isinstance(shape, sphere.Circle):
        return [shape.ra, shape.dec, shape.radius]
    return [x for v in shape.vertices for x in v]


class _KeptField(Field):
    """A FIELD that keeps the XML astropy wrote for it and writes the same text into later documents.

    Fields of a result template never change, and astropy's FIELD serialisation (attributes,
    wrapped DESCRIPTION, VALUES) was a quarter of a cone query's time. The text is keyed by the
    writer's depth (its indentation) and the document options.
    """

    def to_xml(self, w, **kwargs):
        key = (len(w._tags), repr(sorted(kwargs.items())))
        kept = getattr(self, "_kept", None)
        w._flush()
        if kept is not None and kept[0] == key:
            w.write(kept[1])
            return
        parts: list[str] = []
        write, w.write = w.write, parts.append
        try:
            super().to_xml(w, **kwargs)
            w._flush()
        finally:
            w.write = write
        text = "".join(parts)
        self._kept = (key, text)
        write(text)


def _field(votable: VOTableFile, column: OutputColumn, unicode: bool = False) -> Field:
    m = column.meta
    datatype, arraysize = m.datatype, m.arraysize
    if datatype == "char" and unicode:
        datatype = "unicodeChar"  # char is ASCII only
    if column.geometry_kind:
        datatype = "double"
        arraysize = {"point": "2", "circle": "3"}.get(column.geometry_kind, "*")
    field = _KeptField(votable, name=m.name, ID=None, datatype=datatype, arraysize=arraysize, unit=m.unit,
                  ucd=m.ucd, utype=m.utype, xtype=m.xtype)
    if m.description:
        field.description = m.description
    if datatype in _NULLS and not arraysize:
        field.values.null = _NULLS[datatype]
    return field


def _fill(table: TableElement, columns: list[OutputColumn], rows: list[tuple], check) -> None:
    table.create_arrays(len(rows))
    for i, (column, field) in enumerate(zip(columns, table.fields)):
        check()
        values = [r[i] for r in rows]
        mask = np.array([v is None for v in values], dtype=bool)
        data, name = table.array.data, field.name
        if column.geometry_kind:
            fixed = field.arraysize != "*"
            for j, v in enumerate(values):
                if v is None:
                    continue
                if not j % CHECK_EVERY:
                    check()
                coords = _geometry(column.geometry_kind, v)
                data[name][j] = coords if fixed else np.array(coords, dtype=float)
        elif field.datatype in ("char", "unicodeChar"):
            data[name][:] = ["" if v is None else (v if isinstance(v, str) else _text(v)) for v in values]
        else:
            fill = 0 if field.datatype not in ("float", "double") else np.nan
            clean = [fill if v is None else v for v in values]
            try:
                data[name][:] = np.asarray(clean, dtype=_NUMPY[field.datatype])
            except (TypeError, ValueError, OverflowError):
                raise ValueError(f"column {name} mixes numbers and text, which a VOTable "
                                 "column cannot hold") from None
            if field.datatype in _NULLS and mask.any():
                data[name][mask] = _NULLS[field.datatype]
        table.array.mask[name][:] = mask if not table.array.mask[name].shape[1:] else mask[:, None]


def _non_ascii(rows: list[tuple], i: int) -> bool:
    return any(isinstance(r[i], str) and not r[i].isascii() for r in rows)


def _text(v) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def _document(status: str, message: str | None = None) -> tuple[VOTableFile, Resource]:
    votable = VOTableFile(version="1.4")
    resource = Resource(type="results")
    votable.resources.append(resource)
    info = Info(name="QUERY_STATUS", value=status)
    if message:
        info.content = message
    resource.infos.append(info)
    provider = Info(name="PROVIDER", value="gamma-portal")
    provider.content = f"gamma-portal {__version__}"
    resource.infos.append(provider)
    return votable, resource


def _to_bytes(votable: VOTableFile, serialization: str, check=None) -> bytes:
    return to_xml_bytes(votable, serialization, check)


_MARKER = "PORTAL-BINARY2-ROWS"  # where the rows go in a kept BINARY2 document (base64 never has '-')


class _Template:
    """A result document with its FIELDs built once per column set (astropy's FIELD set-up is slow).

    BINARY2 documents are kept whole: the one without rows, and the text before and after the rows'
    base64 stream. A result is then its rows' stream between the two (astropy's writer of the whole
    document was a third of a small cone query's work); the bytes are those astropy writes."""

    def __init__(self, columns: list[OutputColumn], unicode: tuple[bool, ...]):
        self.votable, resource = _document("OK")
        self.table = FastTableElement(self.votable, name="result")
        resource.tables.append(self.table)
        self.table.fields.extend(_field(self.votable, c, u) for c, u in zip(columns, unicode))
        self.lock = threading.Lock()
        self._binary2: tuple[bytes, bytes, bytes] | None = None

    def binary2(self) -> tuple[bytes, bytes, bytes]:
        """(the document without rows, the text before the rows' stream, the text after it); under the lock."""
        if self._binary2 is None:
            self.table.create_arrays(0)
            empty = _to_bytes(self.votable, "binary2")  # no rows: no DATA element at all
            self.table.create_arrays(1)
            self.table.marker = _MARKER
            try:
                head, tail = _to_bytes(self.votable, "binary2").split(_MARKER.encode("ascii"))
            finally:
                self.table.marker = None
                self.table.create_arrays(0)
            self._binary2 = (empty, head, tail)
        return self._binary2


_TEMPLATES: OrderedDict[tuple, _Template] = OrderedDict()
_TEMPLATES_LOCK = threading.Lock()


def _template(columns: list[OutputColumn], unicode: tuple[bool, ...]) -> _Template:
    key = (tuple((c.meta, c.geometry_kind) for c in columns), unicode)
    with _TEMPLATES_LOCK:
        found = _TEMPLATES.get(key)
        if found is not None:
            _TEMPLATES.move_to_end(key)
            return found
    made = _Template(columns, unicode)
    with _TEMPLATES_LOCK:
        _TEMPLATES[key] = made
        while len(_TEMPLATES) > 64:
            _TEMPLATES.popitem(last=False)
    return made


def votable_result(columns: list[OutputColumn], rows: list[tuple], overflow: bool | str, serialization: str,
                   check=_no_check) -> bytes:
    unicode = tuple(c.meta.datatype == "char" and _non_ascii(rows, i) for i, c in enumerate(columns))
    template = _template(columns, unicode)
    with template.lock:
        try:
            template.table.check = check
            if serialization == "binary2":
                empty, head, tail = template.binary2()
                if rows:
                    _fill(template.table, columns, rows, check)
                body = head + base64.b64encode(binary2_payload(template.table)) + tail if rows else empty
            else:
                _fill(template.table, columns, rows, check)
                body = _to_bytes(template.votable, serialization, check)
        finally:
            if len(rows) > 1000:
                template.table.create_arrays(0)  # do not keep large results in memory
    return _mark_overflow(body, overflow) if overflow else body


def _mark_overflow(body: bytes, overflow: bool | str) -> bytes:
    """Append INFO QUERY_STATUS=OVERFLOW after the TABLE (astropy writes INFOs before it); a text
    ``overflow`` (why the result was cut) becomes its content. The element inherits the document's
    default namespace."""
    info = etree.Element("INFO", name="QUERY_STATUS", value="OVERFLOW")
    if isinstance(overflow, str):
        info.text = overflow
    end = body.rindex(b"</RESOURCE>")
    return body[:end] + b" " + etree.tostring(info, encoding="utf-8") + b"\n " + body[end:]


def votable_error(message: str) -> bytes:
    """A DALI error document: QUERY_STATUS=ERROR with the message for the user."""
    votable, _ = _document("ERROR", xml_safe(message))  # it may quote the query, control characters included
    return _to_bytes(votable, "tabledata")


def separated(columns: list[OutputColumn], rows: list[tuple], delimiter: str, check=_no_check) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n" if delimiter == "," else "\n")
    writer.writerow([c.meta.name for c in columns])
    kinds = [c.geometry_kind for c in columns]
    for n, row in enumerate(rows):
        if not n % CHECK_EVERY:
            check()
        cells = []
        for v, kind in zip(row, kinds):
            if v is None:
                cells.append("")
            elif kind:
                cells.append(" ".join(repr(x) for x in _geometry(kind, v)))
            else:
                cells.append(_text(v) if not isinstance(v, float) else repr(v))
        if delimiter == "\t":
            cells = [c.replace("\t", " ").replace("\n", " ") for c in cells]
        writer.writerow(cells)
    return out.getvalue().encode("utf-8")


def render(fmt: OutputFormat, columns: list[OutputColumn], rows: list[tuple], overflow: bool | str,
           check=_no_check) -> bytes:
    """The result document. ``check()`` is called as the writing goes (every few thousand rows or
    writes) and may raise to stop it: a query's time limit covers writing its result."""
    if fmt.serialization:
        return votable_result(columns, rows, overflow, fmt.serialization, check)
    return separated(columns, rows, "," if fmt.name == "csv" else "\t", check)
