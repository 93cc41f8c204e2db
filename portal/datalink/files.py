"""The bytes behind the links: whole DL3 files, single HDUs cut out verbatim, sizes known in advance.

A single HDU is served as a valid FITS file: the original primary HDU followed by the extension,
both copied byte for byte from the (decompressed) DL3 file, so its size is known from the FITS
structure alone, before anything is written. Cut-outs are cached under the data dir.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from astropy.io import fits

from portal.datalink.lookup import HDUFile, NotFound

FITS = "application/fits"
GZIP = "application/gzip"


def file_content_type(path: Path) -> str:
    """What a stored DL3 file is: FITS, or gzip-compressed FITS."""
    return GZIP if path.name.endswith((".gz", ".gzip")) else FITS


@dataclass(frozen=True)
class _Layout:
    primary: tuple[int, int]  # byte range of the primary HDU in the decompressed file
    extensions: dict[str, tuple[int, int]]  # EXTNAME (upper case) -> byte range


class HDUCutter:
    """Single-HDU FITS files of DL3 files, with their sizes (layouts cached per file version)."""

    def __init__(self, cache_dir: Path):
        self.cache_dir = Path(cache_dir)
        self._lock = threading.Lock()
        self._layouts: dict[tuple[Path, float, int], _Layout] = {}

    def size(self, hdu: HDUFile) -> int:
        layout = self._layout(hdu.path)
        start, end = self._extension(layout, hdu)
        return (layout.primary[1] - layout.primary[0]) + (end - start)

    def path(self, hdu: HDUFile) -> Path:
        """A cached FITS file holding the primary HDU and ``hdu`` (written on first use)."""
        stat = hdu.path.stat()
        key = hashlib.sha256(f"{hdu.path}\0{stat.st_mtime_ns}\0{stat.st_size}".encode()).hexdigest()[:24]
        out = self.cache_dir / key / f"{hdu.hdu_type}.fits"
        if out.is_file():
            return out
        layout = self._layout(hdu.path)
        start, end = self._extension(layout, hdu)
        raw = _raw_bytes(hdu.path)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.{threading.get_ident()}")
        with open(tmp, "wb") as f:
            f.write(raw[layout.primary[0]:layout.primary[1]])
            f.write(raw[start:end])
        tmp.replace(out)
        return out

    def _extension(self, layout: _Layout, hdu: HDUFile) -> tuple[int, int]:
        try:
            return layout.extensions[hdu.hdu_name.upper()]
        except KeyError:
            raise NotFound(f"{hdu.path.name} has no HDU named {hdu.hdu_name} ({hdu.hdu_type})") from None

    def _layout(self, path: Path) -> _Layout:
        stat = path.stat()
        key = (path, stat.st_mtime, stat.st_size)
        with self._lock:
            if key in self._layouts:
                return self._layouts[key]
        with fits.open(io.BytesIO(_raw_bytes(path)), memmap=False, lazy_load_hdus=False) as hdul:
            spans = []
            for i in range(len(hdul)):
                info = hdul.fileinfo(i)
                spans.append((info["hdrLoc"], info["datLoc"] + info["datSpan"]))
            names = [h.name.upper() for h in hdul]
        layout = _Layout(spans[0], {name: span for name, span in zip(names[1:], spans[1:], strict=True)})
        with self._lock:
            self._layouts[key] = layout
        return layout


def _raw_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
