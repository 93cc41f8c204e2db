"""SkyView: Aladin Lite with the target, the search circle, footprints coloured by selection and the coverage.

A thin view: it draws :class:`~widgets.sky.state.SkyState` in a :class:`~widgets.sky.aladin.LocalAladin`
and turns clicks on footprints into selection changes of the state.
"""

from __future__ import annotations

import html

import ipywidgets as w
from astropy.coordinates import SkyCoord

from widgets.background import Background
from widgets.events import Dispatcher
from widgets.network import online as network_online
from widgets.sky.aladin import LocalAladin
from widgets.sky.footprints import extent
from widgets.sky.overlay import OverlayState
from widgets.sky.overlay_view import OverlayBar
from widgets.sky.state import DEFAULT_ONLINE_SURVEY, OFFLINE_LABEL, OFFLINE_SURVEY, SkyState, fetch_coverage

MAX_FOOTPRINTS = 20_000  # more would make Aladin Lite slow to draw; the rest are named in a note
OFFLINE_NOTE = ("Offline: sky surveys (HiPS) and Aladin's name resolver need the CDS servers, so the sky is "
                "drawn without an image; targets, footprints and coverage are shown.")


class SkyView(w.VBox):
    """The sky around the target in Aladin Lite, working with no internet.

    ``sky.target`` is the target (SkyCoord or None); ``sky.state.selection`` the selected rows,
    shared with the results table through the session (:func:`widgets.connect`).
    """

    #: what it does with the session (see :mod:`widgets.session`): draws its target, results and selection;
    #: a click selects rows (``sky.target = ...`` moves the target)
    observes, publishes = SkyState.observes, SkyState.publishes  # the overlay's observes are among SkyState's

    def __init__(self, state: SkyState | None = None, online: bool | None = None, height: int = 420,
                 fov: float = 6.0, client=None, overlay: OverlayState | None = None, **kwargs) -> None:
        self.state = state or SkyState()
        self.state.online = network_online() if online is None else online
        if not self.state.online:
            self.state.survey = OFFLINE_SURVEY
        elif self.state.survey == OFFLINE_SURVEY:
            self.state.survey = DEFAULT_ONLINE_SURVEY
        self._clicks = Dispatcher(on_error=lambda exc: self._set_note(f"a click callback failed: {exc}"))
        self.aladin = LocalAladin(
            height=height, fov=fov, survey=self.state.survey, target=self._target_string(),
            manual_selection=True, log=self.state.online, show_coo_grid=not self.state.online,
            show_simbad_pointer_control=self.state.online,
        )
        self.aladin.on_footprints_clicked(self._on_footprints_clicked)
        surveys = self.state.surveys()
        self._survey = w.Dropdown(options=list(surveys.items()), value=self.state.survey,
                                  description="Survey", layout=w.Layout(width="22em"))
        self._survey.observe(lambda c: setattr(self.state, "survey", c["new"]), "value")
        self._coverage = w.Checkbox(value=True, description="Archive coverage", indent=False,
                                    layout=w.Layout(width="auto"))
        self._coverage.observe(lambda _c: self._draw_coverage(), "value")
        self._note = w.HTML()
        self._note.add_class("portal-sky-note")
        self.state.watch(self._draw_target, ["target", "radius", "target_name"])
        self.state.observe(self._draw_footprints, "footprints")
        self.state.watch(self._draw_selection, "selection")
        self.state.observe(self._draw_coverage, ["coverage", "coverage_note"])
        self.state.observe(lambda c: setattr(self.aladin, "survey", c["new"]), "survey")
        toolbar = w.HBox([self._survey, self._coverage], layout=w.Layout(align_items="center"))
        # a sky map (a skymap job's, or the archive's) over the sky, with a colour scale and an opacity: its
        # controls are built when there is a map to offer (most visits never have one)
        self.overlay_state = overlay or OverlayState(client=client, session=self.state.session)
        self._overlay: OverlayBar | None = None
        self.overlay_state.observe(self._offer_maps, ["choices", "image"])
        super().__init__([toolbar, self._note, self.aladin], **kwargs)
        self.add_class("portal-sky-view")
        self._draw_target()
        self._draw_footprints()
        self._draw_coverage()
        self._offer_maps()

    @property
    def overlay(self) -> OverlayBar:
        """The sky-map controls (built on first use)."""
        if self._overlay is None:
            self._overlay = OverlayBar(self.overlay_state, self.aladin)
            toolbar, *rest = self.children
            self.children = [toolbar, self._overlay, *rest]
        return self._overlay

    def _offer_maps(self, _change=None) -> None:
        if self._overlay is None and (self.overlay_state.choices or self.overlay_state.image is not None):
            self.overlay  # noqa: B018 (builds it)

    # -- narrow public API ------------------------------------------------------------------------
    def attach(self, session) -> list:
        """Draw ``session``'s target, results (as footprints) and selection; a click selects its rows. Offer the
        maps of its active job (a completed skymap job) and show the sky-map products opened in it."""
        return [self.state.join(session), self.overlay_state.join(session)]

    def show_map(self, url: str | None = None, wait: bool = False):
        """Draw a sky map over the sky: one of ``sky.overlay.state.choices`` (by URL; default the chosen one)."""
        return self.overlay_state.show(url, wait=wait)

    def remove_map(self) -> None:
        self.overlay_state.remove()

    @property
    def target(self) -> SkyCoord | None:
        return self.state.target

    @target.setter
    def target(self, value: SkyCoord | None) -> None:
        self.state.target = value

    @property
    def selection(self) -> list[int]:
        return list(self.state.selection)

    def on_click(self, callback, remove: bool = False) -> None:
        """Call ``callback(rows: list[int])`` when footprints are clicked (after the selection changed)."""
        self._clicks.register(callback, remove=remove)

    def show_coverage(self, url: str, background: bool = True, client=None) -> None:
        """Load the archive's coverage MOC from ``url`` (the portal's ``/coverage/moc.json``)."""
        if background:
            Background.shared().run(fetch_coverage, url, client, on_done=self.state.apply_coverage)
        else:
            self.state.load_coverage(url, client)

    # -- drawing ------------------------------------------------------------------------------------
    def _target_string(self) -> str:
        target = self.state.target
        return f"{target.icrs.ra.deg} {target.icrs.dec.deg}" if target is not None else "83.633 22.0145"

    def _draw_target(self, _change=None) -> None:
        target = self.state.target
        if target is None:
            self.aladin._portal_target = {}
            return
        icrs = target.icrs
        self.aladin._portal_target = {"ra": float(icrs.ra.deg), "dec": float(icrs.dec.deg),
                                      "radius": float(self.state.radius), "name": self.state.target_name}
        self.aladin.target = icrs
        if self.state.radius > 0:
            self.aladin.fov = min(180.0, max(1.0, 5.0 * self.state.radius))

    def _draw_footprints(self, _change=None) -> None:
        footprints = self.state.footprints
        self.aladin._portal_footprints = [list(f) for f in footprints[:MAX_FOOTPRINTS]]
        self._draw_selection()
        self._render_note()
        target = self.state.target
        if target is not None and self.state.footprints:
            reach = extent(self.state.footprints, target.icrs.ra.deg, target.icrs.dec.deg)
            self.aladin.fov = min(180.0, max(self.aladin.fov.deg, 2.2 * reach))

    def _draw_selection(self, _change=None) -> None:
        self.aladin._portal_selected = list(self.state.selection)

    def _draw_coverage(self, _change=None) -> None:
        self.aladin._portal_moc = dict(self.state.coverage) if self._coverage.value else {}
        self._render_note()

    def _render_note(self) -> None:
        notes = [] if self.state.online else [OFFLINE_NOTE]
        if len(self.state.footprints) > MAX_FOOTPRINTS:
            notes.append(f"Only the first {MAX_FOOTPRINTS:,} of {len(self.state.footprints):,} footprints are drawn.")
        if self.state.coverage_note:
            notes.append(self.state.coverage_note[:1].upper() + self.state.coverage_note[1:] + ".")
        self._set_note(" ".join(notes))

    def _set_note(self, text: str) -> None:
        self._note.value = f"<span style='color:#555;font-size:90%'>{html.escape(text)}</span>" if text else ""

    def _on_footprints_clicked(self, rows: list[int], additive: bool) -> None:
        self.state.click(rows, additive)
        self._clicks(rows)


__all__ = ["SkyView", "OFFLINE_LABEL"]
