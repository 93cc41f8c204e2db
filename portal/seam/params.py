"""The parameter rules both sides speak: what a job parameter is (:class:`Parameter`) and how a value typed by
a person becomes its typed value (:func:`convert`), the same in the job service (which validates) and in the
widgets (which check a form before it is sent). Standard library only: no gammapy, no store, no web framework.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from portal.parsing import NOT_XML, ValueProblem, parse_number

__all__ = ["REQUIRED", "Parameter", "ParameterType", "ParameterError", "MissingParameter", "check_text", "convert",
           "list_items", "obs_item", "repeated_observation"]

#: ``obs-list``: observations of the archive, each an obs id (``23523``) or ``<collection>/<obs_id>``
#: (``hess-dl3-dr1/23523``, the collection being the ObsCore ``obs_collection``); the service refuses an
#: unqualified id that several collections hold, and the same observation given twice.
ParameterType = Literal["int", "float", "string", "bool", "int-list", "obs-list", "choice"]

REQUIRED: Any = object()  # marks a parameter without default


@dataclass(frozen=True)
class Parameter:
    """One typed job parameter, as shown in forms and checked before a job may run."""

    name: str
    type: ParameterType
    doc: str
    default: Any = REQUIRED
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    #: What a client may fill the parameter from: a UCD (``pos.eq.ra;meta.main`` for the target's
    #: position, ``meta.id;obs`` for observation ids, ``phys.angSize;src`` for the target's size)
    #: and, for values found in archive rows, the ObsCore column that holds them (``obs_id``).
    ucd: str | None = None
    column: str | None = None
    #: What a form calls the parameter, as an astronomer says it, without the unit (a form adds it):
    #: ``"Effective-area threshold"`` for ``aeff_percent``. Unset: forms show the name.
    label: str | None = None
    #: A display name per choice, in the order of ``choices`` (``"power law"`` for ``pl``); the value sent
    #: and stored stays the choice itself.
    choice_labels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.choice_labels is not None and len(self.choice_labels) != len(self.choices or ()):
            raise ValueError(f"parameter {self.name}: {len(self.choice_labels)} choice labels for "
                             f"{len(self.choices or ())} choices")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def title(self) -> str:
        """The label, else the name."""
        return self.label or self.name

    def choice_names(self) -> dict[str, str]:
        """Each choice and its display name (the choice itself when it has none)."""
        choices = self.choices or ()
        return dict(zip(choices, self.choice_labels or choices))


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
