"""Following a `spectrum` or `joint_spectrum` job: its flux points as the service publishes them, its model
when it appears; for a joint fit, the flux points of each job it combined too, a layer each in its own colour.

The :class:`~widgets.jobs.handle.JobHandle` does the waiting (blocking WAIT with the job's ETag,
no busy polling) and bumps its ``version`` at every change. On a change the follower downloads
the ``flux_points`` result (and ``model`` once it exists) in a worker thread, at most once per
``interval`` seconds: changes that come while a download runs are batched into the next one. The
worker reads the files with gammapy and computes what the plot needs; the layers change on the
kernel's loop only. A joint job's ``inputs`` name its input jobs (:mod:`widgets.sed.inputs`), read once.
While the job runs, the status says its stage as the job reports it (the handle's ``progress``, from the job's
``jobInfo``, as it was when the files shown were asked for: "flux point 5 of 8", finished points only, never more
than the plot shows); a service that says none gets the finished points counted.
"""

from __future__ import annotations

import hashlib
import threading
import time

import astropy.units as u
import numpy as np

from widgets.client import FINAL
from widgets.jobs.handle import describe_progress
from widgets.sed.inputs import input_jobs, read_input_points
from widgets.sed.loading import SEDInputError, read_models

KINDS = ("spectrum", "joint_spectrum")  # the jobs an SED follows: flux points and a fitted model
JOINT = "joint_spectrum"

PHASE_TEXT = {
    "PENDING": "waiting to be started",
    "QUEUED": "queued: it starts when a worker is free",
    "HELD": "held by the service",
    "SUSPENDED": "suspended",
}


class JobFollower:
    def __init__(self, state, handle, interval: float = 1.0) -> None:
        self.state = state
        self.handle = handle
        self.interval = interval
        self._busy = False
        self._again = False
        self._phase = ""  # the job's phase when the last download started
        self._progress = None  # and its progress: what it counts is in the files downloaded after (status)
        self._stopped = threading.Event()
        self._last = 0.0  # monotonic time of the last download (worker thread only)
        self._digest = None  # of the flux points file last read (worker thread only)
        self._model_url = None  # the model result already read
        self._inputs_url = None  # a joint job's inputs already read
        self._defaults: dict = {}  # the job definition's parameter defaults (e_min, e_max, n_bins)
        self._defaults_read = False
        self.downloads = 0  # flux point files downloaded (tests and benchmarks read it)

    @property
    def group(self) -> str:
        target = self.handle.parameters.get("target") or self.state.target_name
        return f"{target + ': ' if target else ''}{self.handle.definition} job {self.handle.job_id}"

    def start(self) -> None:
        self.handle.observe(self._changed, ["version", "gone", "message"])
        if not self.handle.followed and (self.handle.info is None or self.handle.active):
            self.handle.follow(self.state.background)
        self._changed()

    def stop(self) -> None:
        self._stopped.set()
        self.handle.unobserve(self._changed, ["version", "gone", "message"])

    # -- on the loop ------------------------------------------------------------------------------
    def _changed(self, _change=None) -> None:
        if self._stopped.is_set():
            return
        handle = self.handle
        if handle.gone:
            self.state.job_status = handle.message or "The job no longer exists on the service."
            self.state.fail(self.state.job_status)
            self.state.following = False
            return
        if handle.message:  # following ran into trouble (the service is restarting...)
            self.state.job_status = handle.message
        if handle.info is None:
            return
        if self._busy:
            self._again = True
            return
        self._busy, self._phase, self._progress = True, handle.phase, handle.progress
        snapshot = (dict(handle.results), handle.phase, dict(handle.parameters), self.state.sed_type)
        self.state.background.run(self._download, *snapshot, on_done=self._apply, on_error=self._failed)

    def _apply(self, found: dict) -> None:
        self._busy = False
        if self._stopped.is_set():
            return
        if "model" in found:
            self.state.job_model = found["model_objects"]
            self.state.put(found["model"])
        if found.get("inputs"):
            self.state.put(found["inputs"])
        if "points" in found:
            layers = found["points"]
            self.state.flux_points = layers[-1].points
            model, axis = self.state.layer("job/model"), layers[-1].points.energy_axis
            if model is not None and (model.curve.bins is None or model.curve.bins.nbin != axis.nbin):
                layers = layers + [model.rebinned(axis)]  # flux and eflux: the model in the points' bins
            self.state.put(layers)
        self._report(found)
        self._next()

    def _failed(self, exc: BaseException) -> None:
        self._busy = False
        self.state.failed(exc)
        self._next()

    def _next(self) -> None:
        """Download again if the job changed meanwhile; else, after its last results, nothing is to come."""
        if self._again:
            self._again = False
            self._changed()
        if not self._busy and self._phase in FINAL:
            self.state.following = False

    def _report(self, found: dict) -> None:
        handle = self.handle
        n = finished_points(self.state.flux_points)
        total = handle.parameters.get("n_bins") or self._defaults.get("n_bins") or "?"
        model = self.state.job_model is not None
        inputs = len([layer for layer in self.state.layers if layer.source == "input" and layer.kind == "points"])
        combined = f"; the flux points of its {inputs} input jobs" if inputs else ""
        kept = f"the plot keeps the {n} flux point{'s' if n != 1 else ''} it had"
        if handle.phase == "ERROR":
            text = f"Job {handle.job_id} ended in error: {handle.error or 'the service gave no message.'}"
            self.state.job_status = text
            self.state.fail(f"{text} ({kept}).")
        elif handle.phase == "ABORTED":
            self.state.job_status = f"Job {handle.job_id} was aborted; {kept}."
        elif handle.phase == "COMPLETED":  # every bin is final: its flux point or upper limit
            fit = " and the fitted model" if model else ""
            points = self.state.flux_points
            n = 0 if points is None else points.energy_axis.nbin
            self.state.job_status = f"Job {handle.job_id} completed: {n} flux points{fit}{combined}."
        elif handle.phase == "EXECUTING":
            fit = ", model fitted" if model else ""
            doing = describe_progress(self._progress) or f"{n} of {total} flux points"
            self.state.job_status = f"Job {handle.job_id} running: {doing}{fit}{combined}."
        else:
            self.state.job_status = f"Job {handle.job_id} is {PHASE_TEXT.get(handle.phase, handle.phase)}."
        if "error" in found or found.get("input_errors"):
            self.state.fail(found.get("error") or "Not shown: " + "; ".join(found["input_errors"]) + ".")

    # -- in a worker thread -------------------------------------------------------------------------
    def _download(self, results: dict, phase: str, parameters: dict, sed_type: str) -> dict:
        """Fetch and read what changed; build the layers (nothing here touches a trait)."""
        found: dict = {}
        wait = self._last + self.interval - time.monotonic()
        if wait > 0:
            self._stopped.wait(wait)  # at most one download per interval: changes meanwhile are batched
        self._last = time.monotonic()
        client = self.handle.client  # the job's own (its token owns the job)
        if not self._defaults_read:
            self._defaults_read, self._defaults = True, self._read_defaults()
        parameters = {**self._defaults, **parameters}
        joint = self.handle.definition == JOINT
        try:
            if joint and "inputs" in results and results["inputs"] != self._inputs_url:
                found["inputs"], found["input_errors"] = self._read_inputs(client, results["inputs"], sed_type)
                if not found["input_errors"]:  # an input that could not be read is tried again at the next change
                    self._inputs_url = results["inputs"]
            if "model" in results and results["model"] != self._model_url:
                models = read_models(client.uws.result(results["model"]))
                points = self.state.flux_points
                bins = None if points is None else points.energy_axis
                label = "joint forward-folded fit" if joint else "forward-folded fit"
                found["model"] = self.state.model_layers(models, label, key="job", group=self.group,
                                                         origin="job", energy_range=_energy_range(parameters),
                                                         bins=bins)
                found["model_objects"] = models
                self._model_url = results["model"]
            if "flux_points" in results:
                data = client.uws.result(results["flux_points"])
                self.downloads += 1
                digest = hashlib.sha1(data).hexdigest()
                if digest != self._digest:
                    layers = self.state.points_layers(data, "flux points", key="job", group=self.group, origin="job")
                    for layer in layers:
                        layer.arrays(sed_type, self.state.energy_unit)  # the plot's arrays, off the loop
                    found["points"] = layers
                    self._digest = digest
        except SEDInputError as exc:
            found["error"] = f"The job's results cannot be shown: {exc}"
        return found

    def _read_inputs(self, client, href: str, sed_type: str) -> tuple[list, list[str]]:
        """A layer of flux points per input job of a joint fit (their profiles stay out of the plot), and what
        could not be read. Worker thread."""
        layers, errors = [], []
        for job in input_jobs(client.uws.result(href), self.handle.url):
            try:
                points = self.state.points_layers(read_input_points(client, job), job.label, key=job.key,
                                                  group=self.group, origin="input")
            except SEDInputError as exc:
                errors.append(f"the flux points of input {job.label} ({str(exc).rstrip('.')})")
                continue
            for layer in points:
                if layer.kind == "points":
                    layer.arrays(sed_type, self.state.energy_unit)
                    layers.append(layer)
        return layers, errors

    def _read_defaults(self) -> dict:
        """The defaults of the job's parameters, from the service's definitions (none if it has none)."""
        try:
            for definition in self.handle.client.uws.definitions():
                if definition.name == self.handle.definition:
                    return {p.name: p.default for p in definition.parameters
                            if isinstance(p.default, (int, float, str)) and not isinstance(p.default, bool)}
        except Exception:  # noqa: BLE001 - defaults only improve the labels and the model's range
            pass
        return {}


def finished_points(points) -> int:
    """How many bins of ``points`` are computed: a running job's flux points hold the others as NaN rows."""
    if points is None:
        return 0
    nbin = points.energy_axis.nbin
    try:
        norm = np.ma.filled(np.ma.asarray(points.norm.data, dtype=float), np.nan).reshape(nbin, -1)
    except (AttributeError, KeyError, ValueError):  # no norm to tell: every bin counts
        return nbin
    return int(np.isfinite(norm).any(axis=1).sum())


def _energy_range(parameters: dict):
    try:
        return u.Quantity([float(parameters["e_min"]), float(parameters["e_max"])], "TeV")
    except (KeyError, ValueError):
        return None

