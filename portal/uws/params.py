"""Job parameters: from the strings of a UWS request to the typed values a run function gets.

UWS parameters travel as strings. :func:`normalize` checks each given value against the job
definition (so that a bad value is refused when it is posted, with a message naming the
parameter and the rule) and returns the (name, value) pairs to store; :func:`typed` turns a
complete stored set into the typed dict the run function receives, defaults filled in, and
applies the definition's own ``validate`` rules across parameters.
Parameter names are matched without regard to case (as TAP requires); stored names are the
definition's own spelling.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from portal.parsing import NOT_XML, ValueProblem, parse_number
from portal.uws.definitions import JobDefinition, Parameter

__all__ = ["ParameterError", "check_text", "normalize", "typed", "convert"]

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
MAX_VALUE_LENGTH = 100_000
MAX_LIST_LENGTH = 10_000


def check_text(what: str, text: str) -> None:
    """Refuse control characters (other than tab and newlines) that no UWS document can carry."""
    bad = NOT_XML.search(text)
    if bad is not None:
        raise ParameterError(f"{what}: contains the control character U+{ord(bad.group()):04X}, "
                             "which cannot be stored in a job (remove it)")


class ParameterError(ValueError):
    """A parameter value the definition does not accept; the message is meant for the user."""


def _number(p: Parameter, text: str, integer: bool) -> int | float:
    try:
        return parse_number(text, f"parameter {p.name}", integer=integer, minimum=p.minimum, maximum=p.maximum,
                            unit=p.unit or "")
    except ValueProblem as exc:
        raise ParameterError(str(exc)) from None


def convert(p: Parameter, text: str) -> Any:
    """The typed value of ``text`` for parameter ``p``; raises :class:`ParameterError`."""
    if len(text) > MAX_VALUE_LENGTH:
        raise ParameterError(f"parameter {p.name}: value too long ({len(text)} characters)")
    check_text(f"parameter {p.name}", text)
    if p.type in ("int", "float"):
        return _number(p, text, p.type == "int")
    if p.type == "bool":
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ParameterError(f"parameter {p.name}: {text!r} is not a boolean (true or false)")
    if p.type == "int-list":
        items = [item for item in text.replace(";", ",").replace(" ", ",").split(",") if item.strip()]
        if not items:
            raise ParameterError(f"parameter {p.name}: give at least one integer (comma-separated)")
        if len(items) > MAX_LIST_LENGTH:
            raise ParameterError(f"parameter {p.name}: too many values ({len(items)}, at most {MAX_LIST_LENGTH})")
        return [_number(p, item, True) for item in items]
    if p.type == "choice":
        choices = p.choices or ()
        if text in choices:
            return text
        lowered = {c.lower(): c for c in choices}
        if text.strip().lower() in lowered:
            return lowered[text.strip().lower()]
        raise ParameterError(f"parameter {p.name}: {text!r} is not one of {', '.join(choices)}")
    if p.type == "string":
        return text
    raise ParameterError(f"parameter {p.name}: unknown type {p.type!r} in the job definition")


def _lookup(definition: JobDefinition) -> dict[str, Parameter]:
    return {p.name.lower(): p for p in definition.parameters}


def normalize(definition: JobDefinition, given: Iterable[tuple[str, str]],
              current: Iterable[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """Merge ``given`` into ``current`` after checking every given value.

    Returns the new stored list: canonical names, one value per name, later values replacing
    earlier ones. Unknown names and bad values raise :class:`ParameterError`.
    """
    known = _lookup(definition)
    merged: dict[str, str] = dict(current)
    for name, value in given:
        p = known.get(name.lower())
        if p is None:
            names = ", ".join(q.name for q in definition.parameters) or "none"
            raise ParameterError(f"unknown parameter {name!r} for {definition.name} jobs (known: {names})")
        convert(p, value)
        merged[p.name] = value
    return [(p.name, merged[p.name]) for p in definition.parameters if p.name in merged]


def typed(definition: JobDefinition, stored: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Every parameter of ``definition`` as a typed value; missing required ones raise."""
    values = dict(stored)
    out: dict[str, Any] = {}
    missing = []
    for p in definition.parameters:
        if p.name in values:
            out[p.name] = convert(p, values[p.name])
        elif p.required:
            missing.append(p.name)
        else:
            out[p.name] = p.default
    if missing:
        raise ParameterError(f"missing required parameter{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    if definition.validate is not None:
        definition.validate(out)  # rules across parameters (ParameterError)
    return out
