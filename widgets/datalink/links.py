"""What a DataLink row is to a person: its kind (events, each IRF, a preview, a service...), its size in
words, and whether it is a file, a preview, another link, a service or an error.

Plain data, no widgets and no network: :mod:`widgets.datalink.fetch` makes these from pyvo's parse of a
DataLink document, the state holds them, the view draws them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LinkRow", "ObsLinks", "Service", "human_size", "sentence"]

# local_semantics (the portal's own words, also common in other archives) -> what the file is
KINDS = {
    "dl3": "DL3 file (all HDUs)",
    "events": "events",
    "gti": "GTI",
    "aeff": "effective area (aeff)",
    "edisp": "energy dispersion (edisp)",
    "psf": "PSF (psf)",
    "bkg": "background (bkg)",
    "rad_max": "RAD_MAX",
    "counts-map": "counts map",
}
# DataLink core vocabulary (http://www.ivoa.net/rdf/datalink/core) -> a short word, when nothing better is said
SEMANTICS = {
    "#this": "the dataset",
    "#auxiliary": "auxiliary",
    "#calibration": "calibration",
    "#preview": "preview",
    "#preview-image": "preview image",
    "#preview-plot": "preview plot",
    "#thumbnail": "thumbnail",
    "#progenitor": "progenitor",
    "#derivation": "derived from this",
    "#provenance": "provenance",
    "#documentation": "documentation",
    "#proc": "service",
    "#cutout": "cut-out service",
    "#counterpart": "counterpart",
    "#coderived": "co-derived",
    "#detached-header": "header",
    "#error": "error map",
    "#noise": "noise",
    "#weight": "weight map",
    "#bias": "bias",
    "#dark": "dark",
    "#flat": "flat",
}
# what is a file to download (the rest, with an access_url, is "another link": progenitors, provenance...)
FILE_SEMANTICS = {"#this", "#auxiliary", "#calibration", "#error", "#noise", "#weight", "#bias", "#dark", "#flat",
                  "#coderived", "#detached-header"}
PREVIEW_SEMANTICS = {"#preview", "#preview-image", "#preview-plot", "#thumbnail"}
# the order files are listed in: the whole file, then the events, then each IRF
ORDER = ("dl3", "events", "gti", "aeff", "edisp", "psf", "bkg", "rad_max")


def human_size(n: int | None) -> str:
    """522418 -> '510 KiB'; None -> '' (the service did not say)."""
    if n is None:
        return ""
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            if unit == "bytes":
                return f"{int(size)} byte{'s' if int(size) != 1 else ''}"
            return f"{size:.1f} {unit}" if size < 10 else f"{size:.0f} {unit}"
        size /= 1024
    return ""  # pragma: no cover - the loop always returns


def sentence(text: str) -> str:
    """A DataLink error_message ("NotFoundFault: no observation with ID 'x' in this archive") as a sentence:
    the fault's name dropped, a capital first and a full stop last."""
    text = " ".join((text or "").split())
    head, sep, rest = text.partition(":")
    if sep and head.endswith("Fault") and " " not in head:
        text = rest.strip()
    if not text:
        return "The service gave an error without a message."
    first = text.split(" ", 1)[0]
    if first.isalpha() and first.islower():  # "no observation..." -> "No observation...", never "Psf.fits"
        text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


@dataclass(frozen=True)
class Service:
    """A service descriptor a ``#proc`` row points at (``service_def``): where to send which parameters."""

    access_url: str = ""
    standard_id: str = ""
    description: str = ""
    params: tuple[tuple[str, str], ...] = ()  # (name, value as text) of the input parameters with a value


@dataclass(frozen=True)
class LinkRow:
    """One row of a DataLink table (the standard's columns; None where the service left it empty)."""

    id: str
    access_url: str | None = None
    service_def: str | None = None
    error_message: str | None = None
    description: str | None = None
    semantics: str | None = None
    content_type: str | None = None
    content_length: int | None = None
    content_qualifier: str | None = None
    local_semantics: str | None = None
    link_auth: str | None = None
    service: Service | None = None

    @property
    def category(self) -> str:
        """``error``, ``service``, ``preview``, ``file`` or ``link`` (anything else with an access_url)."""
        if self.error_message:
            return "error"
        if self.service_def or self.semantics in ("#proc", "#cutout"):
            return "service"
        if not self.access_url:
            return "link"
        if self.semantics in PREVIEW_SEMANTICS:
            return "preview"
        if self.semantics in FILE_SEMANTICS:
            return "file"
        return "link"

    @property
    def kind(self) -> str:
        """What it is, in words: the portal's local_semantics (events, aeff...), else the content_qualifier
        (event, cube...) with the semantics, else the semantics alone."""
        local = (self.local_semantics or "").strip()
        if local in KINDS:
            return KINDS[local]
        word = SEMANTICS.get(self.semantics or "", (self.semantics or "").lstrip("#") or "link")
        if local:
            return local
        if self.content_qualifier:
            return f"{self.content_qualifier} ({word})" if word not in ("the dataset",) else self.content_qualifier
        return word

    @property
    def size(self) -> str:
        return human_size(self.content_length)

    @property
    def previewable(self) -> bool:
        """An image the panel can show (a preview, or any image/* file)."""
        return bool(self.access_url) and not self.error_message and (
            self.semantics in PREVIEW_SEMANTICS or (self.content_type or "").startswith("image/"))

    @property
    def message(self) -> str:
        """The error row's sentence (empty for other rows)."""
        return sentence(self.error_message) if self.error_message else ""

    def rank(self) -> tuple:
        local = self.local_semantics or ""
        return (ORDER.index(local) if local in ORDER else len(ORDER), self.semantics != "#this")


@dataclass(frozen=True)
class ObsLinks:
    """The DataLink answer for one observation: where it was asked (``url``), what for (``label``), and its rows;
    ``problem`` is a sentence when the document could not be had (a service down, not a DataLink answer)."""

    label: str
    url: str
    rows: tuple[LinkRow, ...] = ()
    problem: str = ""
    reachable: bool = True  # False: the service did not answer at all (down, or too slow)

    def of(self, category: str) -> list[LinkRow]:
        rows = [r for r in self.rows if r.category == category]
        return sorted(rows, key=LinkRow.rank) if category == "file" else rows
