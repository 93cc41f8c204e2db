"""JobHandle: one UWS job as traits (phase, parameters, results...), kept current while followed.

``launcher.submit()`` and the job monitor hand these out; the SED widget follows one. The traits
change only on the loop of the :class:`~widgets.background.Background` (the kernel's), so views
may observe them directly.

    job = launcher.submit()
    job.phase, job.results            # 'EXECUTING', {'log': 'http://.../results/log', ...}
    job.progress_text                 # 'flux point 5 of 8, about 40 s left' (from the job's jobInfo)
    job.wait()                        # block until the job ends (in the calling thread)
    job.result("flux_points")         # the bytes of a result
"""

from __future__ import annotations

from datetime import datetime

import traitlets as t

from widgets.background import Background
from widgets.client import ACTIVE, FINAL, JobInfo, PortalClient, ServiceError, default_client
from widgets.client.uws import Progress

__all__ = ["JobHandle", "describe_progress"]

# How a stage's count reads; other stages read "<stage> <done> of <total>".
COUNTED = {"reducing": "reducing {done} of {total} observations", "flux points": "flux point {done} of {total}",
           "light-curve bins": "light-curve bin {done} of {total}", "sensitivity": "sensitivity {done} of {total}"}


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def describe_progress(progress: Progress | None, running: bool = True) -> str:
    """A job's stage in words: ``"reducing 3 of 4 observations, about 20 s left"``, ``"fitting"``,
    ``"flux point 5 of 8"`` (``done`` counts finished items only); the time left only while ``running``."""
    if progress is None:
        return ""
    done, total = progress.done, progress.total
    if done is not None and total is not None:
        text = COUNTED.get(progress.stage, "{stage} {done} of {total}").format(stage=progress.stage, done=done,
                                                                              total=total)
    elif done is not None:
        text = f"{progress.stage}: {done} done"
    else:
        text = progress.stage
    left = progress.time_left
    if running and left is not None and left > 0 and (done is None or total is None or done < total):
        text += f", about {_duration(left)} left"
    return text


class JobHandle(t.HasTraits):
    url = t.Unicode()
    job_id = t.Unicode()
    definition = t.Unicode()  # the job list's name ("spectrum")
    phase = t.Unicode("")
    run_id = t.Unicode("")
    owner = t.Unicode("")
    parameters = t.Dict()
    results = t.Dict()  # result id -> URL
    error = t.Unicode("")  # the error summary of a job in ERROR
    etag = t.Unicode("")  # changes with every change of the job (portal services; "" elsewhere)
    info = t.Instance(JobInfo, allow_none=True)
    progress = t.Instance(Progress, allow_none=True)  # the stage the job reports (its jobInfo); None if it says none
    version = t.Int(0)  # counts the changes seen (for services without ETags too)
    message = t.Unicode("")  # what following the job ran into ("connection lost, retrying"); "" when fine
    gone = t.Bool(False)  # deleted (or expired) on the service
    created = t.Instance(datetime, allow_none=True)
    started = t.Instance(datetime, allow_none=True)
    ended = t.Instance(datetime, allow_none=True)

    def __init__(self, url: str, client: PortalClient | None = None, info: JobInfo | None = None,
                 background: Background | None = None, **kwargs) -> None:
        super().__init__(url=url, **kwargs)
        self.client = client or default_client()
        self.background = background
        self.job_id = url.rstrip("/").rsplit("/", 1)[-1]
        self.definition = url.rstrip("/").rsplit("/", 2)[-2]
        self._follower = None
        if info is not None:
            self.update(info)

    def __repr__(self) -> str:
        return f"<JobHandle {self.definition}/{self.job_id} {self.phase or '?'}>"

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE

    @property
    def final(self) -> bool:
        return self.phase in FINAL

    @property
    def progress_text(self) -> str:
        """The job's stage in words (:func:`describe_progress`); "" when it reports none."""
        return describe_progress(self.progress, running=self.phase == "EXECUTING")

    # -- state ----------------------------------------------------------------------------------
    def update(self, info: JobInfo) -> None:
        """Take what a job document said (on the loop thread)."""
        changed = self.info is None or info.etag != self.info.etag or not info.same_as(self.info)
        with self.hold_trait_notifications():
            self.info = info
            self.phase = info.phase
            self.run_id = info.run_id or ""
            self.owner = info.owner or ""
            self.parameters = dict(info.parameters)
            self.results = dict(info.results)
            self.error = info.error or ""
            self.progress = info.progress
            self.etag = info.etag or ""
            self.created, self.started, self.ended = info.creation_time, info.start_time, info.end_time
            self.message = ""
            if changed:
                self.version += 1

    def refresh(self) -> "JobHandle":
        """Read the job again, now, in the calling thread."""
        try:
            self._take(self.client.uws.job(self.url))
        except ServiceError as exc:
            self._failed(exc)
            raise
        return self

    def _failed(self, exc: ServiceError) -> None:
        if exc.status == 404:
            self.gone = True
            self.message = "This job no longer exists on the service (deleted or past its destruction time)."
        else:
            self.message = exc.message

    @classmethod
    def from_ref(cls, ref, client: PortalClient, background: Background | None = None) -> "JobHandle":
        """A handle for a job-list entry (phase, run id and creation time known; the rest on refresh)."""
        return cls(ref.url, client, background=background, phase=ref.phase, run_id=ref.run_id or "",
                   owner=ref.owner or "", created=ref.creation_time)

    # -- following ------------------------------------------------------------------------------
    def follow(self, background: Background | None = None, wait: float = 30.0) -> "JobHandle":
        """Keep the traits current in the background (blocking WAIT; no busy polling)."""
        from widgets.jobs.follow import Follower

        if self._follower is None or not self._follower.alive:
            self._follower = Follower(self, background or self.background or Background.shared(), wait=wait)
            self._follower.start()
        return self

    def unfollow(self) -> None:
        if self._follower is not None:
            self._follower.stop()
            self._follower = None

    @property
    def followed(self) -> bool:
        return self._follower is not None and self._follower.alive

    def wait(self, timeout: float | None = None, step: float = 30.0) -> str:
        """Block in the calling thread until the job is in a final phase (or ``timeout`` s); its phase."""
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        if self.info is None:
            self.refresh()
        while self.active:
            left = step if deadline is None else min(step, deadline - time.monotonic())
            if left <= 0:
                break
            new = self.client.uws.wait(self.url, phase=self.phase, etag=self.etag or None, timeout=max(1.0, left))
            if new is not None:
                self._take(new)
        return self.phase

    def _take(self, info: JobInfo) -> None:
        """:meth:`update` from a blocking form: on the loop that owns the traits (a script's loop thread)."""
        (self.background or Background.shared()).apply(self.update, info)

    # -- actions --------------------------------------------------------------------------------
    def abort(self) -> None:
        self.client.uws.abort(self.url)

    def delete(self) -> None:
        self.unfollow()
        self.client.uws.delete(self.url)
        self.gone = True

    def result(self, result_id: str) -> bytes:
        """The content of result ``result_id`` (a KeyError names the results there are)."""
        if result_id not in self.results:
            known = ", ".join(sorted(self.results)) or "none yet"
            raise KeyError(f"job {self.job_id} has no result {result_id!r} (results: {known})")
        return self.client.uws.result(self.results[result_id])

    def error_text(self) -> str:
        """The job's whole error document (the summary is in ``error``)."""
        return self.client.uws.error(self.url)
