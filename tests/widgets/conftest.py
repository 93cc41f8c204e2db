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


@pytest.fixture(autouse=True)
def no_silent_background_failures(caplog):
    """A callback or a follower thread that raises inside Background is logged there and the widget goes on;
    in a test it is a failure, not a log line."""
    import logging

    from widgets.background import FAILED

    caplog.set_level(logging.ERROR, logger="widgets.background")
    yield
    failed = [r for r in caplog.get_records("call") + caplog.get_records("teardown")
              if r.name == "widgets.background" and r.getMessage().startswith(FAILED)]
    assert not failed, "failed inside Background: " + "; ".join(
        f"{r.getMessage()}: {r.exc_info[1]!r}" if r.exc_info else r.getMessage() for r in failed)
