"""SEDState: what an SED plot shows (layers), how (SED type, energy unit), and for what (target, job).

The state is plain traitlets, tested without a browser; :class:`~widgets.sed.view.SEDPlot` is its
thin view. What it is for is the session's (:mod:`widgets.session`): ``target`` (and ``target_name``)
is the session's target, whose catalog counterparts within ``counterpart_radius`` (degrees, the plot's
own, not the search's radius) are drawn; the job followed is the session's active job when that is a
``spectrum`` or a ``joint_spectrum`` (``follow`` makes a job the active one; ``job`` is the one followed);
the catalog sources added by name are the session's ``sed_sources``. ``layers`` is replaced, never
mutated, so observers see every change; ``revision`` counts changes of the layers' data or visibility.
``refits`` (a :class:`~widgets.sed.refit_state.RefitState`) runs the refits.

Nothing raises at the user: a failure sets ``status`` to ``error`` and ``message`` to a sentence,
and the layers stay as they were.
"""

from __future__ import annotations

import astropy.units as u
import traitlets as t
from astropy.coordinates import SkyCoord

from widgets.background import Background
from widgets.client import PortalClient, default_client
from widgets.jobs.handle import JobHandle
from widgets.sed.layers import Colors, Layer, model_layer, points_layers, sort_layers
from widgets.sed.loading import SEDInputError, read_flux_points, read_models
from widgets.sed.units import ENERGY_UNITS, SED_TYPES
from widgets.session import SessionState

DEFAULT_RADIUS = 0.2  # degrees: counterparts of a point source, not the whole field
DEFAULT_RANGE = (0.1, 100.0)  # TeV, for a model given without an energy range or points


def warm_up() -> None:
    """Import what reading SEDs needs (in a worker thread, once the plot has a target or a job)."""
    import gammapy.estimators  # noqa: F401
    import gammapy.modeling.models  # noqa: F401

    import portal.jobs.spectrum  # noqa: F401 - the reader of the job's model file


class SEDState(SessionState):
    observes = ("target", "active_job", "sed_sources", "product")
    publishes = ("target", "active_job", "sed_sources")

    sed_type = t.Enum(SED_TYPES, "e2dnde")
    energy_unit = t.Enum(ENERGY_UNITS, "TeV")
    counterpart_radius = t.Float(DEFAULT_RADIUS)  # degrees: the target's catalog counterparts within it are drawn
    layers = t.List()  # [Layer], in drawing order
    revision = t.Int(0)
    counterparts = t.List()  # [{"tag", "name", "separation"}] near the target (from /catalogs/cone)
    status = t.Enum(["idle", "working", "live", "ok", "error"], "idle")
    message = t.Unicode("")  # what last happened (or went wrong), as a sentence
    job_status = t.Unicode("")  # how the followed job is doing ("running: 3 of 8 flux points")
    flux_points = t.Any(None)  # the followed job's gammapy FluxPoints (None before its first point)
    job_model = t.Any(None)  # the followed job's fitted gammapy Models
    refit_result = t.Any(None)  # the last refit (widgets.sed.refit.Refit)
    following = t.Bool(False)  # the followed job has results still to come, or to be drawn
    finding = t.Bool(False)  # the target's counterparts are still being looked up or read
    # whether the plot is in view: while not (a dashboard's closed tab), a new target's counterparts are listed
    # but their flux points are read only once it is, and gammapy is not warmed up (typing targets stays quick)
    active = t.Bool(True)

    def __init__(self, client: PortalClient | None = None, background: Background | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.client = client or default_client()
        self.background = background or Background.shared()
        self.colors = Colors()
        self.interval = 1.0  # seconds: a followed job's results are downloaded at most this often
        self._follower = None
        self._sources: set[tuple[str, str]] = set()  # catalog sources drawn by name (asked here, or in the session)
        from widgets.sed.catalogs import Counterparts
        from widgets.sed.refit_state import RefitState

        self.catalogs = Counterparts(self)  # draws the counterparts of ``target`` within ``counterpart_radius``
        self.refits = RefitState(self)
        from widgets.sed.product import ProductLoader

        self.products = ProductLoader(self)  # the archive's sed products opened in the session (``product``)
        self.watch(self._active, "active_job")
        self.watch(self._new_sources, "sed_sources")
        # gammapy takes seconds to import: not when the first point arrives, nor while a dashboard starts
        self._warming = False
        self.watch(self._warm_up, "target")
        self.observe(self._warm_up, "active")
        if self.target is not None:
            self._warm_up()

    def _warm_up(self, _change=None, needed: bool = False) -> None:
        """Import gammapy in a worker, once: when the plot is in view with a target or a job, or when ``needed``."""
        if not self._warming and (needed or (self.active and (self.target is not None or self.job is not None))):
            self._warming = True
            self.background.run(warm_up)

    # -- what the session holds ---------------------------------------------------------------
    @property
    def target(self) -> SkyCoord | None:
        """The session's target: its catalog counterparts within ``counterpart_radius`` are drawn."""
        return self.session.target

    @target.setter
    def target(self, coord: SkyCoord | None) -> None:
        self.set_target(coord, self.session.target_name)

    @property
    def target_name(self) -> str:
        return self.session.target_name

    def set_target(self, coord: SkyCoord | None, name: str = "") -> None:
        """Make ``coord`` (named ``name``) the session's target."""
        s = self.session
        s.set_target(coord, s.radius, name or "", s.target_size if coord is s.target else None)

    @property
    def job(self) -> JobHandle | None:
        """The job the plot follows: the session's latest active job that is a spectrum or a joint fit."""
        return None if self._follower is None else self._follower.handle

    def _active(self, _change=None) -> None:
        from widgets.sed.live import KINDS

        handle = self.session.active_job
        if handle is not None and handle.definition in KINDS and not self._following(handle):
            self._follow(handle)

    def _following(self, handle: JobHandle) -> bool:
        """Whether the plot follows that job already (through this handle, or another of the same job)."""
        return self.job is not None and self.job.url == handle.url

    def add_catalog(self, tag: str, name: str, wait: bool = True):
        """Draw one catalog source (its flux points and model) read from the portal's /catalogs; it becomes one
        of the session's ``sed_sources``. In the calling thread with ``wait`` (its layers), else in the background."""
        self._sources.add((tag, name))
        self.session.add_source(tag, name)
        return self.catalogs.add(tag, name, wait=wait)

    def _new_sources(self, _change=None) -> None:
        for tag, name in list(self.session.sed_sources):
            if (tag, name) not in self._sources:
                self._sources.add((tag, name))
                self.catalogs.add(tag, name, wait=False)

    # -- messages -----------------------------------------------------------------------------
    def say(self, message: str, status: str = "ok") -> None:
        self.status, self.message = status, message

    def fail(self, message: str) -> None:
        """A sentence for the user; the plot keeps what it had."""
        self.say(message[:1].upper() + message[1:] if message else "Something went wrong.", "error")

    def failed(self, exc: BaseException) -> None:
        """Background work that failed: its message, never a traceback."""
        self.fail(getattr(exc, "message", None) or str(exc) or type(exc).__name__)

    # -- layers -------------------------------------------------------------------------------
    def layer(self, name: str) -> Layer | None:
        """A layer by key, legend text or label (the first that matches)."""
        for attr in ("key", "legend", "label"):
            for layer in self.layers:
                if getattr(layer, attr) == name:
                    return layer
        return None

    def group(self, group: str) -> list[Layer]:
        return [layer for layer in self.layers if layer.group == group]

    def put(self, new: list[Layer]) -> None:
        """Add layers, or replace those with the same keys (keeping whether they are shown)."""
        if not new:
            return
        old = {layer.key: layer for layer in self.layers}
        for layer in new:
            if layer.key in old:
                layer.visible = old[layer.key].visible
                layer.version = old[layer.key].version + 1
        keys = {layer.key for layer in new}
        self.layers = sort_layers([layer for layer in self.layers if layer.key not in keys] + list(new))
        self.revision += 1

    def remove(self, names) -> None:
        """Remove layers by key, or whole groups (a source) by name."""
        names = {names} if isinstance(names, str) else set(names)
        kept = [layer for layer in self.layers if layer.key not in names and layer.group not in names]
        if len(kept) != len(self.layers):
            self.layers = kept
            self.revision += 1

    def points_to_export(self, name: str | None = None):
        """The flux points of layer (or source) ``name``, else the job's, else the first shown; None, with a
        message, when there are none."""
        layer = self.layer(name) if name else (self.layer("job/points") or next(
            (p for p in self.layers if p.kind == "points"), None))
        if layer is not None and layer.kind != "points":
            layer = next((p for p in self.group(layer.group) if p.kind == "points"), None)
        if layer is None:
            self.fail(f"There are no flux points {name!r}." if name else "There are no flux points to export.")
            return None
        return layer.points

    def set_visible(self, name: str, visible: bool = True) -> None:
        layer = self.layer(name)
        if layer is None:
            self.fail(f"There is no layer {name!r} in this plot.")
            return
        if layer.visible != visible:
            layer.visible = visible
            self.revision += 1

    # -- adding data --------------------------------------------------------------------------
    def points_layers(self, source, label: str, key: str | None = None, group: str | None = None,
                      origin: str = "file", reference_model=None) -> list[Layer]:
        """Layers for flux points (read from any supported input); raises SEDInputError. Any thread."""
        points = read_flux_points(source, reference_model=reference_model)
        key = key or f"file/{label}"
        return points_layers(points, key, label, group or label, self.colors(key), origin)

    def model_layers(self, source, label: str, key: str | None = None, group: str | None = None,
                     origin: str = "file", energy_range=None, bins=None, ranges=None,
                     prepare: bool = True) -> list[Layer]:
        """Layers for each spectral model of ``source``; raises SEDInputError. Any thread.

        ``energy_range`` (or ``ranges``: model name -> range) says where a model is drawn; by
        default the range of ``bins`` (the flux points it goes with), else 0.1 to 100 TeV.
        With ``prepare`` the envelope is computed now, for the current SED type.
        """
        models = read_models(source, name=label)
        key = key or f"file/{label}"
        color = self.colors(key)
        out = []
        for i, sky_model in enumerate(models):
            spectral = getattr(sky_model, "spectral_model", None)
            if spectral is None:
                continue
            erange = (ranges or {}).get(sky_model.name, energy_range)
            if erange is None and bins is not None:
                erange = u.Quantity([bins.edges[0], bins.edges[-1]])
            erange = u.Quantity(DEFAULT_RANGE, "TeV") if erange is None else u.Quantity(erange, "TeV")
            name = label if len(models) == 1 else f"{label} {sky_model.name.removeprefix(label).strip()}"
            layer_key = key if len(models) == 1 else f"{key}/{i}"
            layer = model_layer(spectral, layer_key, name, group or label, color, origin, erange, bins)
            if prepare:
                layer.curve.prepare(self.sed_type)
            out.append(layer)
        if not out:
            raise SEDInputError(f"{label}: the file has no spectral model.")
        return out

    def add_flux_points(self, source, label: str = "flux points", **kwargs) -> list[Layer]:
        """Show flux points (FluxPoints, a path or bytes: gadf SED FITS of any sed_type, ECSV, gamma-cat)."""
        try:
            layers = self.points_layers(source, label, **kwargs)
        except SEDInputError as exc:
            self.fail(str(exc))
            return []
        self.put(layers)
        self.say(f"Added {label}: {layers[-1].points.energy_axis.nbin} flux points.")
        return layers

    def add_model(self, source, label: str = "model", **kwargs) -> list[Layer]:
        """Show a model with its envelope (a gammapy model object, YAML text or a path)."""
        try:
            layers = self.model_layers(source, label, **kwargs)
        except SEDInputError as exc:
            self.fail(str(exc))
            return []
        self.put(layers)
        self.say(f"Added {label}.")
        return layers

    # -- the followed job ---------------------------------------------------------------------
    @property
    def followed_definition(self) -> str:
        """The kind of the job followed ("spectrum", "joint_spectrum"), "" when none."""
        return "" if self._follower is None else self._follower.handle.definition

    def follow(self, job, interval: float = 1.0):
        """Follow a running (or finished) ``spectrum`` or ``joint_spectrum`` job: a JobHandle or a job URL. It
        becomes the session's active job.

        A joint fit shows its joint points and model, and each input job's flux points as a layer of its own."""
        if isinstance(job, str):
            active = self.session.active_job
            url = job.strip()
            job = active if active is not None and active.url == url else JobHandle(url, client=self.client,
                                                                                   background=self.background)
        if not isinstance(job, JobHandle):
            self.fail(f"Cannot follow {type(job).__name__}: give a job URL or a JobHandle.")
            return None
        self.interval = interval
        self.session.active_job = job  # followed here through the session (see _active)
        if not self._following(job):
            self._follow(job)  # already the active job, or a kind of job the plot does not follow by itself
        return self.job

    def _follow(self, job: JobHandle) -> None:
        from widgets.sed.live import JobFollower

        self._warm_up(needed=True)  # a job's points come: gammapy is needed, in view or not
        if self._follower is not None:
            self._follower.stop()
        # the previous job's points, model, a joint fit's inputs and the refits made from them go
        self.remove([layer.key for layer in self.layers if layer.source in ("job", "input", "refit")])
        self.flux_points = None
        self.job_model = None
        self.following = True
        self._follower = JobFollower(self, job, interval=self.interval)
        self._follower.start()

    def unfollow(self) -> None:
        if self._follower is not None:
            self._follower.stop()
            self._follower = None
        self.following = False

    async def ready(self, timeout: float | None = 1800.0) -> bool:
        """Until the plot shows all it was asked for: the followed job to its end, the target's counterparts.

        ``await sed.ready()`` in a notebook cell: the kernel's loop keeps drawing while the cell
        waits (a blocking wait would hold every update back). False after ``timeout`` seconds.
        """
        import asyncio

        done = asyncio.get_running_loop().create_future()

        def check(_change=None) -> None:
            if not (self.following or self.finding) and not done.done():
                done.set_result(True)

        self.observe(check, ["following", "finding"])
        try:
            check()
            await asyncio.wait_for(done, timeout)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            self.unobserve(check, ["following", "finding"])
