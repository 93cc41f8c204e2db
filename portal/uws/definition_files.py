"""Job definition files: a kind of job described in TOML (or YAML), read into a :class:`JobDefinition`.

A file ``<name>.toml`` gives one kind of job::

    name = "echo"                          # optional; when given, the same as the file's name
    description = "Writes its parameters back."
    run = "tests.uws.jobs:echo"            # module:function, any installed package (imported by the worker)
    validate = "pkg.module:check"          # optional: rules across parameters, fn(params: dict) -> None
    preload = ["pkg.data"]                 # optional: modules the job processes import before any job
    execution_duration = 60                # optional, seconds (default 3600)

    [[parameters]]
    name = "number"
    type = "float"                         # int, float, string, bool, int-list, obs-list, choice
    help = "A bounded number."
    label = "Number"                       # what a form calls it, without the unit
    unit = "m"
    minimum = 0.0
    maximum = 10.0
    default = 1.5                          # no default: required, unless `required = false` (then unset)
    # choices = ["a", "b"], choice_labels = ["the a", "the b"], ucd = "pos.eq.ra;meta.main", column = "obs_id"

    [[results]]
    id = "echo"
    mime_type = "application/json"
    help = "The parameters as the job received them."

A YAML file (``.yaml``/``.yml``) has the same keys. A file that is not valid is refused with a
:class:`DefinitionProblem`: a sentence naming the file and the line (of the syntax error, else of the
offending key). Reading a file imports only the ``validate`` module (it must stay light); the ``run`` and
``preload`` modules are only looked up, never imported, so the service never imports the science stack.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portal.seam.names import JOB_KIND_NAME
from portal.seam.params import REQUIRED, Parameter
from portal.uws.definitions import JobDefinition, ResultSpec

__all__ = ["DefinitionProblem", "FORMATS", "NAME", "check_name", "format_of", "parse_definition", "read_definition"]

NAME = JOB_KIND_NAME  # a kind's name: its job list's URL segment and file name
RESERVED_NAMES = {"capabilities", "definitions"}  # /uws/capabilities (VOSI), /uws/definitions (the editor API)
FORMATS = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}
MAX_FILE = 1 << 20
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
RESULT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
CALLABLE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*):([A-Za-z_][A-Za-z0-9_]*)")
MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
TYPES = ("int", "float", "string", "bool", "int-list", "obs-list", "choice")
# the UWS control parameters (and the job list's filters): a job parameter may not take their names
RESERVED_PARAMETERS = {"phase", "runid", "executionduration", "destruction", "action", "job", "wait", "after",
                       "last", "quote", "owner"}
TOP_KEYS = ("name", "description", "run", "validate", "preload", "execution_duration", "parameters", "results")
PARAMETER_KEYS = ("name", "type", "help", "label", "unit", "minimum", "maximum", "default", "required", "choices",
                  "choice_labels", "ucd", "column")
RESULT_KEYS = ("id", "mime_type", "help")


@dataclass(frozen=True)
class DefinitionProblem(Exception):
    """Why a definition file is refused: ``str()`` is the sentence (file, line, what is wrong)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"Job definition file {self.file}, line {self.line}: {self.message}"


def format_of(path: Path | str) -> str | None:
    """``"toml"``, ``"yaml"`` or None (not a definition file) from the file's suffix."""
    return FORMATS.get(Path(path).suffix.lower())


def check_name(name: str) -> str | None:
    """Why ``name`` cannot name a kind of job (None when it can)."""
    if not NAME.fullmatch(name or ""):
        return (f"{name!r} is not a job kind's name: use 1 to 64 letters, digits, _ and -, starting with a "
                "letter")
    if name.lower() in RESERVED_NAMES:
        return f"{name!r} cannot name a job kind: /uws/{name} is another resource of the job service"
    return None


# -- lines of keys ---------------------------------------------------------------------------------------------
def _toml_lines(text: str) -> dict[tuple, int]:
    """Where each key of the documented layout is: ``(key,)`` at top level, ``("parameters", i)`` and
    ``("parameters", i, key)`` in the i-th ``[[parameters]]`` table (likewise ``results``)."""
    lines: dict[tuple, int] = {}
    section: tuple = ()
    counts: dict[str, int] = {}
    in_string = False
    key = re.compile(r"\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string:
            in_string = line.count('"""') % 2 == 0 and line.count("'''") % 2 == 0
            continue
        header = re.match(r"\s*\[\[\s*([A-Za-z0-9_-]+)\s*\]\]", line)
        if header:
            name = header.group(1)
            counts[name] = counts.get(name, -1) + 1
            section = (name, counts[name])
            lines.setdefault(section, number)
            lines.setdefault((name,), number)
            continue
        table = re.match(r"\s*\[\s*([A-Za-z0-9_.-]+)\s*\]", line)
        if table:
            section = (table.group(1),)
            lines.setdefault(section, number)
            continue
        found = key.match(line)
        if found:
            lines.setdefault((*section, found.group(1).strip('"')), number)
            if (line.count('"""') + line.count("'''")) % 2 == 1:
                in_string = True
    return lines


def _yaml_lines(node, path: tuple = (), lines: dict | None = None) -> dict[tuple, int]:
    import yaml

    lines = {} if lines is None else lines
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = (*path, key.value)
            lines.setdefault(here, key.start_mark.line + 1)
            _yaml_lines(value, here, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.setdefault((*path, i), item.start_mark.line + 1)
            _yaml_lines(item, (*path, i), lines)
    return lines


def _load(text: str, fmt: str, file: str) -> tuple[Any, dict[tuple, int]]:
    if fmt == "toml":
        try:
            return tomllib.loads(text), _toml_lines(text)
        except tomllib.TOMLDecodeError as exc:
            found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
            what = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)).rstrip(".")
            line = int(found.group(1)) if found else 1
            where = f", column {found.group(2)}" if found else ""
            raise DefinitionProblem(file, line, f"this is not valid TOML{where}: {what}.") from None
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise DefinitionProblem(file, line, f"this is not valid YAML: {exc.problem or exc.context}.") from None
    except yaml.YAMLError as exc:
        raise DefinitionProblem(file, 1, f"this is not valid YAML: {exc}.") from None
    return data, (_yaml_lines(node) if node is not None else {})


# -- the checks --------------------------------------------------------------------------------------------
class _Reader:
    """Checks one file's data, raising :class:`DefinitionProblem` at the line of the offending key."""

    def __init__(self, file: str, lines: dict[tuple, int]) -> None:
        self.file, self.lines = file, lines

    def fail(self, path: tuple, message: str):
        while path and path not in self.lines:
            path = path[:-1]
        raise DefinitionProblem(self.file, self.lines.get(path, 1), message)

    def keys(self, data: dict, allowed: tuple, path: tuple, what: str) -> None:
        for key in data:
            if key not in allowed:
                self.fail((*path, key), f"{what} has an unknown key {key!r} (the keys are {', '.join(allowed)}).")

    def text(self, data: dict, key: str, path: tuple, what: str, required: bool = True) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(path, f"{what} needs {key!r} (text).")
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail((*path, key), f"{what}: {key!r} must be non-empty text, not {value!r}.")
        return value

    def number(self, data: dict, key: str, path: tuple, what: str) -> float | int | None:
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            self.fail((*path, key), f"{what}: {key!r} must be a number, not {value!r}.")
        return value

    def strings(self, data: dict, key: str, path: tuple, what: str) -> tuple[str, ...] | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail((*path, key), f"{what}: {key!r} must be a list of non-empty texts.")
        return tuple(value)

    def callable_path(self, data: dict, key: str, what: str, required: bool) -> str | None:
        value = self.text(data, key, (), what, required)
        if value is None:
            return None
        match = CALLABLE.fullmatch(value.strip())
        if not match:
            self.fail((key,), f"{key!r} must be module:function (for instance mypackage.jobs:run), not {value!r}.")
        if not _module_exists(match.group(1)):
            self.fail((key,), f"the module {match.group(1)!r} of {key!r} is not installed where the job service "
                      "runs.")
        return value.strip()


def _module_exists(name: str) -> bool:
    """Whether ``name`` can be imported, without importing it (only its parent packages)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _validator(reader: _Reader, path: str | None):
    if path is None:
        return None
    module, _, attr = path.partition(":")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except Exception as exc:  # noqa: BLE001 - any failure of the operator's module is the file's problem
        reader.fail(("validate",), f"{path!r} cannot be imported ({type(exc).__name__}: {exc}).")
    if not callable(fn):
        reader.fail(("validate",), f"{path!r} is not a function.")
    return fn


def _default(reader: _Reader, entry: dict, p_type: str, choices, path: tuple, what: str) -> Any:
    if "default" not in entry:
        required = entry.get("required", True)
        if not isinstance(required, bool):
            reader.fail((*path, "required"), f"{what}: 'required' must be true or false.")
        return REQUIRED if required else None
    if entry.get("required") is True:
        reader.fail((*path, "required"), f"{what} has a default, so it cannot be required.")
    value, where = entry["default"], (*path, "default")
    if p_type in ("int-list", "obs-list"):
        if not isinstance(value, list) or not all(isinstance(v, (int, str)) and not isinstance(v, bool)
                                                  for v in value):
            reader.fail(where, f"{what}: the default of an {p_type} must be a list, such as [1, 2].")
        return tuple(value)
    expected = {"int": int, "float": (int, float), "bool": bool, "string": str, "choice": str}[p_type]
    if isinstance(value, bool) != (p_type == "bool") or not isinstance(value, expected):
        reader.fail(where, f"{what}: the default {value!r} is not a {p_type}.")
    if p_type == "choice" and value not in (choices or ()):
        reader.fail(where, f"{what}: the default {value!r} is not one of its choices.")
    return float(value) if p_type == "float" else value


def _table(reader: _Reader, entry: Any, section: str, i: int, key: str) -> tuple[tuple, str, str]:
    """The i-th ``[[section]]`` table (``parameters`` or ``results``): its path, the text naming it (``key``)
    and how sentences call it."""
    path, noun = (section, i), section[:-1]
    if not isinstance(entry, dict):
        reader.fail(path, f"{noun} {i + 1} must be a table of keys ([[{section}]]).")
    name = reader.text(entry, key, path, f"{noun} {i + 1}")
    return path, name, f"{noun} {name!r}"


def _parameter(reader: _Reader, entry: Any, i: int, seen: set[str]) -> Parameter:
    path, name, what = _table(reader, entry, "parameters", i, "name")
    if not IDENTIFIER.fullmatch(name) or name.lower() in RESERVED_PARAMETERS:
        reader.fail((*path, "name"), f"{name!r} cannot name a parameter: use letters, digits and _ (not a UWS "
                    f"control name such as PHASE or RUNID).")
    if name.lower() in seen:
        reader.fail((*path, "name"), f"the parameter {name!r} is given twice.")
    seen.add(name.lower())
    reader.keys(entry, PARAMETER_KEYS, path, what)
    p_type = reader.text(entry, "type", path, what)
    if p_type not in TYPES:
        reader.fail((*path, "type"), f"{what}: the type {p_type!r} is not one of {', '.join(TYPES)}.")
    minimum, maximum = (reader.number(entry, k, path, what) for k in ("minimum", "maximum"))
    if (minimum is not None or maximum is not None) and p_type not in ("int", "float", "int-list", "obs-list"):
        reader.fail((*path, "minimum" if minimum is not None else "maximum"),
                    f"{what}: a {p_type} has no bounds (minimum and maximum are for numbers).")
    if minimum is not None and maximum is not None and minimum > maximum:
        reader.fail((*path, "maximum"), f"{what}: the maximum {maximum} is below the minimum {minimum}.")
    choices = reader.strings(entry, "choices", path, what)
    labels = reader.strings(entry, "choice_labels", path, what)
    if (choices is not None) != (p_type == "choice"):
        reader.fail((*path, "choices" if choices is not None else "type"),
                    f"{what}: a choice parameter needs 'choices', and only a choice parameter has them.")
    if choices is not None and len(set(choices)) != len(choices):
        reader.fail((*path, "choices"), f"{what}: a choice is given twice.")
    if labels is not None and len(labels) != len(choices or ()):
        reader.fail((*path, "choice_labels"), f"{what}: {len(labels)} choice labels for {len(choices or ())} "
                    "choices (give one label per choice, in the same order).")
    default = _default(reader, entry, p_type, choices, path, what)
    if isinstance(default, (int, float)) and not isinstance(default, bool) and (
            (minimum is not None and default < minimum) or (maximum is not None and default > maximum)):
        reader.fail((*path, "default"), f"{what}: the default {default} is outside its bounds.")
    texts = {k: reader.text(entry, k, path, what, required=False) for k in ("label", "unit", "ucd", "column")}
    return Parameter(name, p_type, reader.text(entry, "help", path, what), default=default,
                     minimum=minimum, maximum=maximum, choices=choices, choice_labels=labels, **texts)


def _result(reader: _Reader, entry: Any, i: int, seen: set[str]) -> ResultSpec:
    path, result_id, what = _table(reader, entry, "results", i, "id")
    if not RESULT_ID.fullmatch(result_id):
        reader.fail((*path, "id"), f"{result_id!r} cannot name a result: use letters, digits, _, . and -.")
    if result_id in seen:
        reader.fail((*path, "id"), f"the result {result_id!r} is given twice.")
    seen.add(result_id)
    reader.keys(entry, RESULT_KEYS, path, what)
    mime = reader.text(entry, "mime_type", path, what)
    if "/" not in mime:
        reader.fail((*path, "mime_type"), f"{what}: {mime!r} is not a media type (such as application/fits).")
    return ResultSpec(result_id, mime, reader.text(entry, "help", path, what))


def parse_definition(text: str, file: str, fmt: str = "toml", name: str | None = None) -> JobDefinition:
    """The definition in ``text`` (read from ``file``, as named in problems); :class:`DefinitionProblem` if it
    is not valid. ``name``: the name the file's own name gives the kind (the ``name`` key must agree)."""
    if len(text) > MAX_FILE:
        raise DefinitionProblem(file, 1, f"the file is larger than {MAX_FILE >> 10} KiB.")
    data, lines = _load(text, fmt, file)
    reader = _Reader(file, lines)
    if not isinstance(data, dict):
        reader.fail((), "the file must hold keys (name, description, run, parameters, results).")
    reader.keys(data, TOP_KEYS, (), "the definition")
    kind = data.get("name", name)
    if not isinstance(kind, str) or check_name(kind):
        reader.fail(("name",), check_name(kind) if isinstance(kind, str) else "the definition needs a 'name'.")
    if name is not None and kind != name:
        reader.fail(("name",), f"the file names the kind {kind!r}, but its file name says {name!r}: make them the "
                    "same.")
    description = reader.text(data, "description", (), "the definition")
    run = reader.callable_path(data, "run", "the definition", required=True)
    validate = _validator(reader, reader.callable_path(data, "validate", "the definition", required=False))
    preload = reader.strings(data, "preload", (), "the definition") or ()
    for module in preload:
        if not MODULE.fullmatch(module) or not _module_exists(module):
            reader.fail(("preload",), f"the preload module {module!r} is not installed where the job service runs.")
    duration = data.get("execution_duration", 3600)
    if isinstance(duration, bool) or not isinstance(duration, int) or duration < 0:
        reader.fail(("execution_duration",), "'execution_duration' must be a whole number of seconds, 0 or more.")
    for key in ("parameters", "results"):
        if not isinstance(data.get(key, []), list):
            reader.fail((key,), f"'{key}' must be a list of tables ([[{key}]]).")
    names: set[str] = set()
    parameters = tuple(_parameter(reader, entry, i, names) for i, entry in enumerate(data.get("parameters", [])))
    ids: set[str] = set()
    results = tuple(_result(reader, entry, i, ids) for i, entry in enumerate(data.get("results", [])))
    return JobDefinition(name=kind, description=description, run=run, parameters=parameters, results=results,
                         execution_duration=duration, validate=validate, preload=tuple(preload))


def read_definition(path: Path, shown: str | None = None) -> JobDefinition:
    """The definition in the file ``path`` (its name without suffix is the kind's name)."""
    path = Path(path)
    shown = shown or str(path)
    fmt = format_of(path)
    if fmt is None:
        raise DefinitionProblem(shown, 1, f"{path.suffix!r} files are not definitions (use .toml or .yaml).")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DefinitionProblem(shown, 1, f"the file cannot be read ({exc.strerror}).") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise DefinitionProblem(shown, line, "the file is not UTF-8 text.") from None
    return parse_definition(text, shown, fmt, name=path.stem)
