"""Voila's front door: `/` and `/voila/tree` land on the list of dashboards (notebooks/index.ipynb) and a
sub-folder's tree is a plain list, all with nothing fetched from outside the machine (Voila's own tree page
linked Font Awesome from a CDN) and no error in the console (it logged 7 "The model for kernel id does not
exist" from JupyterLab plugins on a page without a kernel)."""

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
        page.goto(voila_server.url + path, timeout=120_000)
        page.wait_for_url(voila_server.url + INDEX, timeout=120_000)
        page.wait_for_selector("#rendered_cells a[href='portal.ipynb']", state="visible", timeout=120_000)
        assert "Gamma-ray archive portal: dashboards" in page.inner_text("body")
        page.wait_for_load_state("networkidle", timeout=120_000)
        assert_clean(page)
    finally:
        page.close()


def test_a_folder_without_an_index_is_a_plain_offline_list(voila_server, browser):
    page = watched_page(browser, 1280, 800)
    try:
        page.goto(voila_server.url + "/voila/tree/tutorials", timeout=120_000)
        page.wait_for_load_state("networkidle", timeout=60_000)
        links = page.eval_on_selector_all("main li a", "links => links.map(a => a.getAttribute('href'))")
        assert "/voila/render/tutorials/01-search-the-archive.ipynb" in links
        assert "/voila/tree" in links  # the parent folder
        assert page.url == voila_server.url + "/voila/tree/tutorials"  # no index.ipynb: no redirect
        assert page.locator("script").count() == 0
        assert_clean(page)
    finally:
        page.close()
