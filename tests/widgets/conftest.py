"""Fixtures of the widget tests: the session's portal server once its archive is filled."""

import pytest

from tests.widgets.archive import wait_for_archive


@pytest.fixture(scope="session")
def archive_server(portal_server):
    """`portal serve` with H.E.S.S. DR1 ingested (the default dataset, from $GAMMAPY_DATA)."""
    wait_for_archive(portal_server.url)
    return portal_server
