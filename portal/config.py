"""Settings read from the environment (the variables listed in DESIGN.md and the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "gamma-portal"


@dataclass(frozen=True)
class Settings:
    """Everything the services need to know about their surroundings."""

    data_dir: Path = field(default_factory=_default_data_dir)
    url: str = DEFAULT_URL
    token: str | None = None
    gammapy_data: Path | None = None
    dask_scheduler: str | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        data_dir = env.get("PORTAL_DATA_DIR")
        gammapy_data = env.get("GAMMAPY_DATA")
        return cls(
            data_dir=Path(data_dir).expanduser() if data_dir else _default_data_dir(),
            url=(env.get("PORTAL_URL") or DEFAULT_URL).rstrip("/"),
            token=env.get("PORTAL_TOKEN") or None,
            gammapy_data=Path(gammapy_data).expanduser() if gammapy_data else None,
            dask_scheduler=env.get("PORTAL_DASK_SCHEDULER") or None,
        )

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
