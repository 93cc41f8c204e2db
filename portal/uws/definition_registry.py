"""The job kinds the service offers: Python definitions, built-in definition files and the operators' folder.

Three sources, in order of precedence:

1. Python definitions (``create_app(job_definitions=...)``, ``PORTAL_JOB_DEFINITIONS``): fixed while the
   server runs; a file may not take one of their names.
2. The operators' folder (``PORTAL_JOB_DEFINITIONS_DIR``, by default ``$PORTAL_DATA_DIR/job-definitions``):
   ``<name>.toml`` or ``<name>.yaml``. A file there named like a built-in one replaces it.
3. The built-in files shipped with the package (:data:`portal.jobs.definitions.BUILTIN_DIR`).

:meth:`DefinitionRegistry.refresh` looks at the files' sizes and modification times and reads again only
those that changed (the service calls it every few seconds, and at once after the editor saves). A file that
is not valid is refused: its sentence (file and line) is logged and kept in :attr:`problems` for the
operators, its kind is left out (or served by the built-in file it meant to replace), and every other kind
keeps working. Each time the set changes, ``on_change`` gets the new ``{name: JobDefinition}``.

Writes (:meth:`save`, :meth:`delete`) go to the operators' folder only, by a validated kind name (never a
path), atomically: a temporary file in the same folder, then a rename.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from portal.uws.definition_files import DefinitionProblem, check_name, format_of, parse_definition, read_definition
from portal.uws.definitions import JobDefinition

__all__ = ["DefinitionRegistry", "Entry", "folder_from_env"]

log = logging.getLogger("portal.uws")

BUILTIN, FOLDER, PYTHON = "built-in", "folder", "python"


def folder_from_env(data_dir: Path, environ: dict[str, str] | None = None) -> Path:
    """``PORTAL_JOB_DEFINITIONS_DIR``, else ``<data dir>/job-definitions``."""
    env = os.environ if environ is None else environ
    value = env.get("PORTAL_JOB_DEFINITIONS_DIR")
    return Path(value).expanduser().absolute() if value else Path(data_dir) / "job-definitions"


@dataclass(frozen=True)
class Entry:
    """One definition file as last read: its definition, or the problem that refused it."""

    path: Path
    origin: str  # BUILTIN or FOLDER
    stamp: tuple[int, int]  # (mtime_ns, size) when read
    definition: JobDefinition | None = None
    problem: DefinitionProblem | None = None

    @property
    def name(self) -> str:
        return self.path.stem


class DefinitionRegistry:
    """See the module docstring. Thread-safe."""

    def __init__(self, python: Iterable[JobDefinition] = (), builtin_dir: Path | None = None,
                 folder: Path | None = None, on_change: Callable[[dict[str, JobDefinition]], None] | None = None,
                 builtin_order: Iterable[str] = ()):
        self.python = {d.name: d for d in python}
        self.builtin_order = tuple(builtin_order)  # how /uws lists the built-in kinds (then the others)
        self.builtin_dir = Path(builtin_dir) if builtin_dir else None
        self.folder = Path(folder) if folder else None
        self.on_change = on_change
        self.entries: dict[Path, Entry] = {}
        self.definitions: dict[str, JobDefinition] = dict(self.python)
        self.problems: list[DefinitionProblem] = []
        self._lock = threading.RLock()

    # -- reading -------------------------------------------------------------------------------------------
    def _files(self) -> list[tuple[Path, str]]:
        found = []
        for folder, origin in ((self.builtin_dir, BUILTIN), (self.folder, FOLDER)):
            if folder is None or not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                if format_of(path) and not path.name.startswith(".") and path.is_file():
                    found.append((path, origin))
        return found

    def _shown(self, path: Path, origin: str) -> str:
        return f"{path.name} (built in)" if origin == BUILTIN else str(path)

    def refresh(self) -> bool:
        """Read the files that changed; True when the set of definitions (or of problems) changed."""
        with self._lock:
            changed = False
            seen = set()
            for path, origin in self._files():
                seen.add(path)
                try:
                    stat = path.stat()
                except OSError:
                    continue
                stamp = (stat.st_mtime_ns, stat.st_size)
                old = self.entries.get(path)
                if old is not None and old.stamp == stamp:
                    continue
                try:
                    entry = Entry(path, origin, stamp, definition=read_definition(path, self._shown(path, origin)))
                except DefinitionProblem as problem:
                    entry = Entry(path, origin, stamp, problem=problem)
                self.entries[path] = entry
                changed = True
            for path in [p for p in self.entries if p not in seen]:
                del self.entries[path]
                changed = True
            if changed:
                self._merge()
            return changed

    def _merge(self) -> None:
        merged = dict(self.python)
        problems: list[DefinitionProblem] = []
        chosen: dict[str, Entry] = {}
        # the folder before the built-in files, so that a folder file replaces a built-in one
        for entry in sorted(self.entries.values(), key=lambda e: (e.origin != FOLDER, e.path.name)):
            if entry.problem is not None:
                problems.append(entry.problem)
                continue
            name = entry.definition.name
            shown = self._shown(entry.path, entry.origin)
            if name in self.python:
                problems.append(DefinitionProblem(shown, 1, f"the kind {name!r} is defined in Python "
                                                  "(PORTAL_JOB_DEFINITIONS), which a file cannot replace."))
            elif name in chosen and chosen[name].origin == entry.origin:
                problems.append(DefinitionProblem(shown, 1, f"the kind {name!r} is also defined by "
                                                  f"{chosen[name].path.name}: keep one of the two files."))
            elif name not in chosen:
                chosen[name] = entry
                merged[name] = entry.definition
        # /uws lists the built-in kinds (in their order), then the Python ones, then the folder's own
        order = {n: i for i, n in enumerate(self.builtin_order)}
        for name in [e.name for e in sorted(self.entries.values(), key=lambda e: e.path.name)
                     if e.origin == BUILTIN] + list(self.python):
            order.setdefault(name, len(order))
        self.definitions = dict(sorted(merged.items(), key=lambda kv: order.get(kv[0], len(order))))
        for problem in problems:
            if problem not in self.problems:
                log.error("%s. The other job kinds keep working.", problem)
        self.problems = problems
        if self.on_change is not None:
            self.on_change(dict(self.definitions))

    # -- what operators see ----------------------------------------------------------------------------------
    def listing(self) -> tuple[list[dict], list[dict]]:
        """Every kind (and every refused file): name, where it comes from, whether the editor may change it."""
        with self._lock:
            rows = []
            for name, definition in self.definitions.items():
                entry = self.entry(name)
                origin = PYTHON if entry is None else entry.origin
                rows.append({"name": name, "origin": origin, "description": definition.description,
                             "file": entry.path.name if entry else None, "editable": origin != PYTHON,
                             "replaces_builtin": origin == FOLDER and self._builtin(name) is not None})
            problems = [{"file": p.file, "line": p.line, "message": str(p)} for p in self.problems]
            return rows, problems

    def entry(self, name: str) -> Entry | None:
        """The file that gives the kind ``name`` now (the folder's before the built-in one)."""
        with self._lock:
            if name in self.python:
                return None
            for origin in (FOLDER, BUILTIN):
                for entry in self.entries.values():
                    if entry.origin == origin and entry.name == name:
                        return entry
            return None

    def _builtin(self, name: str) -> Entry | None:
        return next((e for e in self.entries.values() if e.origin == BUILTIN and e.name == name), None)

    def text(self, name: str) -> tuple[str, str, str] | None:
        """(text, format, origin) of the file of kind ``name``, else None."""
        entry = self.entry(name)
        if entry is None:
            return None
        return entry.path.read_text(encoding="utf-8"), format_of(entry.path), entry.origin

    # -- checking and writing --------------------------------------------------------------------------------
    def check(self, name: str, text: str, fmt: str = "toml") -> JobDefinition:
        """The definition ``text`` gives the kind ``name``; :class:`DefinitionProblem` if it may not be saved."""
        problem = check_name(name)
        shown = f"{name}.{fmt}"
        if problem:
            raise DefinitionProblem(shown, 1, problem + ".")
        if fmt not in ("toml", "yaml"):
            raise DefinitionProblem(shown, 1, f"{fmt!r} is not a definition format (toml or yaml).")
        if name in self.python:
            raise DefinitionProblem(shown, 1, f"the kind {name!r} is defined in Python (PORTAL_JOB_DEFINITIONS), "
                                    "which a file cannot replace.")
        return parse_definition(text, shown, fmt, name=name)

    def save(self, name: str, text: str, fmt: str = "toml") -> JobDefinition:
        """Check, then write ``<folder>/<name>.<fmt>`` atomically (removing the kind's file of the other
        format) and read the folder again. Raises :class:`DefinitionProblem` (nothing written)."""
        definition = self.check(name, text, fmt)
        if self.folder is None:
            raise DefinitionProblem(f"{name}.{fmt}", 1, "this job service has no folder of definition files.")
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            target = self.folder / f"{name}.{fmt}"
            fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.chmod(temp, 0o644)
                os.replace(temp, target)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
            for other in self._own_files(name):
                if other != target:
                    other.unlink(missing_ok=True)
            self.refresh()
        log.info("job definition %s saved to %s", name, target)
        return definition

    def _own_files(self, name: str) -> list[Path]:
        if self.folder is None or check_name(name):
            return []
        return [self.folder / f"{name}{suffix}" for suffix in (".toml", ".yaml", ".yml")
                if (self.folder / f"{name}{suffix}").is_file()]

    def delete(self, name: str) -> bool:
        """Remove the folder's file(s) of kind ``name`` (a built-in kind it replaced comes back); False if
        the folder has none."""
        with self._lock:
            files = self._own_files(name)
            for path in files:
                path.unlink(missing_ok=True)
            if files:
                self.refresh()
                log.info("job definition %s removed from %s", name, self.folder)
            return bool(files)
