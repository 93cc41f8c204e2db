"""Shared fixtures: a running portal, Voila, a headless browser; the `requires_data` marker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM_ARGS, chromium_path
from tests.support.servers import REPO, start_portal, start_voila
from widgets.background import Background

# In the tests the widgets' effects happen when a test pumps (bg.wait_until, bg.idle), in its own thread; a
# script's loop thread of its own is tested on its own (tests/widgets/test_script.py).
Background.autorun = False


def gammapy_data() -> Path | None:
    value = os.environ.get("GAMMAPY_DATA")
    return Path(value) if value and Path(value).is_dir() else None


def pytest_collection_modifyitems(config, items):
    if gammapy_data() is not None:
        return
    skip = pytest.mark.skip(reason="needs $GAMMAPY_DATA (see the README)")
    for item in items:
        if "requires_data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def portal_server(tmp_path_factory):
    """`portal serve` as a subprocess, with its own data dir, shared by the session. Besides the
    analyses it offers the job service's test jobs (``count``, ``echo`` of tests.uws.jobs)."""
    server = start_portal(tmp_path_factory.mktemp("portal-data"),
                          env={"PORTAL_JOB_DEFINITIONS": "tests.uws.jobs:DEFINITIONS"})
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def archive_server(portal_server):
    """`portal serve` with H.E.S.S. DR1 ingested (the default dataset, from $GAMMAPY_DATA), for the widget,
    notebook and browser tests."""
    from tests.widgets.archive import wait_for_archive

    if gammapy_data() is None:  # without DR1 the wait below could only time out
        pytest.skip("needs $GAMMAPY_DATA (H.E.S.S. DR1 in the archive)")
    wait_for_archive(portal_server.url)
    return portal_server


@pytest.fixture(scope="session")
def portal_token(portal_server):
    """A bearer token of user ``alice`` on the session's portal server."""
    from tests.support.servers import create_token

    return create_token(portal_server.log.parent, "alice")


@pytest.fixture(scope="session")
def voila_server(portal_server, portal_token):
    """Voila on notebooks/, its kernels pointed at the session's portal server (as alice)."""
    env = {"PORTAL_URL": portal_server.url, "PORTAL_DATA_DIR": str(portal_server.log.parent),
           "PORTAL_TOKEN": portal_token,
           # the session's pages, module-scoped ones included, outnumber the default cap of 8 (the cap itself
           # is tested in tests/reliability/test_voila_access.py)
           "PORTAL_VOILA_MAX_KERNELS": "32"}
    server = start_voila(REPO / "notebooks", env)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    """Per module: Playwright's sync API keeps an event loop in the main thread while it is open,
    which would break every later test that calls asyncio.run()."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
