"""A JobContext for running job functions in-process on one GADF release, as the service would.

It resolves obs ids with the release's own obs-index (as the archive does after ingest),
keeps every published version of each result, and records what the job said it used. The
integration tests run the same jobs through the real job service.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from astropy.table import Table

from portal.archive.locate import ObservationLocation
from portal.uws.definitions import UsageError


@dataclass
class LocalContext:
    release_dir: Path
    workdir: Path
    job_id: str = "local"
    owner: str = "tester"
    published: dict[str, list[Path]] = field(default_factory=dict)
    inputs: list[tuple[Path, str, dict[str, Any]]] = field(default_factory=list)
    stages: list[tuple[str, int | None, int | None]] = field(default_factory=list)  # every progress report

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log = logging.getLogger(f"tests.jobs.{self.workdir.name}")
        self.log.setLevel(logging.INFO)

    def locate(self, obs_ids: list[int]) -> list[ObservationLocation]:
        index = next(self.release_dir.glob("obs-index*"))
        table = Table.read(index, hdu="OBS_INDEX")
        rows = {int(r["OBS_ID"]): r for r in table}
        unknown = [i for i in obs_ids if i not in rows]
        if unknown:
            raise UsageError(f"Unknown observation id(s): {', '.join(map(str, unknown))}.")
        return [ObservationLocation(i, self.release_dir, str(rows[i]["OBJECT"]), float(rows[i]["RA_PNT"]),
                                    float(rows[i]["DEC_PNT"])) for i in obs_ids]

    def publish(self, result_id: str, path: Path, mime_type: str) -> None:
        assert Path(path).resolve().is_relative_to(self.workdir.resolve())
        versions = self.published.setdefault(result_id, [])
        snapshot = self.workdir / "versions" / f"{result_id}.{len(versions)}{Path(path).suffix}"
        snapshot.parent.mkdir(exist_ok=True)
        shutil.copyfile(path, snapshot)  # what a watcher could have downloaded at that moment
        versions.append(snapshot)

    def used(self, path: Path, role: str, **attributes: Any) -> None:
        self.inputs.append((Path(path), role, attributes))

    def progress(self, stage: str, done: int | None = None, total: int | None = None) -> None:
        self.stages.append((stage, done, total))
