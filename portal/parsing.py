"""The one parser of request values that are times or numbers: UWS, TAP sync and TAP async use it.

Every service turns :class:`ValueProblem` into its own error form (a UWS 400, a TAP VOTable error,
a job parameter error), so a bad value always ends in a sentence for the user and never in a 500:

- :func:`parse_time`: an ISO 8601 date and time (DALI timestamp), as a UTC-aware ``datetime``.
  A time zone that moves it past year 9999 (``9999-12-31T23:59:59-12:00``), a year 0 or a
  20,000-character string are refused with a message.
- :func:`parse_number`: a decimal number, ASCII digits only (``int("١٢")`` is 12 in Python, not
  here), at most :data:`MAX_NUMBER_LENGTH` characters, finite, within the bounds given. Above
  the maximum it is refused, or with ``clamp=True`` taken as the maximum (UWS ``WAIT`` and
  TAP ``MAXREC`` say "at most the server's limit"); below the minimum it is always refused.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

__all__ = ["MAX_NUMBER_LENGTH", "NOT_XML", "ValueProblem", "parse_number", "parse_time", "xml_safe"]

MAX_NUMBER_LENGTH = 64
MAX_TIME_LENGTH = 64
_INTEGER = re.compile(r"[+-]?[0-9]+")
#: Characters XML 1.0 cannot carry: text holding one cannot appear in a VOTable or a UWS document.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_REAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class ValueProblem(ValueError):
    """A value that cannot be used, with a sentence saying why (the parameter's name included)."""


def parse_time(text: str, name: str) -> datetime:
    """``text`` as an ISO 8601 date and time in UTC (no zone given: UTC, as DALI says)."""
    value = text.strip()
    if len(value) > MAX_TIME_LENGTH:
        raise ValueProblem(f"{name}: the value is too long for a date and time ({len(value)} characters)")
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in ("z", "Z") else value)
        return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)
    except ValueError:
        raise ValueProblem(f"{name}: {_shown(value)} is not an ISO 8601 date and time, "
                           "e.g. 2030-01-01T00:00:00Z") from None
    except OverflowError:  # the zone moves it outside years 1 to 9999
        raise ValueProblem(f"{name}: {_shown(value)} is out of range (outside the years 1 to 9999 in UTC)") from None


def parse_number(text: str, name: str, *, integer: bool = True, minimum: float | None = None,
                 maximum: float | None = None, clamp: bool = False, unit: str = "") -> int | float:
    """``text`` as an ``int`` (default) or a finite ``float`` within ``[minimum, maximum]``."""
    value = text.strip()
    what = "an integer" if integer else "a number"
    if len(value) > MAX_NUMBER_LENGTH:
        raise ValueProblem(f"{name}: the value is too long for {what} ({len(value)} characters)")
    if not integer and value.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        raise ValueProblem(f"{name}: {_shown(value)} is not a finite number")
    if not (_INTEGER if integer else _REAL).fullmatch(value):
        raise ValueProblem(f"{name}: {_shown(value)} is not {what}")
    number: int | float = int(value) if integer else float(value)
    suffix = f" {unit}" if unit else ""
    if not integer and not math.isfinite(number) and not (clamp and maximum is not None and number > 0):
        raise ValueProblem(f"{name}: {_shown(value)} is out of range (not a finite number)")
    if minimum is not None and number < minimum:
        raise ValueProblem(f"{name}: {_shown(value)} is below the minimum {minimum:g}{suffix}")
    if maximum is not None and number > maximum:
        if not clamp:
            raise ValueProblem(f"{name}: {_shown(value)} is above the maximum {maximum:g}{suffix}")
        number = type(number)(maximum)
    return number


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")


def xml_safe(text: str) -> str:
    """``text`` with each character XML cannot carry written as its escape (``\\x1a``)."""
    return NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}", text)
