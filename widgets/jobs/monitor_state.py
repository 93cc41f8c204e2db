"""MonitorState: the user's jobs of every kind, newest first, each active one followed live.

Job lists are read per definition (``GET /uws/{kind}`` with ``LAST``) and asked again with their
ETag (304 while nothing changed); each active job is followed by blocking WAIT through its
:class:`~widgets.jobs.handle.JobHandle`. Everything that touches the network runs through the
:class:`~widgets.background.Background` helper; traits change on the kernel's loop only.

Jobs are picked in the list (``picked``: one, or several); the last one picked is ``selected``,
which is the session's active job (:mod:`widgets.session`): a job made active elsewhere (submitted by the
launcher, followed in the SED) is listed and selected. The selected job is shown in full by ``detail``
(a :class:`~widgets.jobs.detail_state.JobDetailState`). Two or more completed ``spectrum`` jobs picked
make a joint fit possible (``joint_ready``; ``joint_note`` says what it combines, or why not):
:meth:`MonitorState.joint_fit` puts ``joint_spectrum`` with its ``jobs`` in the session as the job to
prepare next (its draft), as "Run again" does with a job's kind and parameters; the launcher fills it.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future

import traitlets as t

from portal.seam.phases import ACTIVE_PHASES
from widgets.background import Background, UsesBackground
from widgets.client import PortalClient, ServiceError, default_client
from widgets.events import Dispatcher
from widgets.jobs.detail_state import JobDetailState
from widgets.jobs.handle import JobHandle
from widgets.session import SessionState

__all__ = ["JOINT_INPUT", "JOINT_KIND", "PHASE_GROUPS", "MonitorState"]

PHASE_GROUPS = {"": None, "active": set(ACTIVE_PHASES),
                "COMPLETED": {"COMPLETED"}, "ERROR": {"ERROR"}, "ABORTED": {"ABORTED"}}
LAST = 100  # jobs read per kind
JOINT_KIND, JOINT_INPUT = "joint_spectrum", "spectrum"  # a joint fit of completed spectrum jobs


class MonitorState(UsesBackground, SessionState):
    observes = ("active_job",)
    publishes = ("active_job", "draft")

    kinds = t.List(t.Unicode())  # the job lists to show (definition names, or list URLs)
    jobs = t.List(t.Instance(JobHandle))  # newest first
    kind_filter = t.Unicode("")  # "" = every kind
    phase_filter = t.Unicode("")  # a key of PHASE_GROUPS
    picked = t.List(t.Unicode())  # ids of the jobs selected in the list: one, or several for a joint fit
    joint_ready = t.Bool(False)  # the picked jobs can be fitted jointly
    joint_note = t.Unicode("")  # what a joint fit would combine, or why there is none
    status = t.Enum(["idle", "loading", "error"], "idle")
    message = t.Unicode("")
    changes = t.Int(0)  # bumped when any job's phase changes (the view redraws the list)

    def __init__(self, client: PortalClient | None = None, background: Background | None = None,
                 kinds: list[str] | None = None, wait: float = 30.0, auto_refresh: float = 60.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.client = client or default_client()
        self.background = background
        self.wait = wait
        self.auto_refresh = auto_refresh
        # (definition, parameters) to fill the launcher with: "Run again" and "Joint fit"; the session's draft
        self.rerun = Dispatcher(on_error=lambda exc: setattr(self, "message", f"A callback failed: {exc}"))
        self.rerun.register(lambda definition, parameters: self.session.prepare(definition, parameters))
        self._etags: dict[str, str] = {}
        self._stop = threading.Event()
        self._refresher: threading.Thread | None = None
        if kinds is not None:
            self.kinds = list(kinds)
        self.detail = JobDetailState(self)  # the selected job in full
        self.watch(self._active, "active_job")

    @property
    def selected(self) -> JobHandle | None:
        """The job shown in full, the last one picked: the session's active job."""
        return self.session.active_job

    @selected.setter
    def selected(self, job: JobHandle | None) -> None:
        self.session.active_job = job

    def _active(self, _change=None) -> None:
        job = self.selected
        if job is not None and self.find(job.job_id) is not job:
            self.add(job)  # made active elsewhere: listed, on top, and followed
            if self.selected is not job:
                return  # the list's own handle of that job is the active job now: told as a change of its own
        if job is not None and job.job_id not in self.picked:  # chosen from Python, or made active elsewhere
            self.picked = [job.job_id]
        if self.detail.job is not job:
            self.detail.show(job)

    # -- what is shown ----------------------------------------------------------------------------
    @property
    def visible(self) -> list[JobHandle]:
        wanted = PHASE_GROUPS.get(self.phase_filter)
        return [j for j in self.jobs if not j.gone and (not self.kind_filter or j.definition == self.kind_filter)
                and (wanted is None or j.phase in wanted)]

    def find(self, job_id: str) -> JobHandle | None:
        return next((j for j in self.jobs if j.job_id == job_id), None)

    def select(self, job: JobHandle | str | None) -> None:
        handle = self.find(job) if isinstance(job, str) else job
        self.selected = handle
        if handle is not None and handle.info is None:
            self.bg.run(self._read, handle, on_done=handle.update, on_error=lambda exc: self._job_failed(handle, exc))

    def pick(self, job_ids) -> None:
        """The jobs selected in the list (one, or several): the one picked last is shown in full."""
        ids = [i for i in dict.fromkeys(job_ids) if self.find(i) is not None]
        added = [i for i in ids if i not in self.picked]
        current = self.selected.job_id if self.selected is not None else None
        self.picked = ids
        self.select(added[-1] if added else current if current in ids else ids[0] if ids else None)

    @t.observe("picked", "jobs", "changes")
    def _joint_check(self, _change=None) -> None:
        jobs = [j for j in (self.find(i) for i in self.picked) if j is not None and not j.gone]
        other = next((j for j in jobs if j.definition != JOINT_INPUT), None)
        unfinished = next((j for j in jobs if j.phase != "COMPLETED"), None)
        if other is not None:
            note = f"A joint fit combines {JOINT_INPUT} jobs only: {other.job_id[:8]} is a {other.definition} job."
        elif unfinished is not None:
            note = (f"A joint fit needs completed {JOINT_INPUT} jobs: {unfinished.job_id[:8]} is "
                    f"{(unfinished.phase or 'unknown').lower()}.")
        elif len(jobs) < 2:
            note = f"Select two or more completed {JOINT_INPUT} jobs (Ctrl- or Shift-click) for a joint fit."
        else:
            note = f"Joint fit of {len(jobs)} {JOINT_INPUT} jobs: {', '.join(j.job_id[:8] for j in jobs)}."
        self.joint_ready = other is None and unfinished is None and len(jobs) >= 2
        self.joint_note = note

    def joint_jobs(self) -> list[JobHandle]:
        """The picked jobs a joint fit would combine, oldest first (none unless ``joint_ready``)."""
        if not self.joint_ready:
            return []
        jobs = [self.find(i) for i in self.picked]
        return sorted(jobs, key=lambda j: j.created.timestamp() if j.created else 0.0)

    def joint_fit(self) -> bool:
        """Hand a ``joint_spectrum`` job of the picked jobs to the launcher (False, and why, when it cannot be)."""
        jobs = self.joint_jobs()
        if not jobs:
            self.message = self.joint_note
            return False
        self.rerun(JOINT_KIND, {"jobs": ",".join(j.job_id for j in jobs)})
        return True

    def _read(self, handle: JobHandle):
        return handle.client.uws.job(handle.url)

    def _job_failed(self, handle: JobHandle, exc: Exception) -> None:
        if isinstance(exc, ServiceError):
            handle._failed(exc)
        else:
            handle.message = f"The job could not be read: {exc}"

    # -- loading ----------------------------------------------------------------------------------
    def refresh(self, background: bool = True) -> Future | None:
        """Read the job lists (only the ones that changed come back whole)."""
        self.status, self.message = "loading", "Reading your jobs..."
        known = {j.url for j in self.jobs}  # a job added while the lists are read is not in them, yet not gone
        if background:
            return self.bg.run(self._read_lists, on_done=lambda read: self._merge(read, known), on_error=self._failed)
        try:
            self._merge(self._read_lists(), known)
        except ServiceError as exc:
            self._failed(exc)
        return None

    def _read_lists(self) -> tuple[list[str], dict]:
        """I/O only (any thread): the kinds and, per kind whose list changed, its job references."""
        kinds = list(self.kinds) or [d.name for d in self.client.uws.definitions()]
        lists = {}
        for kind in kinds:
            answer = self.client.uws.list_jobs(kind, last=LAST, etag=self._etags.get(kind))
            if answer is not None:
                lists[kind] = answer
        return kinds, lists

    def _failed(self, exc: Exception) -> None:
        self.status = "error"
        self.message = exc.message if isinstance(exc, ServiceError) else f"Your jobs could not be read: {exc}"

    def _merge(self, read: tuple[list[str], dict], known: set[str]) -> None:
        """Apply lists read; a job missing from a whole list is gone if it was ``known`` when they were asked for."""
        kinds, lists = read
        if kinds != self.kinds:
            self.kinds = kinds
        by_url = {j.url: j for j in self.jobs}
        listed = {j.definition for j in self.jobs}
        for kind, (refs, etag) in lists.items():
            self._etags[kind] = etag or ""
            urls = {r.url for r in refs}
            for ref in refs:
                handle = by_url.get(ref.url)
                if handle is None:
                    handle = by_url[ref.url] = JobHandle.from_ref(ref, self.client, self.background)
                    self._watch(handle)
                elif handle.info is None and handle.phase != ref.phase:
                    handle.phase = ref.phase
            for url, handle in list(by_url.items()):  # gone from a list that was read whole
                if (handle.definition == kind and kind in listed and url not in urls and len(refs) < LAST
                        and url in known):
                    handle.gone = True
        jobs = sorted((j for j in by_url.values() if not j.gone), key=lambda j: j.created.timestamp()
                      if j.created else 0.0, reverse=True)
        if [j.url for j in jobs] != [j.url for j in self.jobs]:
            self.jobs = jobs
        if self.selected is not None and self.selected.gone:
            self.selected = None
        self.status = "idle"
        self._count()
        self._follow_active()

    @t.observe("jobs")
    def _count(self, _change=None) -> None:
        """The line above the list says how many jobs it holds (a job added or gone changes it too: it said
        "No jobs yet" above jobs submitted since the lists were read)."""
        if self.status == "idle":
            n = len(self.jobs)
            self.message = f"{n} job{'s' if n != 1 else ''}" if n else "No jobs yet: submit one above."

    def add(self, job: JobHandle) -> None:
        """A job submitted (by the launcher) or followed elsewhere: shown at once, on top, followed, selected."""
        if self.find(job.job_id) is None:
            self._watch(job)
            self.jobs = [job, *self.jobs]
        self.selected = self.find(job.job_id)
        self._follow_active()

    def _watch(self, handle: JobHandle) -> None:
        handle.observe(self._phase_changed, ["phase", "gone"])

    def _phase_changed(self, change) -> None:
        self.changes += 1
        if change["name"] == "gone" and change["new"]:
            self.jobs = [j for j in self.jobs if not j.gone]
            if self.selected is not None and self.selected.gone:
                self.selected = None

    def _follow_active(self) -> None:
        for job in self.jobs:
            if job.active and not job.followed:
                job.follow(self.bg, wait=self.wait)

    # -- the list, kept current -------------------------------------------------------------------
    def start(self) -> None:
        """Read the lists now and then again every ``auto_refresh`` seconds (conditional requests)."""
        self.refresh()
        if self.auto_refresh and self._refresher is None:
            self._refresher = self.bg.thread(self._refresh_loop, name="monitor-lists")

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self.auto_refresh):
            known = {j.url for j in list(self.jobs)}  # as refresh() does: the jobs there when the lists are asked for
            try:
                read = self._read_lists()
            except ServiceError:
                continue  # said by the next explicit refresh; following the jobs goes on
            if read[1]:
                self.bg.call(self._merge, read, known)

    def stop(self) -> None:
        self._stop.set()
        for job in self.jobs:
            job.unfollow()

    # -- actions ----------------------------------------------------------------------------------
    def act(self, job: JobHandle, action: str) -> Future:
        """``abort`` or ``delete`` a job in the background; the outcome shows on the job."""
        def done(_result):
            if action == "delete":
                job.gone = True
                job.message = "Deleted."

        return self.bg.run(getattr(job.client.uws, action), job.url, on_done=done,
                           on_error=lambda exc: self._job_failed(job, exc))

    def run_again(self, job: JobHandle) -> None:
        """Hand the job's kind and parameters to whoever fills the launcher."""
        if job.info is not None:
            self.rerun(job.definition, dict(job.parameters))
            return

        def read_then_rerun(info):
            job.update(info)
            self.rerun(job.definition, dict(job.parameters))
        self.bg.run(self._read, job, on_done=read_then_rerun, on_error=lambda exc: self._job_failed(job, exc))
