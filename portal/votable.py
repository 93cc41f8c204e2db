"""VOTable documents to bytes, without astropy's C TABLEDATA writer.

astropy's C-accelerated TABLEDATA writer (``write_tabledata``, astropy 8.0.1 and 8.0.2) corrupts
the heap now and then; the process crashes later at an unrelated place (astropy issue #20419,
fix proposed in #20428). Here it crashed ``portal serve`` within a minute of DataLink requests.
Until a fixed astropy is released, TABLEDATA goes through astropy's own Python writer, which
astropy keeps for this case (``_debug_python_based_parser``). BINARY and BINARY2 do not use
the C writer and are unaffected.
"""

from __future__ import annotations

import io
import warnings

from astropy.io.votable.tree import VOTableFile

__all__ = ["to_xml_bytes"]


class _CheckedBuffer(io.BytesIO):
    """A buffer that calls ``check()`` every so many writes (astropy writes TABLEDATA row by row)."""

    def __init__(self, check, every: int = 2000):
        super().__init__()
        self._check, self._every, self._writes = check, every, 0

    def write(self, data) -> int:
        self._writes += 1
        if not self._writes % self._every:
            self._check()
        return super().write(data)


def to_xml_bytes(votable: VOTableFile, serialization: str = "tabledata", check=None) -> bytes:
    """The document with its tables serialised as ``tabledata``, ``binary`` or ``binary2``.

    ``check()``, when given, is called as the writing goes and may raise to stop it.
    """
    out = io.BytesIO() if check is None else _CheckedBuffer(check)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        votable.to_xml(out, tabledata_format=serialization,
                       _debug_python_based_parser=serialization == "tabledata")
    return out.getvalue()
