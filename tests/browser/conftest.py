"""Fixtures of the browser tests: the session's portal server once its archive is filled."""

import pytest

from tests.widgets.archive import wait_for_archive


@pytest.fixture(scope="session")
def archive_server(portal_server):
    wait_for_archive(portal_server.url)
    return portal_server
