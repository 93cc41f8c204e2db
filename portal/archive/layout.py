"""How a GADF DL3 release is laid out: its index files, and its name in the archive.

Light (standard library only): the DataLink service uses it at request time.

Index files are ``obs-index`` and ``hdu-index``, gzip-compressed or plain FITS.

The name of a release in the archive (``obs_collection``, and part of every ``obs_publisher_did``):
``portal ingest PATH --collection NAME`` names it; without a name, the release's own is taken:
1. the title of its README, when that title is a name (one word, such as ``# HESS-DL3-DR1``), read
   from the release folder or, when the release sits in a folder called ``data``, the folder above;
2. else the folder's name, or the name of the folder above when the folder is called ``data``
   (gammapy-data's ``magic/rad_max/data`` is ``rad_max``).
"""

from __future__ import annotations

import re
from pathlib import Path

INDEX_SUFFIXES = (".fits.gz", ".fits", ".fits.fz")
README_NAMES = ("README.md", "README.rst", "README.txt", "README")
GENERIC_FOLDERS = {"data", "dl3"}
_VALID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def find_index(release: Path, name: str) -> Path | None:
    """The release's ``name`` index file (``obs-index`` or ``hdu-index``), gzip-compressed or plain."""
    for suffix in INDEX_SUFFIXES:
        if (release / f"{name}{suffix}").is_file():
            return release / f"{name}{suffix}"
    return None


class InvalidCollectionName(ValueError):
    """A collection name that cannot appear in an IVOA identifier as this archive writes them."""


def check_collection(name: str) -> str:
    """``name`` if it is a valid collection name (letters, digits, ``.``, ``_``, ``-``; at most 64)."""
    if not _VALID.match(name or ""):
        raise InvalidCollectionName(
            f"collection name {name!r} is not valid: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (it becomes part of each observation's IVOA identifier)")
    return name


def readme_title(folder: Path) -> str | None:
    """The first heading of the folder's README (Markdown ``# Title`` or an underlined reST title)."""
    for name in README_NAMES:
        path = folder / name
        if not path.is_file():
            continue
        try:
            lines = [line.strip() for line in path.read_text(errors="replace").splitlines()[:40]]
        except OSError:
            continue
        for i, line in enumerate(lines):
            if line.startswith("#"):
                return line.lstrip("#").strip() or None
            underline = lines[i + 1] if i + 1 < len(lines) else ""
            if line and len(underline) >= len(line) and set(underline) <= set("=-~*^"):
                return line
    return None


def _folders(release: Path) -> list[Path]:
    """Where the release's own name may be found: its folder, and the one above a generic folder."""
    return [release, release.parent] if release.name.lower() in GENERIC_FOLDERS else [release]


def release_name(release: Path) -> str:
    """The release's own name (see the module's documentation)."""
    release = Path(release).resolve()
    for folder in _folders(release):
        title = readme_title(folder)
        if title and _VALID.match(title):
            return title.lower()
    folder = _folders(release)[-1]
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", folder.name).strip("-._") or "release"
    return name[:64]
