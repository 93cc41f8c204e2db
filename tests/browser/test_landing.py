"""Voila's front door: `/` and `/voila/tree` (with the token) land on the list of dashboards
(notebooks/index.ipynb) with nothing fetched from outside the machine (Voila's own tree page linked Font Awesome
from a CDN) and no error in the console (it logged 7 "The model for kernel id does not exist" from JupyterLab
plugins on a page without a kernel); a sub-folder (the tutorials) is not served."""

from __future__ import annotations

import pytest

from tests.support.browser import is_external, watched_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

INDEX = "/voila/render/index.ipynb"


def assert_clean(page) -> None:
    assert [u for u in page.requests if is_external(u)] == []
    assert page.errors == [] and page.console_errors == []


@pytest.mark.parametrize("path", ["/", "/voila/tree", "/voila/tree/"])
def test_the_front_door_lands_on_the_list_of_dashboards(voila_server, browser, path):
    page = watched_page(browser, 1280, 800)
    try:
        page.goto(voila_server.at(path), timeout=120_000)
        page.wait_for_url(voila_server.at(INDEX), timeout=120_000)  # the token kept
        page.wait_for_selector("#rendered_cells a[href='portal.ipynb']", state="visible", timeout=120_000)
        assert "Gamma-ray archive portal: dashboards" in page.inner_text("body")
        page.wait_for_load_state("networkidle", timeout=120_000)
        assert_clean(page)
    finally:
        page.close()


def test_a_sub_folder_is_not_served(voila_server, browser):
    """The tutorials are JupyterLab's: with the token, their folder is a 404 page with nothing from outside
    (tests/reliability/test_voila_access.py tries every way in)."""
    page = watched_page(browser, 1280, 800)
    try:
        response = page.goto(voila_server.at("/voila/tree/tutorials"), timeout=120_000)
        assert response.status == 404
        page.wait_for_load_state("networkidle", timeout=60_000)
        assert "tutorial" not in page.inner_text("body").lower()
        assert [u for u in page.requests if is_external(u)] == [] and page.errors == []
    finally:
        page.close()
