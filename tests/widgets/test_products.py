"""Products of the archive in the dashboard, without a browser, against the real `portal serve` (H.E.S.S. DR1).

Alice runs a small spectrum job and a small skymap job and publishes them (privately). Then: the job monitor's
publish state says whether a job is published, publishes it publicly, unpublishes it and publishes it again;
the ObsCore form's "Products" finds their rows (sed and image, calib_level 4) with ADQL the user sees; a product
row selected opens its flux points in the SED view and its provenance graph (through its DataLink); an image
product, or a followed skymap job's map, is overlaid on the sky with a colour map and an opacity, and removed.
Failures are sentences.
"""

from __future__ import annotations

import time

import pytest
from astropy.coordinates import SkyCoord

from widgets.background import Background
from widgets.client import PortalClient
from widgets.jobs.handle import JobHandle
from widgets.jobs.publish import PublishState
from widgets.jobs.publish_view import PublishControl
from widgets.obscore.services import embedded
from widgets.obscore.state import SearchState
from widgets.obscore.table import PRODUCT_FIRST, to_dataframe
from widgets.products.ref import Product, product_of
from widgets.products.state import ProductState
from widgets.products.view import ProductPanel
from widgets.sed.state import SEDState
from widgets.session import Session
from widgets.sky.overlay import COLORMAPS, ImageSource, MapError, prepare
from widgets.sky.view import SkyView

pytestmark = [pytest.mark.requires_data, pytest.mark.slow, pytest.mark.timeout(1800)]

CRAB = (83.633, 22.0145)
RUNS = "23523,23526"
SPECTRUM = {"obs_ids": RUNS, "ra": CRAB[0], "dec": CRAB[1], "n_bins": 2, "e_min": 1, "e_max": 10}
SKYMAP = {"obs_ids": RUNS, "ra": CRAB[0], "dec": CRAB[1], "width": 1.0, "binsz": 0.05, "e_min": 1, "e_max": 10}


def run_job(client: PortalClient, kind: str, params: dict) -> str:
    url = client.uws.create(kind, params, run=True)
    deadline = time.monotonic() + 900
    info = client.uws.job(url)
    while info.phase in ("PENDING", "QUEUED", "EXECUTING"):
        assert time.monotonic() < deadline, f"the {kind} job did not finish in time"
        info = client.uws.wait(url, phase=info.phase, timeout=30) or client.uws.job(url)
    assert info.phase == "COMPLETED", client.uws.error(url)
    return url


@pytest.fixture(scope="module")
def jobs(client):
    """A spectrum job and a skymap job of alice's, both published privately; unpublished at the end, since the
    session's archive is shared: later tests count the Crab's rows (4 runs) and see alice's products."""
    urls = {"spectrum": run_job(client, "spectrum", SPECTRUM), "skymap": run_job(client, "skymap", SKYMAP)}
    try:
        for url in urls.values():
            assert client.uws.publish(url) == "private"
        yield urls
    finally:
        for url in urls.values():
            client.uws.unpublish(url)


@pytest.fixture()
def bg():
    background = Background()
    yield background
    background.close()


def handle(client, url: str) -> JobHandle:
    job = JobHandle(url, client=client)
    job.update(client.uws.job(url))
    return job


def products_table(client, jobs):
    """The rows the form's "Products" finds around the Crab."""
    state = SearchState(embedded(client.url), client=client)
    state.form.set_scope("products")
    state.set_cone(SkyCoord(*CRAB, unit="deg"), 0.5)
    assert state.run(), state.message
    return state


def test_the_publish_control_says_and_changes_whether_a_job_is_published(client, jobs, bg):
    session = Session()
    state = PublishState(client, bg, session=session)
    control = PublishControl(state)
    assert control.layout.display == "none"  # no job chosen
    session.active_job = handle(client, jobs["spectrum"])
    assert bg.wait_until(lambda: state.visibility == "private", timeout=60), state.message
    assert state.can_publish and "for you only" in state.message
    assert control._unpublish.disabled is False and control._choice.value == "private"
    assert "published, private" in control._badge.value
    # public, then out of the archive, then private again (the later tests search for it)
    control._choice.value = "public"
    assert control._publish.description == "Change visibility" and not control._publish.disabled
    control._publish.click()
    assert bg.wait_until(lambda: state.visibility == "public" and not state.busy, timeout=120), state.message
    assert client.uws.publication(jobs["spectrum"]) == "public"
    control._unpublish.click()
    assert bg.wait_until(lambda: state.visibility == "unpublished" and not state.busy, timeout=120), state.message
    assert control._unpublish.disabled and control._publish.description == "Publish"
    assert client.uws.publication(jobs["spectrum"]) == "unpublished"
    control._choice.value = "private"
    control._publish.click()
    assert bg.wait_until(lambda: state.visibility == "private" and not state.busy, timeout=120), state.message


def test_a_job_not_completed_cannot_be_published(client, bg):
    url = client.uws.create("spectrum", SPECTRUM)  # PENDING: never run
    try:
        session = Session()
        state = PublishState(client, bg, session=session)
        session.active_job = handle(client, url)
        assert not state.can_publish and "once it has completed" in state.message
        assert state.publish() is None and state.failed and "only a completed job" in state.message
    finally:
        client.uws.delete(url)


def test_the_form_finds_products_and_shows_what_they_are(client, jobs):
    state = products_table(client, jobs)
    assert "dataproduct_type IN ('sed', 'timeseries', 'image')" in state.adql and "calib_level = 4" in state.adql
    table = state.results
    kinds = {(str(r["dataproduct_type"]), int(r["calib_level"])) for r in table}
    assert {("sed", 4), ("image", 4)} <= kinds and all(level == 4 for _k, level in kinds)
    job_ids = {u.rsplit("/", 1)[-1] for u in jobs.values()}
    assert {str(r["obs_id"]).split("/")[0] for r in table} >= job_ids
    frame = to_dataframe(table)
    assert list(frame.columns[:5]) == list(PRODUCT_FIRST[:5])  # type, level, target, title, job/result
    assert all(product_of(r) is not None for r in table)


def test_a_product_row_opens_its_sed_and_its_provenance(client, jobs, bg):
    search = products_table(client, jobs)
    session = Session()
    products = ProductState(client, bg, session=session)
    panel = ProductPanel(products)
    sed = SEDState(client=client, background=bg, session=session)
    session.results = search.results
    sed_row = next(i for i, r in enumerate(search.results) if r["dataproduct_type"] == "sed"
                   and str(r["obs_id"]).startswith(jobs["spectrum"].rsplit("/", 1)[-1]))
    session.selection = [sed_row]
    assert products.current is not None and products.current.dataproduct_type == "sed"
    assert panel.bar.layout.display is None and "SED of Crab" in panel.bar._text.value
    assert bg.wait_until(lambda: products.links is not None, timeout=120), products.message
    assert products.links.file_url and products.links.model_url and products.links.provenance_url
    graph = products.provenance
    assert graph is not None and any("23523" in n.label + str(n.attributes) for n in graph.nodes.values())
    assert "<svg" in panel._graph.value and "PROV-JSON" in panel._graph.value
    assert panel._sky.layout.display == "none" and panel._sed.layout.display is None
    assert products.open_sed()
    assert session.product is not None and session.product.view == "sed"
    key = f"product/{products.current.did}"
    assert bg.wait_until(lambda: sed.layer(f"{key}/points") is not None and sed.status != "working", timeout=300), \
        sed.message
    assert sed.layer(f"{key}/points").points.energy_axis.nbin == 2
    assert sed.layer(f"{key}/fit/model") is not None and "2 flux points and its fitted model" in sed.message
    # an SED product cannot go on the sky: a sentence, nothing published
    assert not products.show_on_sky() and "not a sky map" in products.message


def test_an_image_product_is_overlaid_on_the_sky(client, jobs, bg):
    search = products_table(client, jobs)
    session = Session()
    products = ProductState(client, bg, session=session)
    sky = SkyView(online=False, client=client)
    sky.attach(session)
    sky.overlay.state.background = bg
    session.results = search.results
    row = next(i for i, r in enumerate(search.results) if str(r["obs_id"]).endswith("/significance"))
    session.selection = [row]
    assert products.current.kind == "significance map"
    assert products.show_on_sky()  # asked before the links came: shown when they come
    overlay = sky.overlay.state
    assert bg.wait_until(lambda: overlay.image is not None, timeout=120), (products.message, overlay.message)
    assert overlay.choices[0].origin == "product" and overlay.chosen == products.links.file_url
    assert sky.aladin._portal_image_fits[:6] == b"SIMPLE" and sky.aladin._portal_image["colormap"] == "viridis"
    assert overlay.image.shape == (20, 20) and overlay.image.min_cut < overlay.image.max_cut
    assert abs(overlay.image.center[0] - CRAB[0]) < 0.1 and abs(overlay.image.center[1] - CRAB[1]) < 0.1
    assert sky.overlay._style.layout.display is None
    sky.overlay._colormap.value = "inferno"
    sky.overlay._opacity.value = 0.35
    assert sky.aladin._portal_image["colormap"] == "inferno" and sky.aladin._portal_image["opacity"] == 0.35
    sky.overlay._remove.click()
    assert overlay.image is None and sky.aladin._portal_image_fits == b"" and sky.aladin._portal_image == {}
    sky.aladin._image_events(False, "WebGL is not available")  # what the page says when it cannot draw
    assert overlay.status == "idle"  # nothing drawn: nothing to complain about


def test_a_followed_skymap_job_offers_its_maps(client, jobs, bg):
    session = Session()
    sky = SkyView(online=False, client=client)
    sky.attach(session)
    overlay = sky.overlay.state
    overlay.background = bg
    assert sky.overlay.layout.display == "none"  # nothing to offer
    session.active_job = handle(client, jobs["skymap"])
    labels = [c.label for c in overlay.choices]
    assert labels[0].startswith("Significance map of skymap job") and any("Excess" in x for x in labels)
    assert sky.overlay.layout.display is None and sky.overlay._choice.value == overlay.choices[0].url
    excess = next(c for c in overlay.choices if c.label.startswith("Excess"))
    sky.overlay._choice.value = excess.url
    assert sky.show_map(wait=True) is not None and overlay.image.label == excess.label
    assert "pixels, colour scale" in overlay.message
    session.active_job = handle(client, jobs["spectrum"])  # a spectrum job has no map: the choices go
    assert overlay.choices == [] and overlay.image is not None  # what is drawn stays until removed


def test_failures_are_sentences(client, jobs, bg):
    session = Session()
    products = ProductState(client, bg, session=session)
    missing = Product("ivo://gamma-portal/archive?portal-products/nope/flux_points", "sed",
                      f"{client.url}/datalink/products?ID=ivo%3A%2F%2Fgamma-portal%2Farchive%3Fportal-products%2Fnope")
    products.choose(missing)
    assert bg.wait_until(lambda: products.status == "error", timeout=60)
    assert "could not be read" in products.message and "Traceback" not in products.message
    assert not products.open_sed()
    with pytest.raises(MapError, match="not a FITS file"):
        prepare(b"hello", "a text")
    sky = SkyView(online=False, client=client)
    overlay = sky.overlay.state
    overlay.choices = [ImageSource("the log", jobs["skymap"] + "/results/log", "job")]
    assert overlay.show(wait=True) is None
    assert overlay.status == "error" and "not a FITS file" in overlay.message
    assert overlay.show("http://elsewhere.invalid/map.fits") is None and "no sky map to show" in overlay.message
    assert set(COLORMAPS) >= {"viridis", "grayscale"}
