"""Manifests of downloadable releases: every file with its size and SHA-256.

A manifest is a JSON file shipped with the portal (``portal/datasets/<name>.manifest.json``)::

    {"name": "hess-dl3-dr1", "base_url": "https://.../", "release_dir": "hess-dl3-dr1",
     "files": [{"path": "hess-dl3-dr1/obs-index.fits.gz", "size": 1234, "sha256": "..."}, ...]}

File paths are relative to a gammapy-data folder, so that a downloaded release lands in the same
layout as ``$GAMMAPY_DATA``. Regenerate one from a trusted local copy with::

    python -m portal.datasets.manifest $GAMMAPY_DATA > portal/datasets/hess-dl3-dr1.manifest.json
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MANIFESTS = Path(__file__).parent  # <name>.manifest.json, shipped as package data

# The public source gammapy's own downloads use: the gammapy-data repository.
GAMMAPY_DATA_URL = "https://raw.githubusercontent.com/gammapy/gammapy-data/master/"

# What the default dataset download fetches: H.E.S.S. DL3 DR1 and the catalogs the SED needs.
DR1_PATTERNS = ("hess-dl3-dr1/README.md", "hess-dl3-dr1/obs-index.fits.gz", "hess-dl3-dr1/hdu-index.fits.gz",
                "hess-dl3-dr1/data/*.fits.gz")
CATALOG_FILES = ("catalogs/fermi/gll_psc_v16.fit.gz", "catalogs/fermi/gll_psch_v08.fit.gz",
                 "catalogs/fermi/gll_psch_v13.fit.gz", "catalogs/hgps_catalog_v1.fits.gz",
                 "catalogs/gammacat/gammacat.fits.gz", "catalogs/2HWC.ecsv", "catalogs/3HWC.ecsv",
                 "catalogs/1LHAASO_catalog.fits")


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative POSIX path, no "..", no leading "/"
    size: int
    sha256: str

    def __post_init__(self):
        p = PurePosixPath(self.path)
        if p.is_absolute() or ".." in p.parts or not p.parts:
            raise ValueError(f"unsafe path in manifest: {self.path!r}")


@dataclass(frozen=True)
class Manifest:
    name: str
    base_url: str
    release_dir: str  # the GADF release folder inside the download (relative path)
    files: tuple[FileEntry, ...]

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    @classmethod
    def from_dict(cls, data: dict) -> "Manifest":
        return cls(data["name"], data["base_url"], data["release_dir"],
                   tuple(FileEntry(f["path"], int(f["size"]), f["sha256"]) for f in data["files"]))

    def to_dict(self) -> dict:
        return {"name": self.name, "base_url": self.base_url, "release_dir": self.release_dir,
                "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files]}


def load_manifest(name: str = "hess-dl3-dr1") -> Manifest:
    return Manifest.from_dict(json.loads((MANIFESTS / f"{name}.manifest.json").read_text()))


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def build_manifest(root: Path, name: str = "hess-dl3-dr1", base_url: str = GAMMAPY_DATA_URL) -> Manifest:
    """The manifest of DR1 plus the catalogs, from a local gammapy-data folder ``root``."""
    paths: list[Path] = []
    for pattern in DR1_PATTERNS:
        paths.extend(sorted(root.glob(pattern)))
    paths.extend(root / p for p in CATALOG_FILES if (root / p).is_file())
    files = tuple(FileEntry(p.relative_to(root).as_posix(), p.stat().st_size, sha256_of(p)) for p in paths)
    return Manifest(name, base_url, "hess-dl3-dr1", files)


if __name__ == "__main__":
    print(json.dumps(build_manifest(Path(sys.argv[1])).to_dict(), indent=1))
