"""What a job result looks like in the monitor: PNG shown, FITS summarised, text (YAML, JSON, logs) shown,
and a browser download for any of them (a data: URL made in the kernel, since the browser holds no token)."""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass

__all__ = ["Preview", "preview", "fits_summary", "download_link", "MAX_DOWNLOAD", "MAX_TEXT"]

MAX_DOWNLOAD = 50 << 20  # bytes: a bigger result is downloaded from code (job.result(...))
MAX_TEXT = 200_000  # characters of a text result shown


@dataclass(frozen=True)
class Preview:
    kind: str  # "image", "text" or "none"
    text: str = ""  # for text (or a note for none)
    image: bytes = b""  # PNG bytes


def _is_fits(content: bytes) -> bool:
    return content[:6] == b"SIMPLE" or content[:2] == b"\x1f\x8b"


def fits_summary(content: bytes) -> str:
    """HDUs with their kind, shape or columns and a few telling header cards."""
    import gzip

    from astropy.io import fits

    raw = gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content
    lines = []
    with fits.open(io.BytesIO(raw), memmap=False) as hdul:
        for i, hdu in enumerate(hdul):
            kind = type(hdu).__name__.replace("HDU", "")
            if getattr(hdu, "columns", None) is not None:
                n = hdu.header.get("NAXIS2", 0)
                shape = f"{n} rows; columns: " + ", ".join(
                    f"{c.name}" + (f" [{c.unit}]" if c.unit else "") for c in hdu.columns)
            elif hdu.header.get("NAXIS", 0):
                shape = "image " + " x ".join(str(hdu.header.get(f"NAXIS{k}")) for k in range(1, hdu.header["NAXIS"] + 1))
            else:
                shape = "no data"
            lines.append(f"[{i}] {hdu.name or '(primary)'} ({kind}): {shape}")
            for key in ("SED_TYPE", "SEDTYPE", "OBS_IDS", "TELESCOP", "INSTRUME", "OBJECT", "CTYPE1", "CTYPE2",
                        "BUNIT", "HDUCLAS1", "HDUCLAS2", "TIMESYS"):
                if key in hdu.header:
                    lines.append(f"      {key} = {hdu.header[key]}")
    return "\n".join(lines)


def preview(content: bytes, mime: str = "") -> Preview:
    """How to show ``content`` (a result's bytes, of MIME type ``mime``)."""
    mime = (mime or "").lower()
    if mime == "image/png" or content[:8] == b"\x89PNG\r\n\x1a\n":
        return Preview("image", image=content)
    if "fits" in mime or _is_fits(content):
        try:
            return Preview("text", fits_summary(content))
        except Exception as exc:  # noqa: BLE001 - a damaged file is said, not raised
            return Preview("none", f"This FITS file could not be read: {exc}")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return Preview("none", f"A binary file of {len(content):,} bytes: download it to open it.")
    if "json" in mime:
        try:
            text = json.dumps(json.loads(text), indent=2)
        except ValueError:
            pass
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + f"\n... ({len(text) - MAX_TEXT:,} more characters: download the file)"
    return Preview("text", text)


def download_link(content: bytes, mime: str, filename: str) -> str:
    """An HTML anchor that saves ``content`` as ``filename`` (escaped); a note when it is too big."""
    name = html.escape(filename, quote=True)
    if len(content) > MAX_DOWNLOAD:
        return (f"<span style='color:#c62828'>{name} is {len(content) / 1e6:.0f} MB, too big for a browser "
                "download from here; in a notebook use job.result(...)</span>")
    payload = base64.b64encode(content).decode("ascii")
    kind = html.escape(mime or "application/octet-stream", quote=True)
    return (f"<a download='{name}' href='data:{kind};base64,{payload}' class='portal-download'>"
            f"Save {name} ({len(content):,} bytes)</a>")
