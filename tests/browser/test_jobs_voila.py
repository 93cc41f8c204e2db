"""The job half of the dashboard in Voila: select the Crab runs, launch a `spectrum` job from the launcher,
watch it reach COMPLETED in the monitor, and see its provenance graph drawn (offline)."""

import re
from datetime import datetime, timedelta, timezone

import pytest

from tests.browser.pixels import is_allowed_external
from tests.support.browser import is_external, open_tab, watched_page

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.requires_data]

ALLOWED_CONSOLE = ("AladinLiteLogger", "net::ERR_", "Failed to load resource", "MocServer")


def console_errors(page) -> list[str]:
    """Console errors, less the known harmless ones of Aladin Lite asking CDS while offline."""
    return [m for m in page.console_errors if not any(a in m for a in ALLOWED_CONSOLE)]


@pytest.fixture(scope="module")
def page(voila_server, archive_server, browser):
    page = watched_page(browser, 1440, 1400)
    page.goto(voila_server.at("/voila/render/portal.ipynb"), timeout=120_000)
    # the whole page drawn, the sky last (the launcher joins the page when its tab is opened)
    page.wait_for_selector(".portal-sky-view [data-portal-footprints]", state="attached", timeout=300_000)
    yield page
    page.close()


def _created(option: str, year: int) -> datetime:
    """The creation time a job list line starts with ("12-07 10:37:18", UTC)."""
    stamp = " ".join(option.replace("\xa0", " ").split()[:2])
    return datetime.strptime(f"{year}-{stamp}", "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)


def test_launch_a_spectrum_and_follow_it_to_its_provenance(page, tmp_path):
    page.fill(".portal-target-search input[type=text]", "Crab")
    page.keyboard.press("Enter")
    page.wait_for_selector(".portal-target-message:has-text('Crab')", timeout=60_000)
    page.click(".portal-search-run")
    page.wait_for_selector(".portal-results:has-text('4 rows')", timeout=60_000)
    grid = page.locator(".portal-results-grid").bounding_box()
    page.mouse.click(grid["x"] + 200, grid["y"] + 30)  # the first row ...
    page.keyboard.down("Shift")
    page.mouse.click(grid["x"] + 200, grid["y"] + 20 + 3 * 20 + 10)  # ... to the fourth
    page.keyboard.up("Shift")
    page.wait_for_selector(".portal-results:has-text('4 selected')", timeout=30_000)

    # the launcher (its own tab) is filled from the selection and the target
    open_tab(page, "Launch an analysis")
    page.wait_for_selector(".portal-launch-summary:has-text('spectrum on 4 observations')", timeout=30_000)
    obs_ids = page.input_value(".portal-param-obs_ids input")
    assert sorted(obs_ids.split(",")) == ["23523", "23526", "23559", "23592"]
    assert float(page.input_value(".portal-param-ra input")) == pytest.approx(83.633, abs=0.01)
    summary = page.inner_text(".portal-launch-summary")
    assert re.search(r"1\.\d h live time", summary), summary

    clicked = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=2)
    page.dblclick(".portal-launch-submit")  # a double click is one job
    page.wait_for_selector(".portal-launch-status:has-text('Submitted spectrum job')", state="attached", timeout=60_000)
    page.wait_for_selector(".portal-job-header:has-text('spectrum')", timeout=60_000)
    page.wait_for_selector(".portal-job-phase:has-text('COMPLETED')", timeout=900_000)
    listed = page.locator(".portal-job-list option").all_inner_texts()  # other tests' jobs may be there too
    made = [t for t in listed if _created(t, clicked.year) >= clicked]
    assert len(made) == 1 and "spectrum" in made[0], listed

    page.click(".portal-job-detail .p-TabBar-tab:has-text('Provenance'), "
               ".portal-job-detail .lm-TabBar-tab:has-text('Provenance')")
    graph = page.wait_for_selector("svg.portal-provenance-graph", timeout=60_000)
    assert page.locator("svg.portal-provenance-graph .prov-activity rect").count() == 1
    assert page.locator("svg.portal-provenance-graph .prov-agent polygon").count() == 2
    used = page.locator("svg.portal-provenance-graph line.prov-used").count()
    assert used >= 4  # the four runs' files at least
    titles = page.eval_on_selector_all("svg.portal-provenance-graph .prov-entity title",
                                       "nodes => nodes.map(n => n.textContent)")
    assert any("obs_id: 23523" in t and "sha256" in t for t in titles), titles[:5]
    assert graph.bounding_box()["width"] > 300
    page.screenshot(path=str(tmp_path / "jobs.png"), full_page=True)

    external = [u for u in page.requests if is_external(u) and not is_allowed_external(u)]
    assert external == [], f"fetched from outside the machine: {external}"
    assert page.errors == []
    assert console_errors(page) == []
