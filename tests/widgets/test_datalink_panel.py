"""The DataLink panel without a browser, against the real `portal serve` (H.E.S.S. DR1): the files of the
selected observations with their kinds and sizes, download links, previews on demand, the other rows, error
rows as sentences, a bigger selection cut to the first few, and a service that is down or silent."""

from __future__ import annotations

from html.parser import HTMLParser

import ipywidgets as w
import pytest
from astropy.table import Table

from tests.support.servers import free_port
from tests.widgets.silent_server import SilentServer
from widgets.app import FILES, SKY, Portal
from widgets.client import PortalClient
from widgets.datalink.links import LinkRow, human_size, sentence
from widgets.datalink.state import LIMIT, NOTHING
from widgets.datalink.view import DataLinkPanel, errors_html, files_table, others_table
from widgets.session import Session

pytestmark = [pytest.mark.requires_data, pytest.mark.timeout(600)]

IRFS = {"effective area (aeff)", "energy dispersion (edisp)", "PSF (psf)", "background (bkg)"}


class Anchors(HTMLParser):
    """The <a> elements of some HTML, with their attributes (as a browser reads them: entities decoded)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.found: list[dict] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.found.append(dict(attrs))


def html_of(widget) -> str:
    """Every HTML widget's value inside ``widget``, in order."""
    if isinstance(widget, w.HTML):
        return widget.value
    return "".join(html_of(c) for c in getattr(widget, "children", ()))


def widgets_of(widget, kind) -> list:
    found = [widget] if isinstance(widget, kind) else []
    for child in getattr(widget, "children", ()):
        found += widgets_of(child, kind)
    return found


@pytest.fixture(scope="module")
def crab(client) -> Table:
    """The Crab observations of the archive, as the archive search returns them (SELECT *)."""
    table = client.tap_service().run_sync(
        "SELECT * FROM ivoa.obscore WHERE target_name = 'Crab' ORDER BY obs_id", maxrec=100).to_table()
    assert len(table) == 4
    return table


@pytest.fixture(scope="module")
def many(client) -> Table:
    """More observations than the panel shows at once."""
    table = client.tap_service().run_sync(
        f"SELECT TOP {LIMIT + 2} * FROM ivoa.obscore ORDER BY obs_id", maxrec=100).to_table()
    assert len(table) == LIMIT + 2
    return table


@pytest.fixture
def panel(client):
    panel = DataLinkPanel(client=client)
    yield panel
    panel.close()


def test_the_files_of_an_observation_with_kinds_sizes_and_download_links(panel, client):
    panel.show(23523)  # an obs_id: looked up in ivoa.obscore, then its access_url asked
    assert panel.wait(120), panel.message
    assert panel.state.status == "ok", panel.message
    [group] = panel.groups
    assert group.label == "hess-dl3-dr1 23523 (Crab)" and not group.problem
    files = group.of("file")
    kinds = [f.kind for f in files]
    assert kinds[:3] == ["DL3 file (all HDUs)", "events", "GTI"]  # the whole file first, then events, GTI, IRFs
    assert IRFS <= set(kinds)
    assert all(f.content_length and f.size.endswith(("KiB", "MiB")) for f in files)
    assert panel.message.startswith("1 observation: 7 files, 1 preview, 1 service")
    aeff = next(f for f in files if f.local_semantics == "aeff")
    assert len(client.get(aeff.access_url).content) == aeff.content_length  # the size is the file's
    # the table shows each kind, its size and a download link on the access_url
    text = html_of(panel)
    for f in files:
        assert f.kind in text and f.size in text
    downloads = [a for a in Anchors(text).found if "portal-datalink-download" in a.get("class", "")]
    assert [a["href"] for a in downloads] == [f.access_url for f in files]
    assert all("download" in a and a["target"] == "_blank" for a in downloads)
    # the service descriptor is another row, with where to send which parameters
    [service] = group.of("service")
    assert service.service.access_url.endswith("/uws/spectrum")
    assert ("obs_ids", "hess-dl3-dr1/23523") in service.service.params
    assert "obs_ids=hess-dl3-dr1/23523" in text and "needs your token" in text


def test_any_form_of_the_observation_gives_the_same_links(panel, crab, client):
    row = crab[0]
    expected = None
    for asked in (row["obs_id"], f"{row['obs_collection']}/{row['obs_id']}", row["obs_publisher_did"],
                  row["access_url"], crab[0:1], row):
        panel.show(asked)
        assert panel.wait(120), panel.message
        urls = [r.access_url for r in panel.rows]
        expected = expected or urls
        assert urls == expected and len(urls) == 9, (asked, panel.message)


def test_the_panel_follows_the_sessions_selection_and_shows_the_first_few(panel, crab, many):
    session = Session()
    session.results = crab
    link = panel.follow(session)
    try:
        assert panel.state.status == "idle" and panel.message == NOTHING and panel.rows == []
        session.selection = [2, 0]
        assert panel.wait(120), panel.message
        labels = [g.label for g in panel.groups]
        assert labels == [f"hess-dl3-dr1 {crab['obs_id'][i]} (Crab)" for i in (0, 2)]
        assert panel.message.startswith("2 observations: 14 files")
        session.results = many  # a new search
        assert panel.groups == [] and panel.message == NOTHING
        session.selection = list(range(LIMIT + 2))
        assert panel.wait(120), panel.message
        assert len(panel.groups) == LIMIT
        assert panel.state.total == LIMIT + 2
        assert f"Showing the first {LIMIT} of {LIMIT + 2} selected observations" in panel.message
        assert f"the first {LIMIT} of {LIMIT + 2}" in html_of(panel)
        session.selection = []
        assert panel.groups == [] and panel.message == NOTHING
    finally:
        link.unlink()
    session.selection = [1]
    assert panel.groups == [] and not panel.state.loading  # unlinked: no longer follows


def test_only_the_latest_selection_is_shown(panel, crab):
    session = Session()
    session.results = crab
    panel.follow(session)
    for i in range(4):  # clicks faster than the answers
        session.selection = [i]
    assert panel.wait(120)
    assert [g.label for g in panel.groups] == [f"hess-dl3-dr1 {crab['obs_id'][3]} (Crab)"]


def test_a_preview_is_fetched_only_when_asked_and_shown_in_the_panel(panel, client):
    panel.show(23523)
    assert panel.wait(120)
    [preview_row] = panel.groups[0].of("preview")
    assert preview_row.kind == "counts map" and preview_row.access_url.split("?")[0].endswith("/data/preview")
    assert panel.state.previews == {}  # nothing drawn until asked
    [row_widget] = panel._previews
    assert widgets_of(panel, w.Image) == []
    asked = client.requests
    row_widget.button.click()
    assert panel.wait(180), panel.state.previews
    assert client.requests == asked + 1
    [image] = widgets_of(panel, w.Image)
    assert image.value[:8] == b"\x89PNG\r\n\x1a\n" and image.format == "png"
    assert row_widget.button.description == "Hide preview"
    row_widget.button.click()
    assert widgets_of(panel, w.Image) == [] and row_widget.button.description == "Preview"
    row_widget.button.click()  # open again: the image fetched once is shown at once
    assert client.requests == asked + 1 and len(widgets_of(panel, w.Image)) == 1


def test_an_error_row_is_shown_as_its_sentence_not_as_a_file(panel, crab):
    panel.show([crab["obs_publisher_did"][0], "ivo://gamma-portal/archive?hess-dl3-dr1/999999"])
    assert panel.wait(120), panel.message
    good, bad = panel.groups
    assert len(good.of("file")) == 7 and good.of("error") == []
    [error] = bad.rows
    assert error.category == "error" and bad.of("file") == []
    assert error.error_message.startswith("NotFoundFault: ")
    assert error.message == "No observation with ID 'ivo://gamma-portal/archive?hess-dl3-dr1/999999' in this archive."
    box = panel._body.children[1]
    text = html_of(box)
    assert "portal-datalink-error" in text and "No observation with ID" in text and "NotFoundFault" not in text
    assert "portal-datalink-files" not in text and Anchors(text).found[0]["class"] == "portal-datalink-document"
    assert panel.message.endswith("1 error.")


def test_no_such_obs_id_and_a_document_refused_are_sentences(panel, client):
    panel.show(99999999)
    assert panel.wait(120)
    assert panel.state.status == "error"
    assert panel.message == f"No observation 99999999 in the archive at {client.tap_url}."
    panel.show(client.url + "/datalink")  # no ID: the service's UsageFault document
    assert panel.wait(120)
    assert panel.message == "The ID parameter is required (an obs_publisher_did from ivoa.obscore)."


def test_a_service_that_is_down_is_a_sentence(crab):
    down = PortalClient(f"http://127.0.0.1:{free_port()}")  # nothing listens there: `portal serve` is not running
    panel = DataLinkPanel(client=down)
    try:
        panel.show([down.url + "/datalink?ID=a", down.url + "/datalink?ID=b", down.url + "/datalink?ID=c"])
        assert panel.wait(60)
        assert panel.state.status == "error" and panel.groups == []
        assert panel.message.startswith(f"The service at {down.url} cannot be reached")
        assert "Is `portal serve` running" in panel.message and "Traceback" not in html_of(panel)
        assert down.requests == 1  # not asked again for each observation
        panel.show(23523)  # the archive look-up over TAP fails the same way
        assert panel.wait(60)
        assert panel.message.startswith(f"The archive at {down.url}/tap cannot be reached (connection failed)")
    finally:
        panel.close()
        down.close()


def test_a_service_that_does_not_answer_is_a_sentence():
    with SilentServer(hold=60) as silent:
        base = silent.url.split("/cgi-bin")[0]
        slow = PortalClient(base, timeout=1.0)
        panel = DataLinkPanel(client=slow)
        try:
            panel.show(base + "/datalink?ID=x")
            assert panel.wait(60)
            assert panel.state.status == "error"
            assert panel.message == f"The service at {base} did not answer in time; try again in a moment."
        finally:
            panel.close()
            slow.close()


def test_what_a_service_sends_is_escaped_and_only_http_urls_are_links():
    hostile = LinkRow("x", access_url="javascript:alert(1)", description="<img src=x onerror=alert(1)>",
                      semantics="#this", content_length=10, local_semantics="<b>")
    quoted = LinkRow("x", access_url="http://h/data?ID=a&HDU=\"psf\"'><script>", semantics="#progenitor",
                     description="parent")
    text = files_table([hostile]) + others_table([quoted]) + errors_html([LinkRow("x", error_message="<i>no</i>")])
    assert "<img" not in text and "<b>" not in text and "<i>" not in text and "<script>" not in text
    anchors = Anchors(text).found
    assert [a["href"] for a in anchors] == [quoted.access_url]  # decoded by the browser to the service's URL
    assert "javascript:alert(1)" in text  # shown as text, not a link


def test_sizes_and_sentences_for_people():
    assert [human_size(n) for n in (None, 1, 900, 8640, 522418, 3 << 30)] == [
        "", "1 byte", "900 bytes", "8.4 KiB", "510 KiB", "3.0 GiB"]
    assert sentence("FatalFault: psf.fits cannot be read (truncated)") == "psf.fits cannot be read (truncated)."
    assert sentence("NotFoundFault: no such file") == "No such file."
    assert sentence("") == "The service gave an error without a message."


def test_in_the_portal_the_files_are_a_third_view_fetched_while_shown(client, crab):
    portal = Portal(client=client, online=False)
    try:
        assert portal.views.titles == ("Sky", "SED", "Files", "Product")
        slot = portal.views.children[FILES]
        assert slot.children == () and portal.files.state.client is client
        portal.search.state.results = crab
        portal.search.state.selection = [0]
        assert portal.session.selection == [0]
        assert portal.files.state.groups == [] and not portal.files.state.loading  # not while the sky is shown
        portal.show("files")
        assert slot.children == (portal.files,)
        assert portal.files.wait(120), portal.files.message
        assert [g.label for g in portal.files.groups] == [f"hess-dl3-dr1 {crab['obs_id'][0]} (Crab)"]
        portal.show("sky")
        assert portal.views.selected_index == SKY
        portal.search.state.selection = [1]
        assert not portal.files.state.loading  # remembered, fetched when the tab opens again
        portal.show("files")
        assert portal.files.wait(120)
        assert [g.label for g in portal.files.groups] == [f"hess-dl3-dr1 {crab['obs_id'][1]} (Crab)"]
    finally:
        portal.close()


def test_in_a_script_the_answers_wait_for_the_links(client):
    """Outside a kernel (the helper runs its own loop, as a script's does), ``message`` and ``rows`` answer what
    a notebook's next cell would show, without calling ``wait()``."""
    from widgets.background import Background

    bg = Background(autorun=True)
    panel = DataLinkPanel(client=client, background=bg)
    try:
        panel.show(23523)
        assert panel.message.startswith("1 observation: 7 files")
        assert len([r for r in panel.rows if r.category == "file"]) == 7
    finally:
        panel.close()
        bg.loop.call_soon_threadsafe(bg.loop.stop)
        bg.pool.shutdown(wait=False)
