"""What every name source answers: a :class:`Resolution`, None (the name is unknown to it), or
:class:`Unreachable` (it could not be asked); :class:`NameNotFound` is the chain's "no source knows it"."""

from __future__ import annotations

from dataclasses import dataclass

from astropy.coordinates import SkyCoord

from portal.seam.names import normalize_name
from portal.seam.sizes import SourceSize


@dataclass(frozen=True)
class Resolution:
    query: str
    name: str  # the name the source gave (canonical name, catalog name or archive target name)
    coord: SkyCoord
    source: str  # where the answer came from, for the message
    note: str = ""
    size: SourceSize | None = None  # the source's angular size, when a local catalog gives one
    size_note: str = ""  # where the size came from, or why there is none


class Unreachable(ConnectionError):
    """A name service could not be asked (network down, server error).

    ``phrase`` is what the chain's message says after the source's label; without one it says
    "could not ask <label> (offline?)".
    """

    def __init__(self, message: str, phrase: str = "") -> None:
        super().__init__(message)
        self.phrase = phrase


class NoAnswerYet(Unreachable):
    """A remote source was asked but has not answered within the time a local answer waits for it."""


class NameNotFound(LookupError):
    """No source knows the name; the message says where it looked."""

    def __init__(self, message: str, candidates: list[str] | None = None) -> None:
        super().__init__(message)
        self.candidates = candidates or []


normalize = normalize_name  # case, spaces and underscores do not matter (portal.seam.names)
