"""Server paths as a caller may see them: the server's own folders are not theirs to know.

A path under one of the *data roots* (the portal's data folder, the job folders, the archive's release
folders, ``$GAMMAPY_DATA``) is shown relative to the deepest root that holds it
(``hess-dl3-dr1/data/hess_dl3_dr1_obs_id_023523.fits.gz``); any other path is cut to its file's name.
DataLink's error messages (no roots: file names only), the job's error summary and its provenance record
all use these two functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

__all__ = ["PATH", "shown_path", "shown_paths"]

# An absolute path of at least two parts, POSIX or Windows, inside any text (a message, a log line).
PATH = re.compile(r"(?<![\w.])(?:[A-Za-z]:)?(?:[\\/][^\s'\"\\/:,;()]+){2,}")
_DRIVE = re.compile(r"[A-Za-z]:/")


def _candidates(roots: Iterable[Path | str | None]) -> list[PurePosixPath]:
    """The roots as POSIX paths, each also resolved (symlinks followed), deepest first."""
    found: set[PurePosixPath] = set()
    for root in roots:
        if not root:
            continue
        root = Path(root)
        found.add(PurePosixPath(root.as_posix()))
        try:
            found.add(PurePosixPath(root.resolve().as_posix()))
        except (OSError, RuntimeError):
            pass
    # a root must be a folder of its own: "/" (or a drive) would show every path whole
    return sorted((p for p in found if len(p.parts) > 1), key=lambda p: len(p.parts), reverse=True)


def _shown(path: str, candidates: list[PurePosixPath]) -> str:
    pure = PurePosixPath(path.replace("\\", "/"))
    if not pure.is_absolute() and not _DRIVE.match(pure.as_posix()):
        return pure.as_posix()  # already relative: nothing of the server's folders in it
    for root in candidates:
        if pure != root and pure.is_relative_to(root):
            return pure.relative_to(root).as_posix()
    return pure.name


def shown_path(path: Path | str, roots: Iterable[Path | str | None] = ()) -> str:
    """``path`` relative to the deepest of ``roots`` that holds it, else its file's name."""
    return _shown(str(path), _candidates(roots))


def shown_paths(text: str, roots: Iterable[Path | str | None] = ()) -> str:
    """``text`` with every absolute path in it shown as :func:`shown_path` shows it."""
    candidates = _candidates(roots)
    return PATH.sub(lambda m: _shown(m.group(), candidates), text)
