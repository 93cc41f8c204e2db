"""A faster BINARY2 writer for astropy's VOTable tables, producing the same bytes.

astropy's ``TableElement._write_binary`` calls ``np.all`` on the mask of every cell and
dispatches each value through its converter, which makes a 50-row, 50-column result take tens
of milliseconds. Here the null flags come from one vectorised pass over the mask, scalar
numeric columns are encoded big-endian column by column, and only strings and arrays go
through astropy's converters, value by value, exactly as astropy itself does.
tests/archive/test_output.py checks the output against astropy's own writer.
"""

from __future__ import annotations

import base64

import numpy as np
from astropy.io.votable import converters
from astropy.io.votable.tree import TableElement


def _is_plain_numeric(converter) -> bool:
    return isinstance(converter, converters.Numeric) and not isinstance(converter, converters.Array)


def binary2_payload(table: TableElement) -> bytes:
    """The BINARY2 stream (before base64) of ``table.array``."""
    array = table.array
    n = len(array)
    names = array.dtype.names or ()
    if n == 0 or not names:
        return b""
    nulls = np.stack([np.asarray(array.mask[name]).reshape(n, -1).all(axis=1) for name in names], axis=1)
    flags = np.packbits(nulls, axis=1)  # first field in the most significant bit, as astropy writes it
    cells: list[list[bytes]] = []
    check = getattr(table, "check", None) or (lambda: None)  # a query's budget: see portal.archive.budget
    for name, field in zip(names, table.fields):
        check()
        converter = field.converter
        data = array.data[name]
        if _is_plain_numeric(converter):
            big = np.ascontiguousarray(data, dtype=data.dtype.newbyteorder(">"))
            buf, width = big.tobytes(), big.dtype.itemsize
            cells.append([buf[i * width:(i + 1) * width] for i in range(n)])
        elif isinstance(converter, converters.Array):
            mask = array.mask[name]
            cells.append([converter.binoutput(data[i], mask[i]) for i in range(n)])
        else:
            cells.append([converter.binoutput(data[i], None) for i in range(n)])
    flag_bytes = [row.tobytes() for row in flags]
    return b"".join(flag_bytes[i] + b"".join(column[i] for column in cells) for i in range(n))


class FastTableElement(TableElement):
    """An astropy VOTable TABLE whose BINARY2 serialization uses :func:`binary2_payload`.

    With ``marker`` set, the stream holds that text instead of the rows: the document around the rows,
    which is the same for every result with these columns, is then written once and kept
    (:func:`portal.archive.output.votable_result`)."""

    marker: str | None = None

    def _write_binary(self, mode, w, **kwargs):
        if mode != 2:
            return super()._write_binary(mode, w, **kwargs)
        with w.tag("BINARY2"):
            with w.tag("STREAM", encoding="base64"):
                text = self.marker if self.marker is not None else base64.b64encode(
                    binary2_payload(self)).decode("ascii")
                w._flush()
                w.write(text)
