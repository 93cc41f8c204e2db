"""JobLauncher without a browser: forms from real definitions, pre-fill, validation, submission."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table

from portal.catalogs.extent import SourceSize
from widgets.background import Background
from widgets.client import PortalClient
from widgets.jobs.form import LauncherState
from widgets.jobs.launcher import JobLauncher
from tests.support.servers import free_port


@pytest.fixture(scope="module")
def client(portal_server, portal_token):
    c = PortalClient(portal_server.url, portal_token)
    yield c
    c.close()


def selected_rows() -> Table:
    return Table({"obs_id": ["23523", "23526", "23559", "23592"], "target_name": ["Crab"] * 4,
                  "livetime": np.array([1581.7, 1572.0, 1599.0, 1580.0]), "s_ra": [83.63, 83.63, 85.25, 82.01]})


def test_forms_come_from_the_definitions_alone(client):
    launcher = JobLauncher(client=client, background=False)
    names = [d.name for d in launcher.state.definitions]
    assert {"spectrum", "lightcurve", "skymap", "count", "echo"} <= set(names)  # count/echo: registered extras
    for name in names:
        launcher.definition = name
        definition = launcher.state.current()
        assert set(launcher._inputs) == {p.name for p in definition.parameters}
    launcher.definition = "spectrum"
    assert launcher._kind.value == "spectrum"
    assert launcher.values["model"] == "pl" and launcher.values["n_bins"] == 8  # defaults, typed
    assert "obs_ids" in launcher.state.problems  # required and empty
    launcher.definition = "count"
    assert launcher._inputs["fail"].options == ("none", "usage", "fatal", "transient", "crash", "exit", "linger")
    with pytest.raises(Exception, match="no job definition 'nope'"):
        launcher.definition = "nope"


def test_prefill_from_the_selection_and_the_target(client):
    launcher = JobLauncher(definition="spectrum", client=client, background=False)
    s = launcher.state
    session = s.session  # what the launcher pre-fills from: its session's selected rows and target
    session.results = selected_rows()
    session.selection = list(range(len(session.results)))
    session.set_target(SkyCoord(83.63308, 22.0145, unit="deg"), 0.5, "Crab")
    assert launcher.values["obs_ids"] == [23523, 23526, 23559, 23592]
    assert launcher.values["ra"] == pytest.approx(83.63308) and launcher.values["dec"] == pytest.approx(22.0145)
    assert launcher.values["on_radius"] == pytest.approx(0.11)  # no size: the definition's default
    assert s.summary == ("spectrum on 4 observations of Crab, 1.8 h live time; on_radius 0.11 deg, the default "
                         "for a point-like source (Crab: no catalog size)")
    session.set_target(s.target, 0.5, "Crab", size=SourceSize(2.0, "disk", "x", "X", "big", "r", None))
    assert launcher.values["on_radius"] == pytest.approx(1.0)  # 2.11 deg wanted, kept within the bounds
    assert "more than the job allows" in s.notes["on_radius"]
    assert launcher._inputs["obs_ids"].value == "23523,23526,23559,23592"
    assert not s.problems
    launcher._inputs["ra"].value = "84"  # typed by the user: pre-fill must not undo it
    session.set_target(SkyCoord(10, 10, unit="deg"), 0.5, "elsewhere")
    assert launcher.values["ra"] == 84 and launcher.values["dec"] == pytest.approx(10)
    launcher.definition = "skymap"  # another kind: same rules, no code of its own
    assert launcher.values["obs_ids"] == [23523, 23526, 23559, 23592] and launcher.values["ra"] == 84
    session.selection = [0]
    assert s.summary == "skymap on 1 observation of elsewhere, 0.4 h live time"
    s.reset()
    assert launcher.values["ra"] == pytest.approx(10)


def test_validation_says_what_the_service_says(client):
    launcher = JobLauncher(definition="spectrum", client=client, background=False)
    launcher.values = {"obs_ids": "23523, x", "ra": "400", "dec": "22", "n_bins": "2.5"}
    problems = launcher.state.problems
    assert problems["ra"] == "parameter ra: '400' is above the maximum 360 deg"
    assert problems["obs_ids"] == "parameter obs_ids: 'x' is not an integer"
    assert problems["n_bins"] == "parameter n_bins: '2.5' is not an integer"
    assert launcher.submit() is None and launcher.state.status == "error"
    for name, text in (("ra", "400"), ("obs_ids", "23523, x")):  # the service refuses with the same words
        response = client.post("/uws/spectrum", data={"obs_ids": "23523", "ra": "83", "dec": "22", name: text},
                               ok=(400,))
        assert response.text.strip() == problems[name]
    assert launcher._inputs["ra"].value == "400"  # nothing typed is lost
    assert "above the maximum" in launcher._problem_labels["ra"].value


def test_submit_creates_one_job_however_often_it_is_clicked(client):
    bg = Background()
    launcher = JobLauncher(client=client, background=True, state=LauncherState(client, "echo", background=bg))
    assert bg.wait_until(lambda: launcher.state.definitions, timeout=30)
    launcher.definition = "echo"
    launcher.values = {"text": "double click"}
    before = len(client.uws.list_jobs("echo")[0])
    got = []
    launcher.on_submit(got.append)
    launcher._submit.click()
    launcher._submit.click()  # the second click of a double click
    assert bg.wait_until(lambda: launcher.state.status == "submitted", timeout=60), launcher.state.message
    launcher._submit.click()  # still the same form a moment later
    bg.idle()
    assert len(got) == 1 and len(client.uws.list_jobs("echo")[0]) == before + 1
    job = got[0]
    assert job.url.startswith(client.url) and job.job_id in job.url and job.phase in ("QUEUED", "EXECUTING", "COMPLETED")
    assert job.wait(timeout=120) == "COMPLETED" and "echo" in job.results
    # the launcher's line follows its job to the end (it said QUEUED long after the job completed)
    assert bg.wait_until(lambda: launcher.state.message.endswith("COMPLETED."), timeout=60), launcher.state.message
    assert job.job_id in launcher.state.message
    direct = launcher.submit()  # a deliberate submit later, from code, after the window: a new job
    assert direct is not None


def test_errors_are_sentences_and_keep_the_form(portal_server):
    bad = JobLauncher(definition="echo", client=PortalClient(portal_server.url, token="wrong"), background=False)
    assert bad.state.status == "error" and "refused the token" in bad.state.message
    down = JobLauncher(client=PortalClient(f"http://127.0.0.1:{free_port()}", token="x"), background=False)
    assert "cannot be reached" in down.state.message
    assert "Traceback" not in down._status.value


def test_labels_and_choice_names_come_from_the_definition(client):
    launcher = JobLauncher(definition="spectrum", client=client, background=False)
    definition = launcher.state.current()
    assert definition.parameter("aeff_percent").label == "Effective-area threshold"  # carried by GET /uws
    rows = dict(zip((p.name for p in definition.parameters), launcher._fields.children))
    label = rows["aeff_percent"].children[0].value
    assert "Effective-area threshold (%)</div>" in label and ">aeff_percent" not in label
    assert "title='aeff_percent: For aeff-max" in label  # the name, for UWS and ADQL users, in the tooltip
    assert "Right ascension (deg) *</div>" in rows["ra"].children[0].value  # required
    model = launcher._inputs["model"]
    assert model.options == (("power law", "pl"), ("power law with exponential cut-off", "ecpl"),
                             ("log-parabola", "lp"))
    assert model.label == "power law" and launcher.values["model"] == "pl"
    model.label = "log-parabola"  # picked by its name in the list: the short code is sent
    assert launcher.state.texts["model"] == "lp" and launcher.values["model"] == "lp"
    assert dict(launcher.state._request()[1])["model"] == "lp"
    launcher.fill("spectrum", {"model": "ecpl"})  # a job's own parameters shown again: by the name
    assert model.label == "power law with exponential cut-off"
    launcher.definition = "count"  # a definition without labels: names, and choices as they are
    fail = launcher._inputs["fail"]
    assert fail.options[0] == "none" and ">n</div>" in launcher._fields.children[0].children[0].value


def test_the_form_scrolls_and_keeps_submit_in_view(client):
    """The layout the browser test measures, as set on the widgets: rows never shrink, the body scrolls, the
    footer with Submit never shrinks."""
    launcher = JobLauncher(definition="spectrum", client=client, background=False)
    assert launcher.children == (launcher.body, launcher.footer)
    assert launcher._submit in launcher.footer.children[1].children and launcher._status in launcher.footer.children
    assert launcher.body.layout.overflow == "hidden auto" and launcher.body.layout.min_height == "0"
    assert launcher.footer.layout.flex == "0 0 auto"
    assert all(row.layout.flex == "0 0 auto" for row in launcher._fields.children)
    assert all(child.layout.flex == "0 0 auto" for child in launcher.body.children)
