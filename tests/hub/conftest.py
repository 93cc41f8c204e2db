"""The hub of the JupyterHub tests: one per module (it starts in about a minute)."""

import pytest

from tests.hub.hub import start_hub
from tests.widgets.archive import wait_for_archive


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    hub = start_hub(tmp_path_factory.mktemp("hub"))
    try:
        wait_for_archive(hub.service_url)  # the service ingests H.E.S.S. DR1 on its first start
        yield hub
    finally:
        hub.stop()
