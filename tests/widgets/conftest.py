"""Fixtures of the widget tests."""

from __future__ import annotations

import pytest

from widgets.client import PortalClient


@pytest.fixture(scope="module")
def client(archive_server, portal_token):
    """The widgets' client on the session's portal serve, with alice's token."""
    c = PortalClient(archive_server.url, portal_token)
    yield c
    c.close()
