"""PublishState: whether the session's active job is published in the archive, and publishing it.

The portal's job service keeps a completed job's products (flux points, light curve, sky maps) in its archive
when the job's owner asks (``POST {job}/publish`` with ``VISIBILITY=private|public``; ``DELETE`` takes them
out; ``GET`` says ``unpublished``, ``private`` or ``public``). This state asks that for the active job once it
has COMPLETED, and publishes, changes the visibility or unpublishes on request, through the widgets' one
client and the background helper. Every outcome is a sentence in ``message``; nothing raises at the user.

``visibility`` is ``""`` (not known: no job, not completed, or not asked yet), ``unpublished``, ``private`` or
``public``. ``can_publish`` says whether the controls apply (a COMPLETED job whose publish resource answers:
only its owner's token reaches it). :class:`~widgets.jobs.publish_view.PublishControl` is its thin view.
"""

from __future__ import annotations

import traitlets as t

from widgets.background import Background, UsesBackground
from widgets.client import PortalClient, ServiceError, default_client
from widgets.session import SessionState

__all__ = ["PublishState", "VISIBILITIES"]

VISIBILITIES = ("unpublished", "private", "public")
SAID = {
    "unpublished": "Publish puts its products (flux points, light curve, maps) in the archive: private, for you "
                   "only, or public.",
    "private": "Published, private: its products are in the archive for you only (your token sees them).",
    "public": "Published, public: anyone searching the archive finds its products.",
}


def _sentence(exc: BaseException) -> str:
    return exc.message if isinstance(exc, ServiceError) else f"The job service could not be asked: {exc}"


class PublishState(UsesBackground, SessionState):
    observes = ("active_job",)
    publishes = ()

    visibility = t.Unicode("")  # "", or one of VISIBILITIES
    can_publish = t.Bool(False)
    busy = t.Bool(False)
    failed = t.Bool(False)
    message = t.Unicode("")

    def __init__(self, client: PortalClient | None = None, background: Background | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.client = client or default_client()
        self.background = background
        self._job = None  # the job whose publication is shown (watched for its phase)
        self._asked = 0  # numbers the requests: only the latest one's answer counts
        self.watch(self._active, "active_job")
        self._active()

    @property
    def job(self):
        return self._job

    # -- which job --------------------------------------------------------------------------------
    def _active(self, _change=None) -> None:
        job = self.session.active_job
        if job is self._job:
            return
        if self._job is not None:
            self._job.unobserve(self._phase, "phase")
        self._job = job
        self._asked += 1
        with self.hold_trait_notifications():
            self.visibility, self.can_publish, self.busy, self.failed = "", False, False, False
            self.message = ""
        if job is not None:
            job.observe(self._phase, "phase")
            self._phase()

    def _phase(self, _change=None) -> None:
        job = self._job
        if job is None:
            return
        if job.phase != "COMPLETED":
            self.visibility, self.can_publish = "", False
            self.message = "A job can be published in the archive once it has completed." if job.phase else ""
            return
        if not self.visibility and not self.busy:
            self.refresh()

    # -- asking and acting ------------------------------------------------------------------------
    def refresh(self):
        """Ask the service whether the active job is published (a Future, or None without a job)."""
        return self._send(lambda uws, url: uws.publication(url), "Asking whether the job is published...")

    def publish(self, public: bool = False):
        """Publish the active job's products (again: change their visibility)."""
        what = "publicly" if public else "privately"
        return self._send(lambda uws, url: uws.publish(url, public), f"Publishing the job's products {what}...")

    def unpublish(self):
        """Take the active job's products out of the archive."""
        def work(uws, url):
            uws.unpublish(url)
            return "unpublished"
        return self._send(work, "Taking the job's products out of the archive...")

    def _send(self, work, doing: str):
        job = self._job
        if job is None:
            self.failed, self.message = True, "Choose a job first."
            return None
        if job.phase != "COMPLETED":
            self.failed, self.message = True, (f"Job {job.job_id[:8]} is {(job.phase or 'unknown').lower()}: only a "
                                               "completed job can be published.")
            return None
        self._asked += 1
        asked = self._asked
        self.busy, self.failed, self.message = True, False, doing
        return self.bg.run(work, job.client.uws, job.url, on_done=lambda answer: self._answered(asked, answer),
                           on_error=lambda exc: self._refused(asked, exc))

    def _answered(self, asked: int, answer: str) -> None:
        if asked != self._asked:
            return  # another job was chosen (or asked about) meanwhile
        visibility = answer.split()[0] if answer else ""
        if visibility not in VISIBILITIES:
            self._refused(asked, ServiceError(f"The job service answered {answer[:80]!r} about the job's "
                                              "publication, which this dashboard does not understand."))
            return
        with self.hold_trait_notifications():
            self.visibility, self.can_publish, self.busy, self.failed = visibility, True, False, False
            self.message = SAID[visibility]

    def _refused(self, asked: int, exc: BaseException) -> None:
        if asked != self._asked:
            return
        status = getattr(exc, "status", None)
        with self.hold_trait_notifications():
            self.busy, self.failed = False, True
            if status == 404 and not self.visibility:
                self.can_publish = False
                self.message = ("This job cannot be published from here: the job service does not offer it "
                                "(only the job's owner can publish it, on the portal's own job service).")
            else:
                self.message = _sentence(exc)
