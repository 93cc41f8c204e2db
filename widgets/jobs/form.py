"""LauncherState: the job form as state. Definitions from the service, texts as typed, pre-fill,
validation with the service's own rules, and submission (once, however often the button is hit).

Texts are kept as typed (``texts``), so that nothing is lost when a value is refused; ``values``
is the form as a dict of typed values. A field the user typed is never overwritten by pre-fill.

What it pre-fills from is the session's (:mod:`widgets.session`): its target (position, name, size) and
its selected rows; a draft put there ("Run again", "Joint fit") fills the form; a job submitted becomes
the session's active job.
"""

from __future__ import annotations

import time
from concurrent.futures import Future

import traitlets as t
from astropy.coordinates import SkyCoord
from astropy.table import Table

from portal.seam.params import ParameterError, convert
from portal.seam.sizes import SourceSize
from widgets.background import Background, UsesBackground
from widgets.client import Definition, PortalClient, ServiceError, default_client
from widgets.events import Dispatcher
from widgets.jobs.handle import JobHandle
from widgets.jobs.prefill import origins, prefill, shared_obs_ids, summary
from widgets.session import SessionState

__all__ = ["LauncherState", "FREE_FORM"]

FREE_FORM = ""  # the definition name of a service that publishes no definitions: name=value lines
REPEAT_WINDOW = 3.0  # seconds during which the same form submitted again is the same job (double click)


class LauncherState(UsesBackground, SessionState):
    observes = ("target_moves", "selected", "draft")
    publishes = ("active_job",)

    definitions = t.List(t.Instance(Definition))
    definition = t.Unicode(FREE_FORM)
    texts = t.Dict()  # parameter name -> text in the form
    touched = t.List(t.Unicode())  # parameters the user typed (pre-fill leaves them alone)
    problems = t.Dict()  # parameter name -> what is wrong with its text ("" key: the whole form)
    free_list = t.Unicode("")  # free form: the job list URL
    free_params = t.Unicode("")  # free form: name=value lines
    shared_ids = t.List(t.Int())  # obs ids of the rows that the archive holds in several collections
    notes = t.Dict()  # parameter name -> where its pre-filled value came from (fields the user did not type)
    summary = t.Unicode("")
    status = t.Enum(["loading", "idle", "submitting", "submitted", "error"], "idle")
    message = t.Unicode("")
    last_job = t.Instance(JobHandle, allow_none=True)

    def __init__(self, client: PortalClient | None = None, definition: str | None = None,
                 background: Background | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.client = client or default_client()
        self.background = background
        self.submitted = Dispatcher(on_error=lambda exc: setattr(self, "message", f"A callback failed: {exc}"))
        self._wanted = definition
        self._filled: tuple[str, str] | None = None  # (definition, what fill() says) until the definitions are read
        self._last_submit: tuple[tuple, float, JobHandle] | None = None
        self.observe(self._refill, ["definition", "shared_ids"])
        self.watch(self._refill, ["target_moves", "selected"])
        self.watch(self._look_for_shared_ids, "selected")
        self.watch(self._drafted, "draft")
        self.observe(self._check, ["texts", "touched", "definition", "free_params", "free_list"])

    # -- what the session holds -------------------------------------------------------------------
    @property
    def rows(self) -> Table | None:
        """The selected archive rows (the session's)."""
        return self.session.selected

    @property
    def target(self) -> SkyCoord | None:
        return self.session.target

    @property
    def target_name(self) -> str:
        return self.session.target_name

    @property
    def target_size(self) -> SourceSize | None:
        """The target's angular size, when a catalog gives it."""
        return self.session.target_size

    def _drafted(self, _change=None) -> None:
        draft = self.session.draft
        if draft is not None:
            self.fill(draft.definition, draft.parameters)

    # -- definitions ------------------------------------------------------------------------------
    def load(self, background: bool = False) -> Future | None:
        """Read the service's job definitions (now, or in a worker thread)."""
        self.status, self.message = "loading", f"Reading the job definitions of {self.client.uws.base_url}..."
        if background:
            return self.bg.run(self.client.uws.definitions, on_done=self.set_definitions, on_error=self._load_failed)
        try:
            self.set_definitions(self.client.uws.definitions())
        except ServiceError as exc:
            self._load_failed(exc)
        return None

    def _load_failed(self, exc: Exception) -> None:
        self.status = "error"
        self.message = exc.message if isinstance(exc, ServiceError) else f"The definitions could not be read: {exc}"

    def set_definitions(self, definitions: list[Definition]) -> None:
        names = [d.name for d in definitions]
        wanted = self._wanted if self._wanted in names else (self.definition if self.definition in names else None)
        with self.hold_trait_notifications():
            self.definitions = list(definitions)
            self.definition = wanted or (names[0] if names else FREE_FORM)
        filled, self._filled = self._filled, None
        self.status = "idle"
        self.message = (filled[1] if filled and filled[0] == self.definition else "") if names else (
            "This service publishes no job definitions: give the job list URL and the parameters as name=value lines.")
        self._refill()

    def current(self) -> Definition | None:
        return next((d for d in self.definitions if d.name == self.definition), None)

    @t.validate("definition")
    def _known(self, proposal):
        name = proposal["value"]
        if self.definitions and name not in {d.name for d in self.definitions}:
            known = ", ".join(d.name for d in self.definitions)
            raise t.TraitError(f"no job definition {name!r} on this service (there are: {known})")
        self._wanted = name
        return name

    # -- the form ---------------------------------------------------------------------------------
    def type(self, name: str, text: str) -> None:
        """What the user typed into field ``name`` (never overwritten by pre-fill afterwards)."""
        if name not in self.touched:  # first: checking the new text must know it was typed
            self.touched = [*self.touched, name]
        self.texts = {**self.texts, name: text}

    def fill(self, definition: str, parameters: dict) -> None:
        """Fill the form with ``parameters`` (a job's, to run it again; or some, as a joint fit's ``jobs``): these
        fields count as typed, the others take their defaults and pre-filled values."""
        with self.hold_trait_notifications():
            if self.definitions:
                self.definition = definition
            else:  # the definitions are still to be read: this one is shown once they are
                self._wanted = definition
            texts = {k: ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v).lower()
                     if isinstance(v, bool) else str(v) for k, v in parameters.items()}
            self.texts = texts
            self.touched = list(texts)
        self._refill()  # the fields not given (the definition may not have changed, so nothing else refills)
        note = f"The form holds the parameters of a {definition} job: check and submit."
        if self.definitions:
            self.status, self.message = "idle", note
        else:  # said again once the definitions are read (reading them says so meanwhile)
            self._filled = (definition, note)
            if self.status != "loading":
                self.status, self.message = "idle", note

    def reset(self) -> None:
        """Forget what was typed: back to the defaults and the pre-filled values."""
        self.touched = []
        self.texts = {}
        self._refill()

    def _look_for_shared_ids(self, _change=None) -> None:
        """Ask the archive, in the background, whether an obs id of the rows is in several collections: the
        form then qualifies the ids with their collections (the service refuses an ambiguous id)."""
        rows = self.rows

        def found(ids: set[int]) -> None:
            if rows is self.rows:
                self.shared_ids = sorted(ids)

        self.shared_ids = []
        if rows is not None and len(rows):
            self.bg.run(shared_obs_ids, self.client, rows, on_done=found,
                        on_error=lambda exc: None)  # unknown: plain ids, and the service says so if one is ambiguous

    def _refill(self, _change=None) -> None:
        definition = self.current()
        if definition is None:
            self.summary = ""
            return
        filled = prefill(definition, self.rows, self.target, self.target_size, self.shared_ids)
        known = {p.name for p in definition.parameters}
        texts = {k: v for k, v in self.texts.items() if k in known and k in self.touched}
        for p in definition.parameters:
            if p.name in texts:
                continue
            if p.name in filled:
                texts[p.name] = filled[p.name]
            elif not p.required and p.default is not None:
                default = p.default
                texts[p.name] = (",".join(map(str, default)) if isinstance(default, (list, tuple))
                                 else str(default).lower() if isinstance(default, bool) else str(default))
        self.texts = texts
        self._check()

    def _notes(self, definition: Definition) -> dict[str, str]:
        """Where the pre-filled values came from, for the fields the user has not typed."""
        filled = {k: v for k, v in self.texts.items() if k not in self.touched}
        return origins(definition, filled, self.target_size, self.target_name, self.target)

    def _check(self, _change=None) -> None:
        problems: dict[str, str] = {}
        definition = self.current()
        if definition is None:
            if self.definition == FREE_FORM:
                problems.update(self._free_problems())
        else:
            for p in definition.parameters:
                text = self.texts.get(p.name, "").strip()
                if not text:
                    if p.required:
                        problems[p.name] = f"parameter {p.name} is required"
                    continue
                try:
                    convert(p, text)
                except ParameterError as exc:
                    problems[p.name] = str(exc)
        self.problems = problems
        self.notes = self._notes(definition) if definition else {}
        line = summary(definition, self.values, self.rows, self.target_name) if definition else ""
        self.summary = "; ".join([line, *self.notes.values()]) if line and self.notes else line

    def _free_problems(self) -> dict[str, str]:
        problems = {}
        if not self.free_list.strip().startswith(("http://", "https://")):
            problems["free_list"] = "give the job list's URL (http:// or https://)"
        for line in self.free_params.splitlines():
            if line.strip() and "=" not in line:
                problems["free_params"] = f"{line.strip()!r} is not a name=value line"
        return problems

    @property
    def values(self) -> dict:
        """The form as a dict: typed values where the text converts, else the text as typed."""
        definition = self.current()
        if definition is None:
            return dict(self._free_pairs())
        out = {}
        for p in definition.parameters:
            text = self.texts.get(p.name, "").strip()
            if not text:
                continue
            try:
                out[p.name] = convert(p, text)
            except ParameterError:
                out[p.name] = text
        return out

    def _free_pairs(self) -> list[tuple[str, str]]:
        pairs = []
        for line in self.free_params.splitlines():
            name, sep, value = line.partition("=")
            if sep and name.strip():
                pairs.append((name.strip(), value.strip()))
        return pairs

    # -- submission -------------------------------------------------------------------------------
    def _request(self) -> tuple[str, list[tuple[str, str]]]:
        definition = self.current()
        if definition is None:
            return self.free_list.strip(), self._free_pairs()
        pairs = [(p.name, self.texts[p.name].strip()) for p in definition.parameters
                 if self.texts.get(p.name, "").strip()]
        return definition.url or definition.name, pairs

    def _ready(self) -> tuple | None:
        """The request to send, or None (with a message) when the form cannot be sent."""
        if self.status == "submitting":
            return None  # the first click is on its way
        self._check()
        if self.problems:
            self.status = "error"
            self.message = "The form has problems: " + "; ".join(self.problems.values())
            return None
        target, pairs = self._request()
        key = (target, tuple(pairs))
        last = self._last_submit
        if last is not None and last[0] == key and time.monotonic() - last[1] < REPEAT_WINDOW:
            return None  # the same form again within a moment: a double click, one job
        return key

    def submit(self) -> JobHandle | None:
        """Create and start the job now (in the calling thread); its handle, or None (see ``message``)."""
        key = self._ready()
        if key is None:
            return self._last_submit[2] if self._last_submit and self.status != "error" else None
        self.status, self.message = "submitting", "Submitting..."
        try:
            return self._submitted(key, self._create(key))
        except ServiceError as exc:
            self._refused(exc)
            return None

    def submit_in_background(self) -> Future | None:
        key = self._ready()
        if key is None:
            return None
        self.status, self.message = "submitting", "Submitting..."
        return self.bg.run(self._create, key, on_done=lambda made: self._submitted(key, made),
                           on_error=self._refused)

    def _create(self, key: tuple):
        """I/O only (any thread): create and run the job, read its first document."""
        target, pairs = key
        url = self.client.uws.create(target, list(pairs), run=True)
        return url, self.client.uws.job(url)

    def _submitted(self, key: tuple, made) -> JobHandle:
        url, info = made
        job = JobHandle(url, self.client, info=info, background=self.background)
        self._last_submit = (key, time.monotonic(), job)
        if self.last_job is not None:
            self.last_job.unobserve(self._job_moved, ["phase", "version"])
        self.last_job = job
        self.status, self.message = "submitted", _submitted_line(job)
        job.observe(self._job_moved, ["phase", "version"])  # the line follows its job to the end
        if job.active:
            job.follow(self.background)  # the monitor, when there is one, follows the same handle
        self.session.active_job = job
        self.submitted(job)
        return job

    def _job_moved(self, change) -> None:
        job = change["owner"]
        if job is self.last_job and self.status == "submitted":
            self.message = _submitted_line(job)

    def _refused(self, exc: Exception) -> None:
        self.status = "error"
        text = exc.message if isinstance(exc, ServiceError) else f"The job could not be submitted: {exc}"
        self.message = f"The service refused the job: {text}" if isinstance(exc, ServiceError) and exc.status else text


def _submitted_line(job: JobHandle) -> str:
    """What the launcher says of the job it submitted last: its phase now, and its stage while it runs."""
    doing = job.progress_text if job.phase == "EXECUTING" else ""
    return f"Submitted {job.definition} job {job.job_id}: {job.phase}{', ' + doing if doing else ''}."
