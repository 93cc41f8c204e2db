"""The dashboard opens in headless chromium with no error on the page."""

import pytest

from tests.support.browser import open_tab, watched_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_dashboard_renders_without_error(voila_server, browser):
    page = watched_page(browser)
    page.goto(voila_server.at("/voila/render/portal.ipynb"), timeout=120_000)
    page.wait_for_selector(".portal-tabs", timeout=120_000)
    open_tab(page, "Services")  # the status table is in its own tab
    page.wait_for_selector("table.portal-status", timeout=120_000)
    text = page.inner_text("body")
    assert "Gamma-ray archive portal" in text
    assert "available" in page.inner_text("table.portal-status")
    assert "Traceback" not in text and "Error" not in text
    assert page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    assert page.errors == []
    page.close()
