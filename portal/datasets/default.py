"""The default dataset chain, run on the first ``portal serve`` with an empty archive.

In order:

1. ``local``: ``$GAMMAPY_DATA/hess-dl3-dr1`` (H.E.S.S. DL3 DR1, 105 observations);
2. ``download``: H.E.S.S. DL3 DR1 and the catalogs, fetched from the gammapy-data repository into
   ``$PORTAL_DATA_DIR/gammapy-data`` (resumes a previous partial download);
3. ``simulated``: a CTAO-like release simulated with gammapy into
   ``$PORTAL_DATA_DIR/datasets/simulated-ctao-dl3`` (prod5 IRFs from ``$GAMMAPY_DATA/cta-caldb``
   when present, parametric IRFs otherwise).

:func:`resolve_default_dataset` makes the choice (downloading or simulating as needed) and says
which path it took and why; the archive then ingests ``release_dir`` like any other release.
``PORTAL_DEFAULT_DATASET`` says which paths may be taken:

- ``auto``: the whole chain. ``portal serve`` sets it (unless it is already set);
- unset: ``local`` only, so that an app made in process (tests, embedding) never downloads or
  simulates behind its caller's back;
- ``local``, ``download`` or ``simulated``: that path only; ``none``: nothing (the archive starts empty).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from portal.config import Settings

log = logging.getLogger("portal.datasets")

Source = Literal["local", "download", "simulated"]
SOURCES: tuple[Source, ...] = ("local", "download", "simulated")
DOWNLOAD_DIR = "gammapy-data"  # inside PORTAL_DATA_DIR, laid out like $GAMMAPY_DATA
SIMULATED_DIR = "datasets/simulated-ctao-dl3"


@dataclass(frozen=True)
class DefaultDataset:
    """The release chosen for a fresh archive."""

    source: Source
    release_dir: Path  # a GADF release folder (obs-index, hdu-index)
    detail: str  # one human sentence: what was found, fetched or simulated
    skipped: tuple[str, ...] = ()  # why the earlier paths were not taken

    def describe(self) -> str:
        lines = [f"default dataset: {self.source} ({self.release_dir}): {self.detail}"]
        lines += [f"  not {reason}" for reason in self.skipped]
        return "\n".join(lines)


def is_release(path: Path) -> bool:
    """A folder with a GADF ``obs-index`` and ``hdu-index``."""
    return any((path / f"obs-index.fits{ext}").is_file() for ext in ("", ".gz")) and \
        any((path / f"hdu-index.fits{ext}").is_file() for ext in ("", ".gz"))


def resolve_default_dataset(settings: Settings, sources: tuple[Source, ...] | None = None) -> DefaultDataset | None:
    """Find, download or simulate the default dataset, trying ``sources`` in the order of the chain.

    ``sources`` defaults to what ``PORTAL_DEFAULT_DATASET`` allows. Returns None when no path is
    allowed, or when only the local path is and there is no local copy. Raises RuntimeError when the
    paths asked for explicitly (or the whole ``auto`` chain) all fail, with every reason.
    """
    explicit = sources is not None or bool(os.environ.get("PORTAL_DEFAULT_DATASET", "").strip())
    allowed = sources if sources is not None else allowed_sources()
    skipped: list[str] = []
    for source in SOURCES:
        if source not in allowed:
            continue
        step = {"local": _local, "download": _download, "simulated": _simulated}[source]
        result, reason = step(settings)
        if result is not None:
            dataset = DefaultDataset(source, result[0], result[1], tuple(skipped))
            log.info(dataset.describe())
            return dataset
        skipped.append(f"{source}: {reason}")
        log.warning("default dataset: %s path not taken: %s", source, reason)
    if explicit and allowed:
        raise RuntimeError("no default dataset could be made: " + "; ".join(skipped))
    log.info("default dataset: none (PORTAL_DEFAULT_DATASET allows %s); the archive starts empty",
             ", ".join(allowed) or "no path")
    return None


def allowed_sources(value: str | None = None) -> tuple[Source, ...]:
    """The paths ``PORTAL_DEFAULT_DATASET`` allows (see the module docstring)."""
    value = (os.environ.get("PORTAL_DEFAULT_DATASET", "") if value is None else value).strip().lower()
    if value == "":
        return ("local",)
    if value == "auto":
        return SOURCES
    if value == "none":
        return ()
    if value in SOURCES:
        return (value,)  # type: ignore[return-value]
    raise ValueError(f"PORTAL_DEFAULT_DATASET must be auto, none, local, download or simulated, not {value!r}")


def _local(settings: Settings):
    if settings.gammapy_data is None:
        return None, "GAMMAPY_DATA is not set"
    release = settings.gammapy_data / "hess-dl3-dr1"
    if not is_release(release):
        return None, f"{release} is not a GADF release (no obs-index/hdu-index)"
    return (release, f"H.E.S.S. DL3 DR1 found in GAMMAPY_DATA ({release})"), ""


def _download(settings: Settings):
    from portal.datasets.download import DownloadError, download_release
    from portal.datasets.manifest import load_manifest

    manifest = load_manifest("hess-dl3-dr1")
    dest = settings.data_dir / DOWNLOAD_DIR
    try:
        result = download_release(manifest, dest)
    except DownloadError as exc:
        return None, f"download failed: {exc}"
    detail = (f"H.E.S.S. DL3 DR1 and catalogs downloaded ({result.fetched} files fetched, "
              f"{result.reused} already there, {result.bytes_fetched / 1e6:.1f} MB in {result.seconds:.1f} s)")
    return (result.release_dir, detail), ""


def _simulated(settings: Settings):
    from portal.datasets.simulate import simulate_release

    release = settings.data_dir / SIMULATED_DIR
    if is_release(release):
        return (release, "simulated CTAO-like release made earlier, reused"), ""
    caldb = settings.gammapy_data / "cta-caldb" if settings.gammapy_data else None
    result = simulate_release(release, caldb=caldb)
    irfs = "; ".join(f"{site}: {origin}" for site, origin in result.irf_origin.items())
    detail = (f"simulated {result.n_obs} CTAO-like observations ({result.n_events} events) of Crab, "
              f"PKS 2155-304, MSH 15-52 and RX J1713.7-3946 in {result.seconds:.0f} s; IRFs {irfs}")
    return (release, detail), ""
