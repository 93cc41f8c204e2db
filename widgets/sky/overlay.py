"""OverlayState: a sky map (FITS) drawn over the sky, with a colour scale and an opacity; testable without a browser.

The maps offered (``choices``) come from the session: the significance, excess and counts maps of the active job
when it is a completed ``skymap`` job (followed in the monitor), and each sky-map product of the archive opened
with "Show on sky" (the session's ``product``, view ``sky``), which is also shown at once. :meth:`show` fetches
the map through the widgets' one client in the background and checks it (:func:`prepare`: a 2-D image with a
celestial WCS, NaN-safe cuts); ``image`` is what the sky view draws, with ``colormap`` and ``opacity``;
:meth:`remove` takes it off. Everything is local: the FITS goes to Aladin Lite through the widget, no survey,
no CDN. Failures are sentences in ``message``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import traitlets as t

from widgets.background import Background, UsesBackground
from widgets.client import PortalClient, ServiceError, default_client
from widgets.session import SessionState

__all__ = ["COLORMAPS", "ImageSource", "OverlayImage", "OverlayState", "prepare"]

# Aladin Lite 3 colour maps (its getListOfColormaps), the perceptual ones first
COLORMAPS = ("viridis", "inferno", "magma", "plasma", "cividis", "rdbu", "rdylbu", "spectral", "cubehelix",
             "grayscale", "rainbow", "redtemperature")
JOB_MAPS = (("significance", "significance map"), ("excess", "excess map"), ("counts", "counts map"))
MAX_PIXELS = 4_000_000  # a bigger map would be slow to send to the page
FETCH_TIMEOUT = 120.0


@dataclass(frozen=True)
class ImageSource:
    """A map that can be shown: its label, where its FITS file is, and where it comes from (job or product)."""

    label: str
    url: str
    origin: str  # "job" or "product"


@dataclass(frozen=True, eq=False)
class OverlayImage:
    """A map ready to draw: one FITS image HDU (2-D, celestial WCS) and the cuts of its colour scale."""

    label: str
    fits: bytes
    min_cut: float
    max_cut: float
    unit: str
    shape: tuple[int, int]
    center: tuple[float, float]  # ICRS degrees


class MapError(ValueError):
    """A file that is not a sky map this view can draw (the message says why)."""


def prepare(data: bytes, label: str) -> OverlayImage:
    """The first 2-D celestial image of a FITS file as a single-HDU FITS, with cuts from its finite pixels
    (0.5 and 99.5 percentiles); MapError with a sentence for anything else."""
    from astropy.io import fits
    from astropy.wcs import WCS

    if data[:6] != b"SIMPLE":
        raise MapError(f"{label} is not a FITS file, so it cannot be drawn on the sky.")
    try:
        with fits.open(io.BytesIO(data), memmap=False) as hdus:
            for hdu in hdus:
                if not isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU)) or hdu.data is None:
                    continue
                image = np.squeeze(np.asarray(hdu.data, dtype="float32"))
                wcs = WCS(hdu.header).celestial
                if image.ndim == 2 and wcs.naxis == 2 and wcs.has_celestial:
                    unit = str(hdu.header.get("BUNIT", "")).strip()
                    break
            else:
                raise MapError(f"{label} holds no 2-D sky image with celestial coordinates.")
    except MapError:
        raise
    except Exception as exc:  # noqa: BLE001 - astropy raises many kinds on a broken file
        raise MapError(f"{label} could not be read as a FITS image ({type(exc).__name__}).") from None
    if image.size > MAX_PIXELS:
        raise MapError(f"{label} has {image.size:,} pixels, more than the {MAX_PIXELS:,} the sky view draws.")
    finite = image[np.isfinite(image)]
    if finite.size == 0:
        raise MapError(f"{label} has no finite pixel value to draw.")
    low, high = (float(v) for v in np.percentile(finite, [0.5, 99.5]))
    if high <= low:
        low, high = float(finite.min()), float(finite.max()) + (1.0 if finite.max() == finite.min() else 0.0)
    header = wcs.to_header()
    if unit:
        header["BUNIT"] = unit
    out = io.BytesIO()
    fits.PrimaryHDU(image, header=header).writeto(out)
    ny, nx = image.shape
    center = wcs.pixel_to_world_values((nx - 1) / 2, (ny - 1) / 2)
    return OverlayImage(label, out.getvalue(), low, high, unit, (ny, nx), (float(center[0]) % 360, float(center[1])))


class OverlayState(UsesBackground, SessionState):
    observes = ("active_job", "product")
    publishes = ()

    choices = t.List(t.Instance(ImageSource))
    chosen = t.Unicode("")  # the url of the choice to show
    image = t.Instance(OverlayImage, allow_none=True)  # the map drawn (None: no overlay)
    colormap = t.Enum(COLORMAPS, "viridis")
    opacity = t.Float(0.7, min=0.0, max=1.0)
    status = t.Enum(["idle", "working", "ok", "error"], "idle")
    message = t.Unicode("")

    def __init__(self, client: PortalClient | None = None, background: Background | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.client = client or default_client()
        self.background = background
        self._job = None
        self._asked = 0
        self._products: list[ImageSource] = []  # maps of the archive opened with "Show on sky"
        self.watch(self._active, "active_job")
        self.watch(self._opened, "product")
        self._active()

    # -- what can be shown ------------------------------------------------------------------------
    def _active(self, _change=None) -> None:
        job = self.session.active_job
        if job is not self._job:
            if self._job is not None:
                self._job.unobserve(self._offer, ["phase", "results"])
            self._job = job
            if job is not None:
                job.observe(self._offer, ["phase", "results"])
        self._offer()

    def _offer(self, _change=None) -> None:
        job = self._job
        offered = []
        if job is not None and job.definition == "skymap" and job.phase == "COMPLETED":
            for rid, what in JOB_MAPS:
                href = job.results.get(rid)
                if href:
                    offered.append(ImageSource(f"{what.capitalize()} of skymap job {job.job_id[:8]}", href, "job"))
        choices = self._products + offered
        if [c.url for c in choices] != [c.url for c in self.choices]:
            self.choices = choices
        if self.chosen not in {c.url for c in choices}:
            self.chosen = choices[0].url if choices else ""

    def _opened(self, change) -> None:
        opened = change["new"]
        if opened is None or opened.view != "sky" or not opened.links.file_url:
            return
        source = ImageSource(opened.product.label, opened.links.file_url, "product")
        self._products = [source] + [p for p in self._products if p.url != source.url]
        self._offer()
        self.chosen = source.url
        self.show()

    # -- showing ----------------------------------------------------------------------------------
    def show(self, url: str | None = None, wait: bool = False):
        """Fetch the chosen map (or ``url``, one of ``choices``) and draw it; in the background unless ``wait``."""
        url = url or self.chosen or (self.choices[0].url if self.choices else "")
        source = next((c for c in self.choices if c.url == url), None)
        if source is None:
            self.status, self.message = "error", ("There is no sky map to show: open a sky-map product of the "
                                                  "archive, or choose a completed skymap job in Your jobs.")
            return None
        self.chosen = url
        self._asked += 1
        asked = self._asked
        self.status, self.message = "working", f"Reading the {source.label}..."

        def load() -> OverlayImage:
            data = self.client.get(source.url, timeout=FETCH_TIMEOUT).content
            return prepare(data, source.label)

        if wait:
            try:
                image = load()
            except Exception as exc:  # noqa: BLE001 - a sentence, as in the background
                self._failed(asked, exc)
                return None
            self._ready(asked, image)
            return image
        return self.bg.run(load, on_done=lambda image: self._ready(asked, image),
                           on_error=lambda exc: self._failed(asked, exc))

    def _ready(self, asked: int, image: OverlayImage) -> None:
        if asked != self._asked:
            return
        unit = f" {image.unit}" if image.unit else ""
        with self.hold_trait_notifications():
            self.image = image
            self.status = "ok"
            self.message = (f"{image.label}: {image.shape[1]}x{image.shape[0]} pixels, colour scale "
                            f"{image.min_cut:.3g} to {image.max_cut:.3g}{unit}.")

    def _failed(self, asked: int, exc: BaseException) -> None:
        if asked != self._asked:
            return
        text = exc.message if isinstance(exc, ServiceError) else str(exc) or type(exc).__name__
        self.status, self.message = "error", text

    def remove(self) -> None:
        """Take the map off the sky."""
        self._asked += 1
        with self.hold_trait_notifications():
            self.image, self.status, self.message = None, "idle", ""

    def drawn(self, ok: bool, text: str = "") -> None:
        """What the page said once it drew (or failed to draw) the map."""
        if not ok and self.image is not None:
            self.status, self.message = "error", f"The sky view could not draw {self.image.label}: {text}"
