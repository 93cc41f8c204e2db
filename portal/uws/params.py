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
checked by :func:`check_observations` (the service calls it when a job is created or changed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from portal.parsing import NOT_XML, ValueProblem, parse_number
from portal.uws.definitions import JobDefinition, Parameter

__all__ = ["ParameterError", "MissingParameter", "check_text", "normalize", "typed", "convert", "obs_item", "repeated_observation",
           "check_observations"]

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
MAX_VALUE_LENGTH = 100_000
MAX_LIST_LENGTH = 10_000
# a collection name as the archive accepts it (portal.archive.layout.check_collection)
COLLECTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_text(what: str, text: str) -> None:
    """Refuse control characters (other than tab and newlines) that no UWS document can carry."""
    bad = NOT_XML.search(text)
    if bad is not None:
        raise ParameterError(f"{what}: contains the control character U+{ord(bad.group()):04X}, "
                             "which cannot be stored in a job (remove it)")


class ParameterError(ValueError):
    """A parameter value the definition does not accept; the message is meant for the user."""


class MissingParameter(ParameterError):
    """A required parameter is not given (yet: a PENDING job may get it later)."""


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
    if p.type in ("int-list", "obs-list"):
        items = list_items(text)
        if not items:
            what = "integer" if p.type == "int-list" else "obs id"
            raise ParameterError(f"parameter {p.name}: give at least one {what} (comma-separated)")
        if len(items) > MAX_LIST_LENGTH:
            raise ParameterError(f"parameter {p.name}: too many values ({len(items)}, at most {MAX_LIST_LENGTH})")
        if p.type == "int-list":
            return [_number(p, item, True) for item in items]
        return _observations(p, items)
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


def list_items(text: str) -> list[str]:
    """The items of a list value: separated by commas, semicolons or spaces."""
    return [item for item in text.replace(";", ",").replace(" ", ",").split(",") if item.strip()]


def _split(item: str) -> tuple[str | None, str]:
    collection, sep, number = item.strip().rpartition("/")
    if sep and not COLLECTION.fullmatch(collection):
        raise ValueError(f"{collection!r} (in {item.strip()!r}) is not a collection name: write <collection>/<obs id>, "
                         "the collection as the archive's obs_collection gives it")
    return (collection if sep else None), number


def obs_item(item: int | str) -> tuple[str | None, int]:
    """``(collection, obs id)`` of an ``obs-list`` item: ``23523`` gives ``(None, 23523)``,
    ``"hess-dl3-dr1/23523"`` gives ``("hess-dl3-dr1", 23523)``; ValueError for anything else."""
    if isinstance(item, bool):
        raise ValueError(f"{item!r} is not an obs id")
    if isinstance(item, int):
        return None, item
    collection, number = _split(str(item))
    return collection, int(number)


def _observations(p: Parameter, items: list[str]) -> list[int | str]:
    out: list[int | str] = []
    for item in items:
        try:
            collection, text = _split(item)
        except ValueError as exc:
            raise ParameterError(f"parameter {p.name}: {exc}") from None
        if collection is not None and not text.strip():
            raise ParameterError(f"parameter {p.name}: {item.strip()!r} has no obs id after its collection")
        number = _number(p, text, True)
        out.append(number if collection is None else f"{collection}/{number}")
    repeated = repeated_observation(out)
    if repeated:
        raise ParameterError(f"parameter {p.name}: {repeated}")
    return out


def repeated_observation(items: Iterable[int | str]) -> str | None:
    """A sentence about the first observation given twice (the same obs id, qualified or not, from one
    collection or two: the same run), or None."""
    seen: dict[int, str] = {}
    for item in items:
        number = obs_item(item)[1]
        if number in seen:
            forms = f" ({seen[number]} and {item})" if seen[number] != str(item) else ""
            return (f"obs id {number} is given twice{forms}: a job takes each observation once, "
                    "from one collection")
        seen[number] = str(item)
    return None


def check_observations(definition: JobDefinition, stored: Iterable[tuple[str, str]],
                       archive_db: Path | None) -> None:
    """Check the ``obs-list`` values of ``stored`` against the archive: an unqualified obs id that
    several collections hold, an unknown collection or an obs id that its named collection does not
    hold raise :class:`ParameterError` (ids the archive does not know at all are left to the job,
    which names them when it runs). Without an archive (or its module) there is nothing to check."""
    values = dict(stored)
    lists = [p for p in definition.parameters if p.type == "obs-list" and p.name in values]
    if not lists or archive_db is None or not Path(archive_db).is_file():
        return
    try:
        from portal.archive.locate import naming_problems
    except ImportError:
        return
    for p in lists:
        problem = naming_problems(archive_db, convert(p, values[p.name]))
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
