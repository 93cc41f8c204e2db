"""Which observations entered a result: the rule on losses, the ``inputs`` document, in-memory copies.

An analysis may have to leave observations out (no room for reflected regions, no safe energy, a
field of view that misses the map). The job then says so everywhere it names its inputs, and a job
that loses more than half of its observations ends in ERROR unless the user allowed it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gammapy.data import Observation

from portal.jobs.parallel import run_unordered
from portal.uws.definitions import UsageError

RESPONSES = ("aeff", "edisp", "psf")


def _held(obs: Observation) -> bool:
    """Whether every response is already kept on ``obs`` (gammapy's lazy attributes store a value set on
    them in the instance's ``__dict__``, and only a location to read it from until then)."""
    return all(name in vars(obs) for name in RESPONSES)


def _read_responses(observations, index: int) -> dict[str, Any]:
    """The responses of ``observations[index]`` that can be read (the others are left as they were:
    whoever needs them says what is wrong)."""
    values = {}
    for name in RESPONSES:
        try:
            values[name] = getattr(observations[index], name)
        except (OSError, KeyError, ValueError):
            continue
    return values


def hold_responses(observations, processes: int = 1) -> None:
    """Read each observation's responses once and keep them on it (about 0.5 MB per H.E.S.S. run).

    gammapy reads them again at every access (see :func:`in_memory`): the checks before a reduction
    (on region, field of view, energy range) read each one several times, ``rad_max`` twice per call
    for full-enclosure IRFs. Held, they are read once, and the reduction's forked workers inherit them.
    ``processes`` read them at once (parsing the FITS files is most of the time: 4.4 s for 60 simulated
    runs in one process); observations whose responses are held already are not read again.
    """
    todo = [i for i, obs in enumerate(observations) if not _held(obs)]
    for position, values in run_unordered(_read_responses, observations, todo, processes):
        obs = observations[todo[position]]
        for name, value in values.items():
            setattr(obs, name, value)  # a loaded value (or None) is kept; an HDU location would be re-read


def in_memory(obs: Observation) -> Observation:
    """``obs`` with its events and responses read once.

    gammapy reads an observation's IRFs and events lazily and does not cache them: every access
    to ``obs.aeff`` reads the file again (a reduction reads each IRF a dozen times). The copy
    holds them; it is what one worker uses, then drops.
    """
    return Observation(obs_id=obs.obs_id, meta=obs.meta, gti=obs.gti, aeff=obs.aeff, edisp=obs.edisp, psf=obs.psf,
                       rad_max=obs.rad_max, events=obs.events, pointing=obs.pointing,
                       location=obs.observatory_earth_location)


def _reasons(left_out: Mapping[int, str]) -> str:
    return "; ".join(f"{obs_id}: {reason}" for obs_id, reason in left_out.items())


def check_kept(n_requested: int, left_out: Mapping[int, str], allow_partial: bool = False) -> None:
    """A :class:`UsageError` when no observation is left, or more than half were left out and
    ``allow_partial`` is false."""
    lost = len(left_out)
    if lost == n_requested:
        raise UsageError(f"None of the {n_requested} observation(s) could be used: {_reasons(left_out)}.")
    if lost * 2 > n_requested and not allow_partial:
        raise UsageError(
            f"{lost} of the {n_requested} observations could not be used, more than half: {_reasons(left_out)}. "
            "Set allow_partial to true to analyse the others anyway."
        )


def inputs_document(requested: Iterable[int], used: Iterable[int], left_out: Mapping[int, str]) -> dict[str, Any]:
    """The ``inputs`` result: what was asked for, what entered the result, what was left out and why."""
    return {
        "requested": [int(i) for i in requested],
        "used": [int(i) for i in used],
        "left_out": [{"obs_id": int(i), "reason": reason} for i, reason in left_out.items()],
    }
