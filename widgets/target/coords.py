"""Positions and radii typed by a person: degrees, sexagesimal or galactic; a radius with units.

Pure functions (astropy only), each raising :class:`InputError` with a sentence a person can act on.
"""

from __future__ import annotations

import re

import astropy.units as u
from astropy.coordinates import Angle, SkyCoord

FRAME_WORDS = {
    "icrs": "icrs", "j2000": "icrs", "fk5": "icrs", "eq": "icrs", "equatorial": "icrs",
    "gal": "galactic", "galactic": "galactic",
}
# A typed position, once frame words are removed: signed numbers, each optionally followed by a
# unit mark (h m s d ° ' "), and separators. "MSH 15-52" or "M 1" are names, not positions.
_POSITION = re.compile(r"^(?:[\s,;:]*[+-]?\s*\d+(?:\.\d*)?\s*[hmsd°'\"′″]?)+[\s,;:]*$", re.IGNORECASE)
_GAL_NAME = re.compile(r"^G\s*(\d+(?:\.\d+)?)\s*([+-]\s*\d+(?:\.\d+)?)$", re.IGNORECASE)
_LB = re.compile(r"^l\s*=\s*([^,;\s]+)[\s,;]+b\s*=\s*(\S+)$", re.IGNORECASE)
_UNIT_SYMBOLS = {"°": " deg", "′": " arcmin", "'": " arcmin", "″": " arcsec", '"': " arcsec"}
MAX_RADIUS = 180.0


class InputError(ValueError):
    """A value typed by the user cannot be used; the message says why and what is expected."""


def looks_like_position(text: str) -> bool:
    """True when ``text`` is coordinates rather than a name (``"83.6 22.0"``, ``"l=184.6 b=-5.8"``...)."""
    words = text.strip().lower().split()
    rest = " ".join(w for w in words if w not in FRAME_WORDS)
    return bool(_LB.match(rest) or _POSITION.match(rest))


def _split_frame(text: str) -> tuple[str, str]:
    frame = "icrs"
    kept = []
    for word in text.replace(",", " ").replace(";", " ").split():
        key = word.lower()
        if key in FRAME_WORDS:
            frame = FRAME_WORDS[key]
        else:
            kept.append(word)
    return frame, " ".join(kept)


def _two_parts(body: str) -> tuple[str, str]:
    """Split into longitude and latitude: at the sign of the latitude, or in the middle of the tokens."""
    tokens = body.split()
    if len(tokens) == 2:
        return tokens[0], tokens[1]
    if len(tokens) in (4, 6) and all(re.fullmatch(r"[+-]?[0-9.]+", t) for t in tokens):
        half = len(tokens) // 2  # "05 34 31.9 +22 00 52" (hours and degrees written as h m s d m s)
        return ":".join(tokens[:half]), ":".join(tokens[half:])
    match = re.match(r"^(.*?\S)\s*([+-].*)$", body)
    if match and match.group(1).strip():
        return match.group(1).strip(), match.group(2).replace(" ", "")
    raise InputError(
        f"cannot read {body!r} as a position: give two coordinates, e.g. '83.633 22.014' (degrees), "
        "'05:34:31.9 +22:00:52' (hours, degrees) or 'gal 184.56 -5.78'"
    )


def _longitude(text: str, frame: str) -> Angle:
    sexagesimal = ":" in text or re.search(r"[hms]", text, re.IGNORECASE) or " " in text.strip()
    try:
        if frame == "icrs" and sexagesimal and not re.search(r"[d°]", text):
            angle = Angle(text, unit=u.hourangle)
        else:
            angle = Angle(text, unit=u.deg)
    except (ValueError, u.UnitsError) as exc:
        raise InputError(f"cannot read {text!r} as an angle ({exc})") from None
    name = "RA" if frame == "icrs" else "Galactic longitude l"
    if not 0 <= angle.deg < 360:
        raise InputError(f"{name} must be between 0 and 360 degrees (0h to 24h), not {text}")
    return angle


def _latitude(text: str, frame: str) -> Angle:
    try:
        angle = Angle(text, unit=u.deg)
    except (ValueError, u.UnitsError) as exc:
        raise InputError(f"cannot read {text!r} as an angle ({exc})") from None
    name = "Dec" if frame == "icrs" else "Galactic latitude b"
    if not -90 <= angle.deg <= 90:
        raise InputError(f"{name} must be between -90 and +90 degrees, not {text}")
    return angle


def galactic_name_position(text: str) -> SkyCoord | None:
    """The position a Galactic name such as ``G346.1+0.0`` encodes (l, b in degrees), or None."""
    match = _GAL_NAME.match((text or "").replace(" ", ""))
    if not match:
        return None
    try:
        return parse_position(f"gal {match.group(1)} {match.group(2)}")
    except InputError:
        return None


def parse_position(text: str) -> SkyCoord:
    """An ICRS position from degrees, sexagesimal (RA in hours) or galactic coordinates."""
    text = (text or "").strip()
    if not text:
        raise InputError("type a target name or a position")
    frame, body = _split_frame(text)
    lb = _LB.match(body)
    if lb:
        frame, lon, lat = "galactic", lb.group(1), lb.group(2)
    else:
        lon, lat = _two_parts(body)
    lon_angle, lat_angle = _longitude(lon, frame), _latitude(lat, frame)
    if frame == "galactic":
        return SkyCoord(l=lon_angle, b=lat_angle, frame="galactic").icrs
    return SkyCoord(ra=lon_angle, dec=lat_angle, frame="icrs")


def parse_radius(text: str | float, default_unit: str = "deg") -> Angle:
    """A search radius: ``"0.5 deg"``, ``"30 arcmin"``, ``"30'"``, ``"2°"``; a bare number is in degrees."""
    if isinstance(text, (int, float)):
        value = u.Quantity(float(text), default_unit)
    else:
        raw = (text or "").strip()
        if not raw:
            raise InputError("give a search radius, e.g. '0.5 deg' or '30 arcmin'")
        cleaned = raw
        for symbol, unit in _UNIT_SYMBOLS.items():
            cleaned = cleaned.replace(symbol, unit)
        try:
            value = u.Quantity(cleaned)
        except (ValueError, TypeError):
            raise InputError(f"cannot read the radius {raw!r}: write a number and a unit, e.g. '0.5 deg'") from None
        if value.unit == u.dimensionless_unscaled:
            value = value.value * u.Unit(default_unit)
        if not value.unit.is_equivalent(u.deg):
            raise InputError(f"the radius {raw!r} is not an angle: use deg, arcmin or arcsec")
    degrees = value.to_value(u.deg)
    if not degrees > 0:
        raise InputError(f"the radius must be larger than zero, not {value:g}")
    if degrees > MAX_RADIUS:
        raise InputError(f"the radius must be at most 180 degrees, not {value:g}")
    return Angle(degrees, u.deg)


def format_position(coord: SkyCoord) -> str:
    """``83.6331 +22.0145 (05:34:31.9 +22:00:52)``: degrees and sexagesimal, for messages."""
    icrs = coord.icrs
    sexa = icrs.to_string("hmsdms", sep=":", precision=1)
    return f"{icrs.ra.deg:.4f} {icrs.dec.deg:+.4f} ({sexa})"
