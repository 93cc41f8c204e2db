"""Job parameters: from the strings of a UWS request to the typed values a run function gets.

UWS parameters travel as strings. :func:`normalize` checks each given value against the job
definition (so that a bad value is refused when it is posted, with a message naming the
parameter and the rule) and returns the (name, value) pairs to store; :func:`typed` turns a
complete stored set into the typed dict the run function receives, defaults filled in, and
applies the definition's own ``validate`` rules across parameters (the service applies them as soon
as a job's parameters are complete: at creation, at each change, and at RUN).
Parameter names are matched without regard to case (as TAP requires); stored names are the
definition's own spelling.

An ``obs-list`` value is a list of observations: an obs id stays an ``int``, a qualified one is the
text ``"<collection>/<obs_id>"`` (see :func:`obs_item`). Whether the archive holds them, once, is
checked by :func:`check_observations` with the application's observation locator (the service calls it
when a job is created or changed).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from portal.seam.params import (  # noqa: F401 - the rules both sides speak, re-exported for the service
    COLLECTION, MAX_LIST_LENGTH, MAX_VALUE_LENGTH, MissingParameter, ParameterError, check_text, convert, list_items,
    obs_item, repeated_observation)
from portal.uws.definitions import JobDefinition, Parameter
from portal.uws.locator import ObservationLocator

__all__ = ["ParameterError", "MissingParameter", "check_text", "normalize", "typed", "convert", "obs_item",
           "repeated_observation", "check_observations"]

def check_observations(definition: JobDefinition, stored: Iterable[tuple[str, str]],
                       locator: ObservationLocator | None) -> None:
    """Check the ``obs-list`` values of ``stored`` with the application's observation locator: an
    unqualified obs id that several collections hold, an unknown collection or an obs id that its named
    collection does not hold raise :class:`ParameterError` (ids the archive does not know at all are left
    to the job, which names them when it runs). Without a locator there is nothing to check."""
    values = dict(stored)
    lists = [p for p in definition.parameters if p.type == "obs-list" and p.name in values]
    if not lists or locator is None:
        return
    for p in lists:
        problem = locator.check(convert(p, values[p.name]))
        if problem:
            raise ParameterError(f"parameter {p.name}: {problem}")


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
        raise MissingParameter(f"missing required parameter{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    if definition.validate is not None:
        definition.validate(out)  # rules across parameters (ParameterError)
    return out
