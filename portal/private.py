"""Files only the portal's own user may read: the job store, the job folders and what jobs write, the token
store, the reduction cache. Files are 0600, their folders 0700, whatever the process's umask.

Job processes also run with umask 077 (:mod:`portal.uws.child`), so whatever a job's libraries write is
private too; these functions are for the files the services themselves create, and for stores made by an
older version (set to these modes when opened).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["FILE_MODE", "FOLDER_MODE", "make_private", "private_file", "private_folder", "write_private"]

FILE_MODE = 0o600
FOLDER_MODE = 0o700
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def make_private(path: Path, mode: int = FILE_MODE) -> None:
    """Set ``path``'s mode if it exists and is ours (another user's file is left as it is)."""
    try:
        if (os.stat(path).st_mode & 0o7777) != mode:
            os.chmod(path, mode)
    except OSError:
        pass


def private_folder(path: Path) -> Path:
    """``path`` as a folder of mode 0700, made with its missing parents (each 0700 too)."""
    path = Path(path)
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            pass
    if not path.is_dir():
        raise NotADirectoryError(f"{path} is not a folder")
    make_private(path, FOLDER_MODE)
    return path


def private_file(path: Path, *, sqlite: bool = False) -> Path:
    """``path`` as a file of mode 0600 (created empty when missing); with ``sqlite``, also the journal files
    SQLite keeps beside it (it creates them with the database file's mode)."""
    path = Path(path)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        make_private(path)  # made by an older version, or before: set to 0600 (left as it is if not ours)
    if sqlite:
        for suffix in SQLITE_COMPANIONS:
            make_private(path.with_name(path.name + suffix))
    return path


def write_private(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path``, which is created with mode 0600 (an existing one is set to it)."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with open(fd, "w", encoding="utf-8") as out:
        out.write(text)
    make_private(path)
    return path
