"""Selected rows as a VOTable or CSV file (astropy writers), and as a browser download link."""

from __future__ import annotations

import base64
import html
import io

FORMATS = {
    "VOTable": ("votable", "application/x-votable+xml", "xml"),
    "CSV": ("ascii.csv", "text/csv", "csv"),
}


def _writable(table):
    """A copy without object columns astropy cannot write (rare, from exotic services)."""
    out = table.copy(copy_data=False)
    for name in list(out.colnames):
        if out[name].dtype.kind == "O":
            out[name] = [str(v) for v in out[name]]
    return out


def to_bytes(table, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    writer = FORMATS[fmt][0]
    if writer == "votable":
        binary = io.BytesIO()
        # BINARY2 (nulls kept): astropy's C TABLEDATA writer corrupts memory (astropy issue #20419)
        _writable(table).write(binary, format=writer, tabledata_format="binary2")
        return binary.getvalue()
    text = io.StringIO()
    _writable(table).write(text, format=writer)
    return text.getvalue().encode("utf-8")


def download_link(table, fmt: str, stem: str = "selection") -> str:
    """An HTML anchor that downloads the table (a data: URL; the file never touches the server)."""
    _writer, mime, ext = FORMATS[fmt]
    payload = base64.b64encode(to_bytes(table, fmt)).decode("ascii")
    name = html.escape(f"{stem}.{ext}")
    return (f"<a download='{name}' href='data:{mime};base64,{payload}' class='portal-download'>"
            f"Download {len(table):,} row{'s' if len(table) != 1 else ''} as {html.escape(fmt)} ({name})</a>")
