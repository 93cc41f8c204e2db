"""Look at what the browser drew: count the pixels of a colour in a screenshot."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

FOOTPRINT = (0x4F, 0xC3, 0xF7)  # layers.js default colours
SELECTED = (0xFF, 0xB3, 0x00)
TARGET = (0xFF, 0x40, 0x81)


def count(png: bytes, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    distance = np.abs(image - np.array(rgb)).sum(axis=2)
    return int((distance <= tolerance).sum())


def is_allowed_external(url: str) -> bool:
    """Aladin Lite's usage log to CDS is the one request allowed out (it fails harmlessly offline)."""
    return "/cgi/AladinLiteLogger/" in url
